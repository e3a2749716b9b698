"""The report's statistics, exactly, on hand-made votes aggregated by the real voting code."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from flexjudge.bench.spec import Item
from flexjudge.bench.suites import get_benchmark
from flexjudge.errors import InputError
from flexjudge.judge.voting import aggregate
from flexjudge.report import (
    Gold,
    agreement_reliability,
    audit,
    benchmark_gold,
    category_accuracy,
    item_correct,
    length_bias,
    order_swap,
    position_bias,
    read_items,
    response_lengths,
    score_histograms,
    score_length,
    status_summary,
    tie_rates,
)
from flexjudge.request import Task
from flexjudge.verdict import Vote

_SCORES = {"A": [8.0, 3.0], "B": [3.0, 8.0], "tie": [5.0, 5.0]}


def vote(order: list[int], winner: str | None, *, reason: str | None = None) -> Vote:
    """A pairwise vote in request letters; ``winner=None`` is an invalid vote."""
    if winner is None:
        return Vote(order=order, text="<think>…", valid=False, reason=reason or "no_think_close")
    return Vote(order=order, text="t", valid=True, winner=winner, scores=_SCORES[winner])


def pair(*votes: Vote, vid: str = "x", task: str = "pairwise") -> dict:
    return aggregate(list(votes), Task.parse(task), tie=True, request_id=vid).to_json()


def label_vote(order: list[int], label: str) -> Vote:
    return Vote(order=order, text="t", valid=True, label=label)


def labelled(*votes: Vote, vid: str = "l") -> dict:
    return aggregate(list(votes), Task.LABEL, request_id=vid).to_json()


AB, BA = [0, 1], [1, 0]


@pytest.fixture()
def swapped() -> list[dict]:
    return [
        pair(vote(AB, "A"), vote(BA, "A"), vid="1"),  # consistent, A
        pair(vote(AB, "B"), vote(BA, "B"), vid="2"),  # consistent, B
        pair(vote(AB, "A"), vote(BA, "B"), vid="3"),  # the first shown won twice; tie verdict
        pair(vote(AB, "tie"), vote(BA, None), vid="4"),  # one order only
    ]


def test_position_bias_by_shown_position(swapped):
    out = position_bias(swapped)
    assert out["valid_votes"] == 7
    assert out["decisive_votes"] == 6
    # first shown won: 1:A in AB, 2:B in BA, 3: both -> 4 of 6
    assert out["first_shown_win_rate"] == pytest.approx(4 / 6)
    assert out["by_shown_position"]["A_first"] == {"A": 2, "B": 1, "tie": 1, "A_win_rate": 2 / 3}
    assert out["by_shown_position"]["A_second"] == {"A": 1, "B": 2, "tie": 0, "A_win_rate": 1 / 3}
    assert "human" not in out


def test_position_bias_beside_the_human_baseline(swapped):
    golds = [Gold(winner="A"), Gold(winner="B"), Gold(winner="tie"), None]
    human = position_bias(swapped, golds)["human"]
    # Only votes whose human label is decisive (items 1 and 2): 4 votes, 2 won by the first
    # shown; the human-preferred response was shown first in 2 of them.
    assert human == {
        "first_position_win_rate": 0.5,
        "human_first_position_rate": 0.5,
        "first_position_excess": 0.0,
        "decisive_votes": 4,
    }


def test_order_swap_agreement_and_flip_kinds(swapped):
    more = [
        pair(vote(AB, "B"), vote(BA, "A"), vid="5"),  # the second shown won twice
        pair(vote(AB, "tie"), vote(BA, "A"), vid="6"),
        labelled(label_vote(AB, "[[A=B=Good]]"), label_vote(BA, "[[A=B=Bad]]")),
        aggregate(
            [
                Vote(
                    order=[0, 1, 2], text="t", valid=True, scores=[3, 2, 1], ranking=["A", "B", "C"]
                ),
                Vote(
                    order=[2, 1, 0], text="t", valid=True, scores=[1, 2, 3], ranking=["C", "B", "A"]
                ),
            ],
            Task.BATCH,
        ).to_json(),
    ]
    out = order_swap(swapped + more)
    assert out["items_with_both_orders"] == 7  # item 4 has one valid order
    assert out["order_agreement_rate"] == pytest.approx(2 / 7)
    assert out["flips"] == 5
    assert out["kinds"] == {
        "changed": 1,
        "consistent": 2,
        "first_shown_won_both": 1,
        "label_changed": 1,
        "second_shown_won_both": 1,
        "tie_in_one_order": 1,
    }


def test_tie_rates_judge_against_humans(swapped):
    golds = [Gold(winner="A"), Gold(winner="B"), Gold(winner="tie"), None]
    out = tie_rates(swapped, golds)
    assert out["verdicts"] == 4 and out["judge_verdict_tie_rate"] == 0.5  # items 3 and 4
    assert out["valid_votes"] == 7 and out["judge_vote_tie_rate"] == pytest.approx(1 / 7)
    assert out["human_items"] == 3 and out["human_tie_rate"] == pytest.approx(1 / 3)
    assert "labels" not in out
    labels = tie_rates(
        [labelled(label_vote(AB, "[[A=B=Bad]]")), labelled(label_vote(AB, "[[A>B]]"))],
        [Gold(winner="tie", label="[[A=B=Good]]"), Gold(winner="A", label="[[A>B]]")],
    )
    assert labels["judge_verdict_tie_rate"] == 0.5 and labels["human_tie_rate"] == 0.5
    assert labels["labels"] == {
        "judge": {"[[A=B=Bad]]": 1, "[[A>B]]": 1},
        "human": {"[[A=B=Good]]": 1, "[[A>B]]": 1},
    }


def test_rates_are_none_not_zero_when_empty():
    out = audit([])
    assert out["position"]["first_shown_win_rate"] is None
    assert out["ties"]["human_tie_rate"] is None
    assert out["order_swap"]["order_agreement_rate"] is None
    assert out["agreement"]["ece"] is None
    assert out["score_length"] == {"pairs": 0, "pearson": None, "spearman": None}


def test_length_bias_bins_and_longer_win_rate():
    verdicts = [
        pair(vote(AB, "A")),
        pair(vote(AB, "A")),
        pair(vote(AB, "B")),
        pair(vote(AB, "tie")),
        pair(vote(AB, "A")),
    ]
    lengths = [[50, 10], [10, 12], [5, 200], [20, 20], None]
    golds = [Gold(winner="A"), Gold(winner="B"), Gold(winner="B"), None, Gold(winner="A")]
    out = length_bias(verdicts, lengths, golds)
    bins = {row["bin"]: row for row in out["bins"]}
    assert list(bins) == [
        "<= -100",
        "-99..-30",
        "-29..-10",
        "-9..-3",
        "-2..2",
        "3..9",
        "10..29",
        "30..99",
        ">= 100",
    ]
    assert bins["30..99"] == {
        "bin": "30..99",
        "n": 1,
        "A": 1,
        "B": 0,
        "tie": 0,
        "A_win_rate": 1.0,
        "human_n": 1,
        "human_A_win_rate": 1.0,
    }
    assert (bins["-2..2"]["n"], bins["-2..2"]["A"], bins["-2..2"]["tie"]) == (2, 1, 1)
    assert bins["-2..2"]["A_win_rate"] == 1.0 and bins["-2..2"]["human_A_win_rate"] == 0.0
    assert bins["<= -100"]["A_win_rate"] == 0.0
    assert bins["3..9"]["A_win_rate"] is None
    assert out["longer_win_rate"] == pytest.approx(2 / 3) and out["decisive"] == 3
    assert out["human_longer_win_rate"] == 1.0 and out["human_decisive"] == 3


@pytest.mark.parametrize(
    ("diff", "expected"),
    [
        (-100, "<= -100"),
        (-99, "-99..-30"),
        (-3, "-9..-3"),
        (-2, "-2..2"),
        (2, "-2..2"),
        (3, "3..9"),
        (99, "30..99"),
        (100, ">= 100"),
    ],
)
def test_length_bins_are_symmetric_at_their_edges(diff, expected):
    lengths = [[200 + diff, 200]]
    out = length_bias([pair(vote(AB, "A"))], lengths)
    assert [row["bin"] for row in out["bins"] if row["n"]] == [expected]


def test_score_length_correlation():
    verdicts = [
        aggregate([Vote(order=[0], text="t", valid=True, scores=[s])], Task.SCORE).to_json()
        for s in (8.0, 6.0, 4.0)
    ]
    out = score_length(verdicts, [[10], [20], [35]])
    assert out["pairs"] == 3
    assert out["pearson"] == pytest.approx(-0.99339, abs=1e-4)
    assert out["spearman"] == pytest.approx(-1.0)


def test_score_length_without_scipy_says_so(monkeypatch: pytest.MonkeyPatch):
    """A plain install (no bench extra, e.g. the vLLM venv) still audits; the correlations
    are None with the reason, not an ImportError that loses the run's manifest."""
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    verdicts = [
        aggregate([Vote(order=[0], text="t", valid=True, scores=[s])], Task.SCORE).to_json()
        for s in (8.0, 6.0, 4.0)
    ]
    out = score_length(verdicts, [[10], [20], [35]])
    assert out["pairs"] == 3 and out["pearson"] is None and out["spearman"] is None
    assert "scipy" in out["unavailable"]


