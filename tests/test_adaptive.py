"""Adaptive voting: the stopping rule checked exhaustively against the real aggregation (every
prefix of votes and every way the remaining votes could fall, over small vote alphabets that
include the extremes), then the rounds through the pipeline and the store.

The pipeline tests use ``SeededFake``, a named fake standing in for a seeded sampler (vote k of
a call with seed s is a fixed function of the prompt, s and k), so that "the same verdict as
the full count" can be checked item by item; the store test runs a real tiny checkpoint."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence

import pytest
from click.testing import CliRunner

from flexjudge import ConfigError, Judge, JudgeRequest
from flexjudge.cli.main import cli
from flexjudge.engines import ChatRequest, Completion, Engine, SamplingParams, ScriptedEngine
from flexjudge.engines.chatml import render_chatml
from flexjudge.judge.adaptive import outcome_lead, round_sizes, settled
from flexjudge.judge.voting import aggregate
from flexjudge.request import Scale, Task
from flexjudge.verdict import Verdict, Vote, Winner

INVALID = Vote(order=[0, 1], text="", valid=False, reason="no_think_close")


def pairwise(a: float, b: float) -> Vote:
    winner: Winner = "A" if a > b else "B" if b > a else "tie"
    return Vote(order=[0, 1], text="", valid=True, scores=[a, b], winner=winner)


def label(name: str) -> Vote:
    winner: Winner = "A" if name == "[[A>B]]" else "B" if name == "[[B>A]]" else "tie"
    return Vote(order=[0, 1], text="", valid=True, label=name, winner=winner)


def ranked(scores: Sequence[float]) -> Vote:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return Vote(
        order=[0, 1, 2],
        text="",
        valid=True,
        scores=list(scores),
        ranking=["ABC"[i] for i in order],
    )


def scored(x: float) -> Vote:
    return Vote(order=[0], text="", valid=True, scores=[x])


def decision(v: Verdict, task: Task) -> object:
    if v.status != "ok":
        return v.status, v.error
    if task is Task.BATCH:
        return tuple(v.ranking or ())
    return {Task.PAIRWISE: v.winner, Task.LABEL: v.label}.get(task)


# Alphabets: every kind of vote the format allows, with the extreme margins (which is what a
# remaining vote needs to flip a tie-break) and an invalid vote.
PAIRWISE_TIE = [pairwise(10, 1), pairwise(6, 5), pairwise(1, 10), pairwise(5, 6), pairwise(5, 5)]
PAIRWISE_NO_TIE = [v for v in PAIRWISE_TIE if v.winner != "tie"]
LABELS = [label(x) for x in ("[[A>B]]", "[[B>A]]", "[[A=B=Good]]", "[[A=B=Bad]]")]
RANKINGS = [ranked(p) for p in itertools.permutations([9, 5, 1])]
SCALE_10, SCALE_5 = Scale(1, 10), Scale(1, 5)


def cases(alphabet: list[Vote], total: int):
    """(prefix, remaining) for every prefix length and split of ``total`` votes."""
    for drawn in range(total + 1):
        for prefix in itertools.product(alphabet, repeat=drawn):
            yield list(prefix), total - drawn


def outcomes(prefix: list[Vote], remaining: int, alphabet: list[Vote], task: Task, tie: bool):
    for rest in itertools.product(alphabet, repeat=remaining):
        yield decision(aggregate([*prefix, *rest], task, tie=tie), task)


def test_round_sizes():
    assert [round_sizes(k) for k in (1, 2, 3, 4, 5, 8)] == [
        [1],
        [2],
        [2, 1],
        [3, 1],
        [3, 1, 1],
        [5, 1, 1, 1],
    ]
    assert all(sum(round_sizes(k)) == k for k in range(1, 40))
    with pytest.raises(ConfigError, match="at least 1"):
        round_sizes(0)


@pytest.mark.parametrize("tie", [True, False])
def test_pairwise_rule_is_sound(tie):
    alphabet = (PAIRWISE_TIE if tie else PAIRWISE_NO_TIE) + [INVALID]
    stopped = 0
    for prefix, remaining in cases(alphabet, 5):
        now = decision(aggregate(prefix, Task.PAIRWISE, tie=tie), Task.PAIRWISE)
        finals = outcomes(prefix, remaining, alphabet, Task.PAIRWISE, tie)
        if settled(prefix, Task.PAIRWISE, remaining=remaining, scale=SCALE_10):
            stopped += remaining > 0
            assert set(finals) == {now}, (prefix, remaining)
        elif outcome_lead(v.winner for v in prefix if v.valid) < remaining:
            # tight where the runner-up can overtake (at an exact tie of counts the rule does
            # not look at the tie-break, and waits)
            assert any(f != now for f in finals), (prefix, remaining)
    assert stopped > 0


def test_label_rule_is_sound():
    alphabet = [*LABELS, INVALID]
    early = 0
    for prefix, remaining in cases(alphabet, 5):
        if settled(prefix, Task.LABEL, remaining=remaining, scale=SCALE_10):
            now = decision(aggregate(prefix, Task.LABEL), Task.LABEL)
            assert set(outcomes(prefix, remaining, alphabet, Task.LABEL, True)) == {now}
            early += remaining > 0
    assert early > 0


def test_batch_rule_is_sound():
    alphabet = [*RANKINGS, INVALID]
    early = 0
    for prefix, remaining in cases(alphabet, 4):
        if settled(prefix, Task.BATCH, remaining=remaining, scale=SCALE_10):
            now = decision(aggregate(prefix, Task.BATCH), Task.BATCH)
            assert set(outcomes(prefix, remaining, alphabet, Task.BATCH, True)) == {now}
            early += remaining > 0
    assert early > 0
    # 3 responses, 1 vote left: a gap of 2 rank points can close (ranked first and last), 3 not
    two = [ranked([9, 5, 1])] * 2
    assert not settled(two, Task.BATCH, remaining=1, scale=SCALE_10)
    assert settled(two * 2, Task.BATCH, remaining=1, scale=SCALE_10)


@pytest.mark.parametrize("how", ["mean", "median"])
@pytest.mark.parametrize("tolerance", [0.0, 1.0])
def test_score_rule_is_sound_and_tight(how, tolerance):
    values = [1, 2, 4, 5]
    alphabet = [*(scored(x) for x in values), INVALID]
    early = 0
    for prefix, remaining in cases(alphabet, 5):
        now = aggregate(prefix, Task.SCORE, score_reduce=how)
        stop = settled(
            prefix,
            Task.SCORE,
            remaining=remaining,
            scale=SCALE_5,
            score_reduce=how,
            tolerance=tolerance,
        )
        if now.status != "ok":
            assert stop == (remaining == 0)
            continue
        worst = max(
            abs(aggregate([*prefix, *rest], Task.SCORE, score_reduce=how).scores[0] - now.scores[0])  # type: ignore[index]
            for rest in itertools.product(alphabet, repeat=remaining)
        )
        assert stop == (worst <= tolerance + 1e-12), (prefix, remaining, worst)
        early += stop and remaining > 0
    assert early > 0 or tolerance == 0


def test_rule_edge_cases():
    assert settled([], Task.PAIRWISE, remaining=0, scale=SCALE_10)
    assert not settled([INVALID] * 7, Task.PAIRWISE, remaining=1, scale=SCALE_10)
    # 5 of 8 agreeing pairwise votes settle; 4 to 1 with 3 left does not
    assert settled([pairwise(8, 3)] * 5, Task.PAIRWISE, remaining=3, scale=SCALE_10)
    four_one = [pairwise(8, 3)] * 4 + [pairwise(3, 8)]
    assert not settled(four_one, Task.PAIRWISE, remaining=3, scale=SCALE_10)
    with pytest.raises(ConfigError, match="remaining"):
        settled([], Task.SCORE, remaining=-1, scale=SCALE_10)
    with pytest.raises(ConfigError, match="tolerance"):
        settled([scored(3)], Task.SCORE, remaining=1, scale=SCALE_10, tolerance=-1)
    with pytest.raises(ConfigError, match="adaptive_tolerance"):
        Judge(engine=SeededFake(), adaptive_tolerance=-0.5)


# -- through the pipeline ----------------------------------------------------------------------
class SeededFake(Engine):
    """A named fake for a seeded sampler: vote ``k`` of a call with seed ``s`` is a fixed
    function of (prompt, s, k). A shown response holding "strong" scores high with
    probability 0.85; 1 vote in 10 is unparseable."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []  # (requests, n, seed)

    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        self.calls.append((len(requests), params.n, params.seed or 0))
        return [[self._vote(r, params, k) for k in range(params.n)] for r in requests]

    def _vote(self, request: ChatRequest, params: SamplingParams, k: int) -> Completion:
        prompt = render_chatml(request)
        rng = random.Random(f"{prompt}|{params.seed}|{k}")
        if rng.random() < 0.1:
            return Completion("no verdict here", "eos", 3)
        shown = re.findall(r"\[Assistant(?: \w+)?'s Answer\]\n(.*?)(?:\n\n|$)", prompt, re.S)
        used: set[int] = set()
        scores = []
        for answer in shown:
            good = ("strong" in answer) == (rng.random() < 0.85)
            s = rng.randint(7, 10) if good else rng.randint(1, 4)
            while s in used:  # a batch may not repeat a score
                s = s % 10 + 1
            used.add(s)
            scores.append(s)
        text = "r</think>" + "".join(f"<answer>{s}</answer>" for s in scores)
        return Completion(params.truncate(text)[0], "stop", len(scores))

    def render(self, request: ChatRequest) -> str:
        return render_chatml(request)


