"""score_predictions: the published PandaLM and GenAI-Bench numbers, flexjudge verdict files,
and mismatched or malformed predictions."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from flexjudge.bench import (
    GENAI_VOTE_MAP,
    BenchmarkDataError,
    genai_vote,
    iter_genai_bench,
    label_accuracy,
    load_pandalm_testset,
    metrics_json,
    pandalm_prediction,
    render_markdown,
    score_predictions,
)
from flexjudge.errors import ConfigError

FIX = Path(__file__).parent / "fixtures" / "benchmarks"
PANDALM = FIX / "pandalm"
TESTSET = PANDALM / "testset-v1.json"
GENAI = FIX / "genai_bench" / "results"


def pct(result: dict, metric: str) -> float:
    return round(100 * result["metrics"][metric]["value"], 2)


# ---------------------------------------------------------------------------- published numbers

PANDALM_PUBLISHED = {
    "gpt-3.5-turbo": (71.07, 58.79, 57.36, 57.55),
    "pandalm-7b": (66.77, 57.38, 57.50, 57.43),
}


@pytest.mark.parametrize("judge", sorted(PANDALM_PUBLISHED))
def test_pandalm_published_numbers(judge: str) -> None:
    r = score_predictions("pandalm", PANDALM / f"{judge}-testset-v1.json", TESTSET)
    got = tuple(pct(r, m) for m in ("accuracy", "precision", "recall", "f1"))
    assert got == PANDALM_PUBLISHED[judge]
    assert (r["benchmark"], r["split"], r["n_items"]) == ("pandalm", "test", 999)
    for name in ("accuracy", "precision", "recall", "f1"):
        assert (r["metrics"][name]["n"], r["metrics"][name]["n_invalid"]) == (999, 0)


def test_pandalm_garbage_is_reported_and_strict_accuracy_differs() -> None:
    r = score_predictions("pandalm", PANDALM / "gpt-3.5-turbo-testset-v1.json", TESTSET)
    assert r["counts"]["garbage_read_as_tie"] == 25
    assert "25 'garbage'" in r["metrics"]["accuracy"]["note"]
    strict = r["metrics"]["accuracy_strict"]
    assert (round(100 * strict["value"], 2), strict["n_invalid"]) == (69.77, 25)


GENAI_PUBLISHED = {
    ("image_generation", "gemini-1.5-pro"): 44.67,
    ("image_edition", "gemini-1.5-pro"): 55.93,
    ("video_generation", "gemini-1.5-pro"): 46.21,
    ("image_generation", "llava"): 37.0,
    ("image_edition", "llava"): 26.12,
    ("video_generation", "llava"): 30.4,
    ("image_generation", "random"): 25.36,
    ("image_edition", "random"): 25.9,
    ("video_generation", "random"): 25.16,
}


@pytest.mark.parametrize("task, judge", sorted(GENAI_PUBLISHED))
def test_genai_bench_published_numbers(task: str, judge: str) -> None:
    r = score_predictions("genai_bench", GENAI / task / judge / "pairwise.jsonl")
    assert pct(r, "accuracy") == GENAI_PUBLISHED[(task, judge)]
    assert r["split"] == task


def test_genai_invalid_votes_are_counted() -> None:
    r = score_predictions(
        "genai_bench", GENAI / "image_generation" / "gemini-1.5-pro" / "pairwise.jsonl"
    )
    # 48 refusals (null) and 2 free-text votes such as "[[Model A is better: [[A>B]] ]]"
    assert r["counts"] == {"invalid": 50, "null_votes": 48, "unmapped_votes": 2}
    assert r["metrics"]["accuracy"]["n_invalid"] == 50 and r["metrics"]["accuracy"]["n"] == 1735


def test_genai_a_eq_b_rule_is_what_makes_the_number() -> None:
    recs = list(iter_genai_bench(GENAI / "image_generation" / "gemini-1.5-pro" / "pairwise.jsonl"))
    without = {k: v for k, v in GENAI_VOTE_MAP.items() if k != "[[A=B]]"}
    m = label_accuracy(
        [without.get(r.model_vote or "") for r in recs], [r.human_vote for r in recs]
    )
    assert round(100 * m.value, 2) == 44.61  # vs the published 44.67


def test_protocol_parsers() -> None:
    assert pandalm_prediction("Tie") == (0, False)
    assert pandalm_prediction("garbage") == (0, True)
    assert pandalm_prediction("2") == (2, False) and pandalm_prediction(1) == (1, False)
    assert pandalm_prediction("5") == (None, False) and pandalm_prediction("maybe") == (None, False)
    assert genai_vote("[[A=B]]") == "tievote"
    assert genai_vote(None) is None and genai_vote("[[Model A is better: [[A>B]] ]]") is None


# ---------------------------------------------------------------------------- flexjudge verdicts


def _verdict(vid: object, winner: str | None, label: str | None = None, status: str = "ok") -> dict:
    return {"id": vid, "status": status, "winner": winner, "label": label, "scores": None}


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_pandalm_flexjudge_verdicts_matched_by_id(tmp_path: Path) -> None:
    items = load_pandalm_testset(TESTSET)
    to_winner = {0: "tie", 1: "A", 2: "B"}
    rows = [_verdict(it.idx if it.idx % 2 else str(it.idx), to_winner[it.label]) for it in items]
    rows[10] = _verdict(10, None, status="invalid")
    rows[11] = _verdict(11, None, status="error")
    rows[12] = _verdict(12, "A" if items[12].label != 1 else "B")  # one wrong answer
    random.Random(0).shuffle(rows)  # order does not matter, ids do
    r = score_predictions("pandalm", _write_jsonl(tmp_path / "v.jsonl", rows), TESTSET)
    acc = r["metrics"]["accuracy"]
    assert r["predictions_format"] == "flexjudge_verdicts"
    assert (acc["value"], acc["n"], acc["n_invalid"]) == (996 / 999, 999, 2)


def test_real_flexjudge_verdict_objects_are_read(tmp_path: Path) -> None:
    from flexjudge.verdict import Verdict

    items = load_pandalm_testset(TESTSET)
    winner = {0: "tie", 1: "A", 2: "B"}
    lines = [
        Verdict(
            id=str(it.idx), task="pairwise", status="ok", winner=winner[it.label], scores=[1, 1]
        ).to_json()
        for it in items
    ]
    lines[0] = Verdict(id="0", task="pairwise", status="invalid", error="no answer tag").to_json()
    r = score_predictions("pandalm", _write_jsonl(tmp_path / "verdicts.jsonl", lines), TESTSET)
    assert (r["metrics"]["accuracy"]["value"], r["metrics"]["accuracy"]["n_invalid"]) == (
        998 / 999,
        1,
    )


def test_genai_flexjudge_verdicts_reproduce_the_judge_file(tmp_path: Path) -> None:
    src = GENAI / "image_edition" / "random" / "pairwise.jsonl"
    recs = list(iter_genai_bench(src))
    rows = [_verdict(rec.idx, None, rec.model_vote) for rec in reversed(recs)]
    r = score_predictions("genai_bench", _write_jsonl(tmp_path / "v.jsonl", rows), src)
    assert r["predictions_format"] == "flexjudge_verdicts" and r["split"] == "image_edition"
    assert pct(r, "accuracy") == 25.9

    rows[-1] = _verdict(0, "A", None)  # a winner without a label cannot be a 4-way vote
    r = score_predictions("genai_bench", _write_jsonl(tmp_path / "v.jsonl", rows), src)
    expected = sum(genai_vote(x.model_vote) == x.human_vote for x in recs[1:]) / len(recs)
    assert r["metrics"]["accuracy"]["value"] == pytest.approx(expected)
    assert r["metrics"]["accuracy"]["n_invalid"] == 1


def test_mismatched_ids_name_counts_and_first_ids(tmp_path: Path) -> None:
    items = load_pandalm_testset(TESTSET)
    rows = [_verdict(it.idx, "A") for it in items if it.idx not in (3, 7)]
    rows.append(_verdict(5000, "B"))
    p = _write_jsonl(tmp_path / "v.jsonl", rows)
    with pytest.raises(BenchmarkDataError) as info:
        score_predictions("pandalm", p, TESTSET)
    msg = str(info.value)
    assert "998 verdicts vs 999 items" in msg
    assert "2 items without a verdict (first: ['3', '7'])" in msg
    assert "1 verdict ids not in the benchmark (first: ['5000'])" in msg


def test_truncated_judge_file_is_rejected(tmp_path: Path) -> None:
    data = json.loads((PANDALM / "pandalm-7b-testset-v1.json").read_text())[:-1]
    p = tmp_path / "short.json"
    p.write_text(json.dumps(data))
    with pytest.raises(BenchmarkDataError, match=r"998 predictions vs 999 items.*first: \['998'\]"):
        score_predictions("pandalm", p, TESTSET)


def test_duplicate_prediction_ids(tmp_path: Path) -> None:
    p = _write_jsonl(tmp_path / "v.jsonl", [_verdict(0, "A"), _verdict("0", "B")])
    with pytest.raises(BenchmarkDataError, match=r"1 duplicate verdict ids, first: \['0'\]"):
        score_predictions("pandalm", p, TESTSET)


def test_verdict_label_outside_vocabulary(tmp_path: Path) -> None:
    p = _write_jsonl(
        tmp_path / "v.jsonl", [_verdict(0, "A", "[[A>B]]"), _verdict(1, "A", "[[A>>B]]")]
    )
    with pytest.raises(BenchmarkDataError, match=r"v\.jsonl, line 2: label '\[\[A>>B\]\]'"):
        score_predictions("genai_bench", p, GENAI / "image_edition" / "random" / "pairwise.jsonl")


def test_malformed_predictions_line(tmp_path: Path) -> None:
    p = tmp_path / "v.jsonl"
    p.write_text(json.dumps(_verdict(0, "A")) + "\n" + '{"id": 1, "status": "ok",\n')
    with pytest.raises(BenchmarkDataError, match=r"v\.jsonl, line 2: not valid JSON"):
        score_predictions("pandalm", p, TESTSET)


def test_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown benchmark 'mmlu'"):
        score_predictions("mmlu", tmp_path / "x.jsonl")
    with pytest.raises(ConfigError, match="testset-v1.json"):
        score_predictions("pandalm", PANDALM / "pandalm-7b-testset-v1.json", None)
    with pytest.raises(BenchmarkDataError, match="missing.json: file does not exist"):
        score_predictions("pandalm", tmp_path / "missing.json", TESTSET)


# ---------------------------------------------------------------------------- output


def test_metrics_json_and_markdown() -> None:
    r = score_predictions("pandalm", PANDALM / "gpt-3.5-turbo-testset-v1.json", TESTSET)
    assert json.loads(metrics_json(r)) == r
    md = render_markdown(r)
    assert "| metric | ours | paper Flex-Omni-7B | paper Flex-VL-7B | n | invalid |" in md
    assert "| accuracy | 71.07 % | 76.24 % | 76.84 % | 999 | 0 (0.0 %) |" in md
    assert "| accuracy_strict | 69.77 % |  |  | 999 | 25 (2.5 %) |" in md
    assert "garbage_read_as_tie = 25" in md


def test_markdown_formats_kinds_and_undefined_values() -> None:
    from flexjudge.bench import pearson, ranking_distance

    result = {
        "benchmark": "somos",
        "split": "test",
        "metrics": {
            "utterance_lcc": pearson([1, 2, 4, None], [1, 2, 5, 3], name="utterance_lcc").as_dict(),
            "system_lcc": pearson([3, 3], [1, 2], name="system_lcc").as_dict(),
            "batch": ranking_distance(["ABC"], ["ACB"]).as_dict(),
        },
    }
    md = render_markdown(result)
    assert "| utterance_lcc | 0.9959 | 4 | 1 (25.0 %) |" in md
    assert "| system_lcc | n/a | 2 | 0 (0.0 %) |" in md
    assert "| batch | 0.6667 | 1 | 0 (0.0 %) |" in md