def test_item_correct_rules():
    a = pair(vote(AB, "A"))
    assert item_correct(a, Gold(winner="A")) is True
    assert item_correct(a, Gold(winner="tie")) is False
    assert item_correct(a, None) is None
    assert item_correct(a, Gold(score=7.0)) is None  # a score says nothing about right/wrong
    invalid = pair(vote(AB, None))
    assert invalid["status"] == "invalid" and item_correct(invalid, Gold(winner="A")) is False
    good = labelled(label_vote(AB, "[[A=B=Good]]"))
    assert item_correct(good, Gold(winner="tie", label="[[A=B=Bad]]")) is False
    assert item_correct(good, Gold(winner="tie", label="[[A=B=Good]]")) is True


def test_status_summary_counts_reason_codes():
    verdicts = [
        pair(vote(AB, None, reason="answer_count"), vote(BA, None, reason="answer_count")),
        pair(vote(AB, "A"), vote(BA, None, reason="out_of_scale")),
        {"id": "e", "task": "pairwise", "status": "error", "error": "image missing", "votes": []},
    ]
    out = status_summary(verdicts)
    assert (out["items"], out["ok"], out["invalid"], out["error"]) == (3, 1, 1, 1)
    assert (out["votes"], out["valid_votes"], out["valid_vote_rate"]) == (4, 1, 0.25)
    assert out["vote_reasons"] == {
        "answer_count": {"n": 2, "meaning": "wrong number of <answer> blocks"},
        "out_of_scale": {"n": 1, "meaning": "a score lies outside the scale"},
    }
    assert out["errors"] == [
        {"message": "no valid vote (answer_count x2)", "n": 1},
        {"message": "image missing", "n": 1},
    ]