def requests(n: int) -> list[JudgeRequest]:
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            task, responses = "pairwise", ["strong answer", "weak answer"][:: 1 - 2 * (i % 2)]
        elif kind == 1:
            task, responses = "rank", ["weak one", "strong one", "weak two"]
        else:
            task, responses = "score", ["strong answer" if i % 2 else "weak answer"]
        out.append(
            JudgeRequest.build(id=f"q{i}", task=task, instruction=f"q{i}", responses=responses)
        )
    return out


def full_rounds(judge: Judge, items: list[JudgeRequest], votes: int) -> list[Verdict]:
    """The full count drawn through the same rounds (each round on its own, item by item), in
    the vote order of an adaptive run that never stops: order by order, round by round."""
    rounds = [
        list(judge.with_config(votes=size, seed=judge.config.seed + r, adaptive=False).run(items))
        for r, size in enumerate(round_sizes(votes))
    ]
    out = []
    for i, item in enumerate(items):
        orders = list(dict.fromkeys(tuple(v.order) for v in rounds[0][i].votes))
        all_votes = [
            v for o in orders for rnd in rounds for v in rnd[i].votes if tuple(v.order) == o
        ]
        out.append(aggregate(all_votes, item.task, tie=item.tie, request_id=str(item.id)))
    return out


