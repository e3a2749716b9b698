"""Best-of-N accuracy over random draws (the official best_of_N.py protocol) against
hand-computed values: N of M without replacement per trial, ties broken by rng.choice, mean
and population std over trials, random-pick and oracle baselines, and the judge-driven form
(each request judged once across trials)."""

from __future__ import annotations

import random
import statistics

import pytest
from tests.test_loop_select import scores_by_text

from flexjudge import ConfigError, InputError, Judge
from flexjudge.engines import ScriptedEngine
from flexjudge.loop import (
    BestOfSettings,
    evaluate_best_of_n,
    evaluate_groups,
    evaluate_scores,
    group_candidates,
)

# two prompts, four candidates each: (score, correct)
P1 = [(9, True), (7, False), (3, False), (None, True)]
P2 = [(6, False), (6, True), (2, True), (1, False)]


def flat(*prompts):
    groups, scores, correct = [], [], []
    for p, cands in enumerate(prompts):
        for s, c in cands:
            groups.append(f"m{p}")
            scores.append(s)
            correct.append(c)
    return groups, scores, correct


def test_all_candidates_drawn_matches_hand_computation():
    rep = evaluate_scores(*flat(P1, P2), ns=[4], trials=200, seed=1)
    row = rep.rows[0]
    # P1: top valid score 9 is correct -> 1. P2: tie at 6 between a wrong and a right one ->
    # 1/2 in expectation. Mean accuracy -> (1 + 0.5) / 2 = 0.75
    assert row.judge.mean == pytest.approx(0.75, abs=0.05)
    # each trial is 1.0 or 0.5, so the population std is the one of those values
    assert row.judge.std == pytest.approx(statistics.pstdev(row.judge.values))
    assert set(row.judge.values) <= {1.0, 0.5}
    # random pick: shares of correct (2/4 and 2/4); oracle: both prompts have a right one
    assert row.random.mean == 0.5 and row.random.std == 0.0
    assert row.oracle.mean == 1.0
    assert rep.details["valid_verdict_rate"] == pytest.approx(7 / 8)


def test_draws_are_n_of_m_without_replacement_one_per_trial():
    seen: list[tuple[int, tuple[int, ...]]] = []

    def chooser(p, members, rng):
        seen.append((p, tuple(members)))
        return members[0]

    positions = [[0, 1, 2, 3, 4, 5]] * 3
    correct = [[True] * 6] * 3
    evaluate_best_of_n(positions, correct, chooser, ns=[2, 4], trials=5, seed=3)
    assert len(seen) == 3 * 5 * 2
    for _p, members in seen:
        assert len(set(members)) == len(members) in (2, 4)
    # one draw per trial, shared by the prompts (the official script draws response files)
    by_trial = [seen[i : i + 3] for i in range(0, len(seen), 3)]
    assert all(len({m for _, m in t}) == 1 for t in by_trial)
    # the draw is rng.sample(range(M), N) from a generator seeded by (seed, N, trial)
    first = sorted(random.Random("3:2:0").sample(range(6), 2))
    assert seen[0][1] == tuple(first)


def test_no_valid_candidate_counts_as_wrong_and_is_reported():
    cands = [(None, True), (None, True)]
    rep = evaluate_scores(*flat(cands, [(5, True), (4, False)]), ns=[2], trials=3)
    row = rep.rows[0]
    assert row.judge.mean == 0.5  # the second prompt right, the first has no selection
    assert row.no_selection.mean == 1.0
    assert row.oracle.mean == 1.0


def test_reproducible_and_independent_of_the_other_ns():
    data = flat(P1, P2)
    a = evaluate_scores(*data, ns=[2, 4], trials=10, seed=5)
    b = evaluate_scores(*data, ns=[2], trials=10, seed=5)
    assert a.rows[0].as_dict() == b.rows[0].as_dict()
    c = evaluate_scores(*data, ns=[2], trials=10, seed=6)
    assert c.rows[0].as_dict() != a.rows[0].as_dict()  # another seed, other draws


def test_positions_follow_the_candidates_index():
    # prompt m1 lacks position 3: a draw of it leaves that prompt one member fewer
    groups = ["m0"] * 4 + ["m1"] * 3
    scores = [1, 2, 3, 4, 1, 2, 3]
    correct = [False, False, False, True, False, False, True]
    rep = evaluate_scores(groups, scores, correct, positions=[0, 1, 2, 3, 0, 1, 2], ns=[4])
    assert rep.rows[0].judge.mean == 1.0 and rep.max_candidates == 4


def test_bad_settings_are_errors():
    data = flat(P1, P2)
    with pytest.raises(ConfigError, match="more than"):
        evaluate_scores(*data, ns=[8])
    with pytest.raises(ConfigError):
        evaluate_scores(*data, ns=[2], trials=0)
    with pytest.raises(InputError, match="differ in length"):
        evaluate_scores(["a"], [1.0, 2.0], [True])
    with pytest.raises(InputError, match="repeats"):
        evaluate_scores(["a", "a"], [1, 2], [True, False], positions=[0, 0], ns=[1])


def test_table_is_percent_mean_and_std():
    rep = evaluate_scores(*flat(P1, P2), ns=[4], trials=1, seed=0)
    n, _judge, rand, oracle, none = rep.table()[0]
    assert n == "4" and rand == "50.00 ± 0.00" and oracle == "100.00 ± 0.00" and none == "0.0"


def test_judge_driven_evaluation_judges_each_request_once():
    texts = ["good", "bad", "meh", "great"]
    points = {"good": 8, "bad": 2, "meh": 5, "great": 9}
    rows = [
        (None, {"prompt_id": p, "prompt": "Q?", "response": t, "correct": t in ("good", "great")})
        for p in ("a", "b")
        for t in texts
    ]
    groups = group_candidates(rows)
    engine = ScriptedEngine(scores_by_text(points))
    rep = evaluate_groups(
        Judge(engine=engine), groups, BestOfSettings("score"), ns=[2, 4], trials=4
    )
    assert sum(len(reqs) for reqs, _ in engine.calls) == 8  # every candidate scored once
    assert rep.rows[1].judge.mean == 1.0  # all four drawn: "great" wins, correct
    assert rep.details["valid_verdict_rate"] == 1.0 and rep.details["judgments"] == 8
    # N = 2: the judge picks the better of the two; wrong only when both are wrong
    pairs = [(x, y) for i, x in enumerate(texts) for y in texts[i + 1 :]]
    assert 0 < rep.rows[0].judge.mean <= 1.0 and len(pairs) == 6


def test_judge_driven_evaluation_needs_gold():
    rows = [(None, {"prompt_id": "a", "prompt": "Q?", "response": t}) for t in ("x", "y")]
    engine = ScriptedEngine(scores_by_text({"x": 1, "y": 2}))
    with pytest.raises(InputError, match="no gold"):
        evaluate_groups(Judge(engine=engine), group_candidates(rows), BestOfSettings(), ns=[2])