def test_category_accuracy_counts_invalid_as_wrong():
    verdicts = [pair(vote(AB, "A")), pair(vote(AB, "B")), pair(vote(AB, None)), pair(vote(AB, "A"))]
    golds = [Gold(winner="A"), Gold(winner="A"), Gold(winner="A"), None]
    out = category_accuracy(verdicts, golds, ["x", "x", "y", "y"])
    assert out == {
        "x": {"n": 2, "correct": 1, "invalid": 0, "accuracy": 0.5},
        "y": {"n": 1, "correct": 0, "invalid": 1, "accuracy": 0.0},
    }


def test_agreement_reliability_and_ece():
    verdicts = [
        pair(vote(AB, "A"), vote(AB, "A"), vote(AB, "A")),  # 1.0, right
        pair(vote(AB, "A"), vote(AB, "A"), vote(AB, "A")),  # 1.0, wrong
        pair(vote(AB, "A"), vote(AB, "A"), vote(AB, "B")),  # 2/3, right
        pair(vote(AB, "B"), vote(AB, "B"), vote(AB, "A")),  # 2/3, wrong
        pair(vote(AB, "A"), vote(AB, "B"), vote(AB, "A")),  # 2/3, right
        pair(vote(AB, "A")),  # one vote: left out
    ]
    golds = [Gold(winner=w) for w in ("A", "B", "A", "A", "A", "A")]
    out = agreement_reliability(verdicts, golds)
    assert out["single_vote_items"] == 1 and out["items"] == 5 and out["judged_items"] == 5
    bins = {(round(b["lo"], 1), round(b["hi"], 1)): b for b in out["bins"]}
    assert set(bins) == {(0.6, 0.7), (0.9, 1.0)}
    assert bins[(0.9, 1.0)]["n"] == 2 and bins[(0.9, 1.0)]["accuracy"] == 0.5
    assert bins[(0.6, 0.7)]["mean_agreement"] == pytest.approx(2 / 3)
    assert bins[(0.6, 0.7)]["accuracy"] == pytest.approx(2 / 3)
    assert out["ece"] == pytest.approx(2 / 5 * 0.5)
    no_gold = agreement_reliability(verdicts)
    assert no_gold["ece"] is None and all("accuracy" not in b for b in no_gold["bins"])


def test_score_histograms_per_group_with_human_scores():
    def scored(s: float) -> dict:
        return aggregate([Vote(order=[0], text="t", valid=True, scores=[s])], Task.SCORE).to_json()

    verdicts = [scored(7.0), scored(7.0), scored(3.5), pair(vote(AB, "A"))]
    golds = [Gold(score=4.2), Gold(score=4.2), Gold(score=1.0), None]
    out = score_histograms(verdicts, ["x", "x", "y", "y"], golds)
    assert list(out) == ["all", "x", "y"]
    assert out["x"] == {"n": 2, "judge": [[7.0, 2]], "human": [[4.2, 2]]}
    assert out["y"]["judge"] == [[3.0, 1], [3.5, 1], [8.0, 1]]
    assert out["all"]["n"] == 5
    single = score_histograms(verdicts[:2], ["x", "x"])
    assert list(single) == ["x"]


