"""Best-of-N selection on the scripted engine (a named fake returning exact judge outputs): the
score, rank and pairwise methods, random tie-breaks with a seed, candidates without a valid
verdict never chosen, prompts with no valid candidate reported, one pass per prompt, and
Judge.best_of. The same code on real tiny checkpoints: test_loop_cli.py."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from flexjudge import InputError, Judge
from flexjudge.engines import ChatRequest, ScriptedEngine
from flexjudge.loop import BestOfSettings, best_of_groups, group_candidates
from flexjudge.loop.best_of_n import VerdictMemo, choose
from flexjudge.loop.select import select


def shown(req: ChatRequest) -> list[str]:
    """The responses in the order the prompt shows them."""
    user = req.messages[1].text()
    return re.findall(r"\[Assistant(?: \w+)?'s Answer\]\n(.*?)(?:\n\n|$)", user, re.S)


def scores_by_text(points: dict[str, object]) -> Callable[[ChatRequest, int], str]:
    """A judge giving each shown response the points of its text; a value that is not an int
    is written as is (unparseable on purpose)."""

    def script(req: ChatRequest, k: int) -> str:
        return "r</think>" + "".join(f"<answer>{points[a]}</answer>" for a in shown(req))

    return script


def group(texts: list[str], pid: str = "p"):
    rows = [(None, {"prompt_id": pid, "prompt": "Q?", "response": t}) for t in texts]
    return group_candidates(rows)[0]


def run(engine, texts, method="score", seed=0, **config):
    judge = Judge(engine=engine, **config)
    memo = VerdictMemo(judge, method)
    g = group(texts)
    return choose(memo, g, range(len(g)), BestOfSettings(method, seed), random.Random(seed))


def test_score_picks_the_top_score():
    sel = run(ScriptedEngine(scores_by_text({"a": 3, "b": 9, "c": 5})), ["a", "b", "c"])
    assert (sel.status, sel.index, sel.candidate_id, sel.value, sel.tied) == (
        "selected",
        1,
        "p#1",
        9.0,
        1,
    )
    assert sel.values == [3.0, 9.0, 5.0] and sel.judgments == 3 == sel.valid_judgments


def test_invalid_candidates_are_never_selected_and_are_counted():
    # "b" would win, but its verdict does not parse (out of scale): "c" is chosen
    engine = ScriptedEngine(scores_by_text({"a": 3, "b": 99, "c": 5}))
    sel = run(engine, ["a", "b", "c"])
    assert sel.index == 2 and sel.values == [3.0, None, 5.0] and sel.n_valid == 2
    assert "out_of_scale" in (sel.reasons[1] or "")


def test_no_valid_candidate_is_reported_not_guessed():
    sel = run(ScriptedEngine(scores_by_text({"a": "x", "b": 0})), ["a", "b"])
    assert sel.status == "no_valid_candidate"
    assert sel.index is None and sel.candidate_id is None and sel.value is None
    assert sel.values == [None, None] and all(sel.reasons)


def test_ties_at_the_top_break_at_random_with_a_seed():
    texts = ["a", "b", "c", "d"]
    engine = ScriptedEngine(scores_by_text({"a": 8, "b": 2, "c": 8, "d": 8}))
    picks = {run(engine, texts, seed=s).index for s in range(40)}
    assert picks == {0, 2, 3}  # only the tied ones, each reachable
    first = run(engine, texts, seed=7)
    assert first.tied == 3 and first.index == run(engine, texts, seed=7).index
    # the official rule: rng.choice over the tied, in candidate order
    assert first.index == [0, 2, 3][random.Random(7).randrange(3)]


def test_a_single_candidate_is_scored():
    sel = run(ScriptedEngine(scores_by_text({"only": 4})), ["only"], method="pairwise")
    assert sel.index == 0 and sel.value == 4.0


def pairwise_table(beats: dict[tuple[str, str], str]) -> Callable[[ChatRequest, int], str]:
    """A pairwise judge: ``beats[(x, y)]`` is who wins when x is shown first ("tie" allowed)."""

    def script(req: ChatRequest, k: int) -> str:
        x, y = shown(req)
        w = beats[(x, y)]
        s = (5, 5) if w == "tie" else (8, 2) if w == x else (2, 8)
        return f"r</think><answer>{s[0]}</answer><answer>{s[1]}</answer>"

    return script


def test_pairwise_copeland_with_half_points_for_ties():
    beats = {
        ("a", "b"): "a", ("b", "a"): "a",  # a beats b in both orders
        ("a", "c"): "a", ("c", "a"): "c",  # a vs c split by position: a pair tie
        ("b", "c"): "tie", ("c", "b"): "c",  # c: 1.5 game points to 0.5: c wins the pair
    }  # fmt: skip
    engine = ScriptedEngine(pairwise_table(beats))
    sel = run(engine, ["a", "b", "c"], method="pairwise")
    # Copeland: a = 1 (b) + 0.5 (c); b = 0; c = 0.5 (a) + 1 (b)
    assert sel.values == [1.5, 0.0, 1.5] and sel.tied == 2 and sel.index in (0, 2)
    assert sel.judgments == 3
    # every pair was judged in both orders, all in one engine call
    assert len(engine.calls) == 1 and len(engine.calls[0][0]) == 6


def test_pairwise_candidate_without_any_valid_game_is_not_selectable():
    def script(req: ChatRequest, k: int) -> str:
        return "garbage" if "z" in shown(req) else "r</think><answer>7</answer><answer>3</answer>"

    sel = run(ScriptedEngine(script), ["a", "b", "z"], method="pairwise")
    assert sel.values[2] is None and sel.reasons[2] == "no valid pairwise judgment"
    assert sel.index in (0, 1)


def test_rank_maps_the_shuffled_presentation_back():
    engine = ScriptedEngine(scores_by_text({"a": 2, "b": 9, "c": 5, "d": 1}))
    for seed in range(5):
        sel = run(engine, ["a", "b", "c", "d"], method="rank", seed=seed)
        assert sel.index == 1 and sel.values == [2.0, 4.0, 3.0, 1.0]
    orders = {tuple(shown(c[0][0])) for c in engine.calls}
    assert len(orders) > 1  # the presentation order is seeded, not always the caller's


def test_rank_with_two_candidates_is_one_pairwise_judgment():
    engine = ScriptedEngine(scores_by_text({"a": 2, "b": 9}))
    sel = run(engine, ["a", "b"], method="rank")
    assert sel.index == 1 and sel.judgments == 1


def test_one_pass_per_prompt_and_selection_over_a_file():
    rows = [
        (None, {"prompt_id": pid, "prompt": "Q?", "response": t})
        for pid in ("p1", "p2", "p3")
        for t in ("a", "b", "c")
    ]
    groups = group_candidates(rows)
    for batch, calls in ((3, [3, 3, 3]), (8, [6, 3]), (9, [9]), (2, [3, 3, 3])):
        engine = ScriptedEngine(scores_by_text({"a": 1, "b": 7, "c": 3}))
        judge = Judge(engine=engine, batch_size=batch)
        out = list(best_of_groups(judge, groups, BestOfSettings("score")))
        assert [s.candidate_id for _, s in out] == ["p1#1", "p2#1", "p3#1"]
        # whole prompts packed up to batch_size requests; a prompt is never split
        assert [len(reqs) for reqs, _ in engine.calls] == calls


def test_select_reads_verdicts_in_request_order():
    g = group(["a", "b"])
    judge = Judge(engine=ScriptedEngine(scores_by_text({"a": 6, "b": 4})))
    verdicts = [judge.score("Q?", "a"), judge.score("Q?", "b")]
    assert select(g, [0, 1], "score", verdicts, random.Random(0)).index == 0


def test_judge_best_of_api():
    judge = Judge(engine=ScriptedEngine(scores_by_text({"x": 2, "y": 8, "z": 5})))
    sel = judge.best_of("Which is best?", ["x", "y", "z"])
    assert sel.index == 1 and sel.status == "selected"
    assert judge.best_of("Q", ["x", "y", "z"], method="rank").index == 1
    assert judge.best_of("Q", ["x", "y"], method="pairwise").index == 1
    with pytest.raises(InputError):
        judge.best_of("Q", [])
    with pytest.raises(InputError):
        judge.best_of("Q", "xyz")  # a string is not a list of candidates
    with pytest.raises(InputError, match="colour"):
        judge.best_of("Q", ["x"], colour="red")


def test_a_candidate_the_judge_cannot_take_is_an_error_not_a_crash():
    # an empty response cannot be judged: its verdict is an error naming why, the others go on
    sel = run(ScriptedEngine(scores_by_text({"a": 3, "c": 5})), ["a", "", "c"])
    assert sel.index == 2 and sel.values == [3.0, None, 5.0]
    assert "empty" in (sel.reasons[1] or "") and sel.reasons[1].startswith("error")
    pairwise = run(ScriptedEngine(scores_by_text({"a": 3, "c": 5})), ["a", "", "c"], "pairwise")
    assert pairwise.index == 2 and pairwise.values[1] is None
