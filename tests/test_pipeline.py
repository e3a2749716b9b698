"""The judging path end to end on the scripted engine (a named fake that returns exact outputs):
voting, order control, budget forcing, invalid handling and bad input. The same path on real
tiny checkpoints is tested in test_engine_hf.py."""

from __future__ import annotations

import re

import pytest

from flexjudge import ConfigError, InputError, Judge, JudgeRequest
from flexjudge.engines import ChatRequest, ScriptedEngine
from flexjudge.judge.pipeline import JudgeConfig, orders_for


def shown_answers(req: ChatRequest) -> list[str]:
    """The responses in the order the prompt shows them."""
    user = req.messages[1].text()
    return re.findall(r"\[Assistant(?: \w+)?'s Answer\]\n(.*?)(?:\n\n|$)", user, re.S)


def prefer(word: str, high: int = 9, low: int = 2):
    """A scripted judge that gives ``high`` to responses containing ``word``: order-invariant."""

    def script(req: ChatRequest, k: int) -> str:
        scores = [high if word in a else low for a in shown_answers(req)]
        return "thinking</think>" + "".join(f"<answer>{s}</answer>" for s in scores)

    return script


def by_content(points: dict[str, int]):
    """A scripted judge scoring each shown response by its text: order-invariant, distinct."""

    def script(req: ChatRequest, k: int) -> str:
        return "r</think>" + "".join(f"<answer>{points[a]}</answer>" for a in shown_answers(req))

    return script


def first_wins(req: ChatRequest, k: int) -> str:
    """A position-biased judge: the first shown response always wins."""
    n = len(shown_answers(req))
    return "x</think>" + "".join(f"<answer>{9 - i}</answer>" for i in range(n))


def test_compare_with_swap_maps_orders_back():
    engine = ScriptedEngine(prefer("Paris"))
    v = Judge(engine=engine, votes=3, order="swap").compare("Capital of France?", "Lyon", "Paris")
    assert v.status == "ok" and v.winner == "B"
    assert v.scores == [2.0, 9.0]
    assert v.agreement == 1.0 and v.order_agreement is True
    assert v.n_votes == 6 and v.n_valid == 6
    assert {tuple(vote.order) for vote in v.votes} == {(0, 1), (1, 0)}
    # both orders went to the engine in one call, 3 votes each
    assert len(engine.calls) == 1 and engine.calls[0][1].n == 3


def test_swap_exposes_position_bias():
    v = Judge(engine=ScriptedEngine(first_wins), order="swap").compare("q", "a", "b")
    assert v.order_agreement is False
    # one vote for A, one for B: a split decided by mean scores, which are equal -> tie,
    # which no single vote said: agreement is 0
    assert v.winner == "tie" and v.agreement == 0.0


def test_split_without_ties_is_invalid_not_a_guess():
    v = Judge(engine=ScriptedEngine(first_wins), order="swap").compare("q", "a", "b", tie=False)
    assert v.status == "invalid" and v.winner is None
    assert "split" in (v.error or "")


def test_majority_vote_and_agreement():
    outs = ["r</think><answer>8</answer><answer>3</answer>"] * 2 + [
        "r</think><answer>2</answer><answer>7</answer>"
    ]
    v = Judge(engine=ScriptedEngine(outs), votes=3).compare("q", "a", "b")
    assert v.winner == "A" and v.agreement == pytest.approx(2 / 3)
    assert v.scores == pytest.approx([6.0, 13 / 3])


def test_invalid_votes_are_skipped_and_counted():
    outs = [
        "r</think><answer>8</answer><answer>3</answer>",
        "no closing tag",
        "r</think><answer>99</answer><answer>1</answer>",
    ]
    v = Judge(engine=ScriptedEngine(outs), votes=3).compare("q", "a", "b")
    assert v.status == "ok" and v.winner == "A"
    assert (v.n_votes, v.n_valid, v.agreement) == (3, 1, 1.0)
    assert [vote.reason for vote in v.votes] == [None, "no_think_close", "out_of_scale"]


def test_all_invalid_is_an_invalid_verdict_never_a_tie():
    v = Judge(engine=ScriptedEngine(["garbage", "r</think><answer>5</answer>"]), votes=2).compare(
        "q", "a", "b"
    )
    assert v.status == "invalid"
    assert v.winner is None and v.scores is None
    assert "no_think_close" in v.error and "answer_count" in v.error


def test_score_mean_and_median():
    outs = [
        "r</think><answer>2</answer>",
        "r</think><answer>4</answer>",
        "r</think><answer>9</answer>",
    ]
    assert Judge(engine=ScriptedEngine(outs), votes=3).score("q", "a").scores == [5.0]
    v = Judge(engine=ScriptedEngine(outs), votes=3, score_reduce="median").score("q", "a")
    assert v.scores == [4.0] and v.agreement == pytest.approx(1 / 3)


def test_decimal_scale_prompt_and_parse():
    engine = ScriptedEngine(["r</think><answer>3.8</answer>"])
    v = Judge(engine=engine).score("q", "a", scale="1.0-5.0")
    assert v.scores == [3.8]
    system = engine.calls[0][0][0].messages[0].text()
    assert (
        "Score assistants 1.0-5.0 in first decimal" in system and "<answer>3.8</answer>" in system
    )