def test_audit_is_json_and_has_every_section(swapped):
    golds = [Gold(winner="A"), Gold(winner="B"), Gold(winner="tie"), None]
    out = audit(swapped, golds, ["g", "g", "h", None], [[3, 4], [10, 1], None, [2, 2]])
    assert set(out) == {
        "status",
        "position",
        "order_swap",
        "ties",
        "length",
        "score_length",
        "scores",
        "agreement",
        "categories",
        "length_unit",
    }
    assert json.loads(json.dumps(out)) == out
    assert "categories" not in audit(swapped)


def test_response_lengths_in_words():
    assert response_lengths({"responses": ["one two", {"text": "a b c"}]}) == [2, 3]
    assert response_lengths({"responses": ["one", {"images": ["x.png"]}]}) is None
    assert response_lengths(None) is None


def test_benchmark_gold_maps_each_vocabulary():
    pair_bench = get_benchmark("mllm_judge")
    tie = Item("1", {"task": "pairwise"}, "C")
    assert benchmark_gold(pair_bench, "pair", tie) == Gold(winner="tie", raw="C")
    batch = Item("2", {"task": "batch"}, "CDAB")
    assert benchmark_gold(pair_bench, "batch", batch).ranking == ("C", "D", "A", "B")
    genai = get_benchmark("genai_bench")
    vote_gold = benchmark_gold(
        genai, "image_generation", Item("3", {"task": "label"}, "bothbad_vote")
    )
    assert (vote_gold.winner, vote_gold.label) == ("tie", "[[A=B=Bad]]")
    mos = benchmark_gold(get_benchmark("audio"), "somos", Item("4", {"task": "score"}, 3.25))
    assert mos == Gold(score=3.25, raw=3.25)


def test_gold_json_round_trip_and_errors():
    g = Gold(winner="B", label="[[B>A]]", score=None, ranking=None, raw="rightvote")
    assert Gold.from_json(g.as_json(), "here") == g
    with pytest.raises(InputError, match="here: gold winner 'C'"):
        Gold.from_json({"winner": "C"}, "here")
    with pytest.raises(InputError, match="unknown gold field"):
        Gold.from_json({"winnr": "A"}, "here")
    with pytest.raises(InputError, match="finite number"):
        Gold.from_json({"score": math.nan}, "here")


def test_read_items_from_items_and_request_files(tmp_path: Path):
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps(
            {
                "id": 7,
                "request": {
                    "task": "score",
                    "instruction": "q",
                    "responses": ["r"],
                    "images": ["img/a.png", "/abs/b.png"],
                },
                "gold": {"score": 4},
                "group": "g",
            }
        )
        + "\n"
    )
    (rec,) = read_items(items)
    assert (rec.id, rec.group, rec.gold) == ("7", "g", Gold(score=4.0))
    assert rec.request["images"] == [str(tmp_path / "img/a.png"), "/abs/b.png"]
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        "\n"
        + json.dumps(
            {
                "task": "pairwise",
                "instruction": "q",
                "responses": [{"text": "a", "videos": ["v.mp4"]}, "b"],
            }
        )
        + "\n"
        + json.dumps({"id": "named", "task": "score", "instruction": "q", "responses": ["r"]})
        + "\n"
    )
    first, second = read_items(requests)
    assert first.id == "line 2" and second.id == "named"  # the ids `flexjudge run` gives
    assert first.request["responses"][0]["videos"] == [str(tmp_path / "v.mp4")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": 1, "request": {}, "gold": {"winner": "X"}}) + "\n")
    with pytest.raises(InputError, match=r"bad.jsonl, line 1: gold winner 'X'"):
        list(read_items(bad))


def test_items_writer_saves_in_memory_media_and_reads_back(tmp_path: Path):
    import numpy as np
    from PIL import Image

    from flexjudge.report import ItemsWriter

    picture = Image.new("RGB", (32, 24), (255, 0, 0))
    clip = (np.sin(np.arange(8000) / 10).astype(np.float32), 8000)
    path = tmp_path / "run" / "items.jsonl"
    with ItemsWriter(path) as writer:
        writer.write(
            "a",
            {
                "id": "a",
                "task": "pairwise",
                "instruction": "q",
                "images": [picture, "/data/x.png"],
                "responses": [{"text": "r", "audios": [clip]}, "s"],
            },
            gold=Gold(winner="B", raw="B"),
            group="coco",
        )
    (rec,) = read_items(path)
    assert (rec.id, rec.gold, rec.group) == ("a", Gold(winner="B", raw="B"), "coco")
    saved, given = rec.request["images"]
    assert given == "/data/x.png" and Path(saved).parent == tmp_path / "run" / "media"
    assert Image.open(saved).size == (32, 24)
    (audio,) = rec.request["responses"][0]["audios"]
    from flexjudge.media import load_audio

    assert load_audio(audio).duration == pytest.approx(1.0)
    assert "id" not in rec.request