@pytest.mark.parametrize("order", ["fixed", "swap"])
def test_adaptive_verdicts_equal_the_full_count(order):
    items = requests(45)
    fake = SeededFake()
    judge = Judge(engine=fake, votes=8, order=order, batch_size=1, adaptive_tolerance=1.0)
    adaptive = list(judge.with_config(adaptive=True).run(items))
    full = full_rounds(judge, items, 8)
    saved = 0
    for item, a, f in zip(items, adaptive, full):
        assert a.id == f.id
        orders = len({tuple(v.order) for v in f.votes})  # a score item has one order
        assert f.n_votes == 8 * orders
        drawn = a.n_votes // orders
        # the adaptive votes are the first ones of every order of the full count
        for o in {tuple(v.order) for v in f.votes}:
            mine = [v.text for v in a.votes if tuple(v.order) == o]
            assert mine == [v.text for v in f.votes if tuple(v.order) == o][:drawn]
        if item.task is Task.SCORE:
            if a.ok:
                assert abs(a.scores[0] - f.scores[0]) <= 1.0  # type: ignore[index]
        else:
            assert decision(a, item.task) == decision(f, item.task), item.id
        saved += 8 * orders - a.n_votes
    assert saved > 0
    # rounds went to the engine with their own seeds: 0 for the first, then 1, 2, 3
    assert {seed for _, _, seed in fake.calls} <= {0, 1, 2, 3}


def test_unanimous_items_stop_after_the_first_round_split_ones_draw_all():
    a_wins, b_wins = (
        "r</think><answer>8</answer><answer>3</answer>",
        "r</think><answer>2</answer><answer>9</answer>",
    )
    engine = ScriptedEngine([a_wins])
    v = Judge(engine=engine, votes=8, adaptive=True).compare("q", "a", "b")
    assert v.winner == "A" and v.n_votes == 5
    assert [params.n for _, params in engine.calls] == [5]
    engine = ScriptedEngine([a_wins, b_wins])  # alternating: never settles
    v = Judge(engine=engine, votes=8, adaptive=True, seed=7).compare("q", "a", "b")
    assert v.n_votes == 8
    assert [(p.n, p.seed) for _, p in engine.calls] == [(5, 7), (1, 8), (1, 9), (1, 10)]
    assert Judge(engine=ScriptedEngine([a_wins]), votes=8).compare("q", "a", "b").n_votes == 8


@pytest.mark.slow
def test_adaptive_resumes_from_the_store_on_a_real_checkpoint(tiny_vl, tmp_path):
    rows = [
        dict(id=f"r{i}", task="pairwise", instruction=f"Q{i}?", responses=[f"a{i}", f"b{i}"])
        for i in range(3)
    ]
    store = tmp_path / "store.sqlite"
    kw = dict(votes=3, adaptive=True, max_new_tokens=4, batch_size=2, store=store)
    with Judge(str(tiny_vl), **kw) as judge:
        first = [v.to_json() for v in judge.run(rows)]
        stats = judge.cache_stats
        assert stats is not None and stats.hits == 0
        # a random model never answers validly, so no item settles: rounds [2, 1], per batch
        assert stats.engine_calls == 4 and all(v["n_votes"] == 3 for v in first)
    with Judge(str(tiny_vl), **kw) as judge:
        again = [v.to_json() for v in judge.run(rows)]
        assert judge.cache_stats.generated == 0  # type: ignore[union-attr]
    assert again == first


def test_cli_declares_the_adaptive_flags():
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert result.exit_code == 0
    assert "--adaptive" in result.output and "--adaptive-tolerance" in result.output