def test_rank_with_swap_uses_mean_rank():
    engine = ScriptedEngine(by_content({"meh": 4, "best one": 9, "also meh": 3}))
    v = Judge(engine=engine, order="swap").rank("q", ["meh", "best one", "also meh"])
    assert v.ranking == ["B", "A", "C"] and v.order_agreement is True and v.agreement == 1.0
    orders = {tuple(vote.order) for vote in v.votes}
    assert orders == {(0, 1, 2), (2, 1, 0)}


def test_label_verdicts_flip_under_swap():
    def script(req, k):
        a, _b = re.findall(
            r"\[Assistant ([AB])'s Answer\]\n(.*?)(?:\n\n|$)", req.messages[1].text(), re.S
        )
        good_first = "good" in a[1]
        return "r</think><answer>" + ("[[A>B]]" if good_first else "[[B>A]]") + "</answer>"

    v = Judge(engine=ScriptedEngine(script), order="swap").label("q", "bad", "good")
    assert v.label == "[[B>A]]" and v.winner == "B" and v.order_agreement is True


def test_random_order_is_seeded_per_item():
    req = JudgeRequest.build(id="x", task="rank", instruction="q", responses=["a", "b", "c", "d"])
    cfg = JudgeConfig(order="random", seed=3)
    assert orders_for(req, cfg, 0) == orders_for(req, cfg, 5)  # the id, not the position, seeds it
    other = JudgeRequest.build(id="y", task="rank", instruction="q", responses=["a", "b", "c", "d"])
    orders = {
        tuple(orders_for(r, JudgeConfig(order="random", seed=s), 0)[0])
        for r in (req, other)
        for s in range(6)
    }
    assert len(orders) > 1
    points = {"a": 2, "b": 5, "c": 9, "d": 1}
    v = Judge(engine=ScriptedEngine(by_content(points)), order="random").rank("q", list(points))
    assert v.ranking == ["C", "B", "A", "D"] and v.scores == [2.0, 5.0, 9.0, 1.0]


def test_budget_forcing_continues_after_wait():
    def script(req: ChatRequest, k: int) -> str:
        if req.assistant_prefix.endswith("</think>"):  # continuing after the reasoning
            return "<answer>7</answer>"
        return f"thought {req.assistant_prefix.count('Wait')}</think><answer>7</answer>"

    engine = ScriptedEngine(script)
    v = Judge(engine=engine, budget_forcing=2).score("q", "a")
    assert v.status == "ok" and v.scores == [7.0]
    text = v.votes[0].text
    assert text.count("Wait") == 2 and text.count("</think>") == 1
    stops = [params.stop for _, params in engine.calls]
    assert stops == [("</think>",), ("</think>",), ("</think>",), ("</answer>",)]


def test_stop_after_expected_answer_count():
    engine = ScriptedEngine(["r</think><answer>8</answer><answer>3</answer> trailing talk"])
    v = Judge(engine=engine).compare("q", "a", "b")
    assert v.status == "ok"
    assert engine.calls[0][1].stop == ("</answer>",) and engine.calls[0][1].stop_count == 2


@pytest.mark.parametrize(
    "fields,needle",
    [
        (dict(task="pairwise", instruction="q", responses=["a"]), "takes 2 responses, got 1"),
        (dict(task="rank", instruction="q", responses=["a", "b"]), "takes 3 to 26 responses"),
        (dict(task="score", instruction="q", responses=["  "]), "response A is empty"),
        (dict(task="score", instruction="", responses=["a"]), "instruction is empty"),
        (dict(task="score", instruction="q", responses=["a"], scale="1 to 5"), "unknown scale"),
        (dict(task="judge", instruction="q", responses=["a"]), "unknown task"),
    ],
)
def test_bad_requests_name_the_item_and_cause(fields, needle):
    with pytest.raises(InputError, match=re.escape(needle)) as err:
        JudgeRequest.build(id="item-7", **fields)
    assert "item-7" in str(err.value)


def test_bad_config_is_rejected():
    with pytest.raises(ConfigError, match="budget_forcing"):
        JudgeConfig(budget_forcing=5)
    with pytest.raises(ConfigError, match="order"):
        JudgeConfig(order="sideways")  # type: ignore[arg-type]


def test_run_keeps_going_past_bad_items():
    judge = Judge(engine=ScriptedEngine(prefer("ok")))
    items = [
        {"id": "1", "task": "pairwise", "instruction": "q", "responses": ["ok", "no"]},
        {"id": "2", "task": "pairwise", "instruction": "q", "responses": ["only one"]},
        {"id": "3", "task": "pairwise", "instruction": "q", "responses": ["no", "ok"]},
        {"id": "4", "task": "score", "instruction": "q", "responses": ["ok"]},
    ]
    out = list(judge.run(items))
    assert [v.id for v in out] == ["1", "2", "3", "4"]
    assert [v.status for v in out] == ["ok", "error", "ok", "ok"]
    assert "takes 2 responses" in out[1].error
