"""Loader tests on the real benchmark files in tests/fixtures/benchmarks, and on bad input."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexjudge.bench import (
    BenchmarkDataError,
    iter_genai_bench,
    iter_mllm_judge_batch,
    iter_mllm_judge_pair,
    iter_mllm_judge_score,
    iter_somos_mos_list,
    iter_vl_rewardbench,
    load_pandalm_judgments,
    load_pandalm_testset,
    system_correlations,
)
from flexjudge.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "benchmarks"
MLLM = FIX / "mllm_as_a_judge" / "Dataset"


# ---------------------------------------------------------------------------- VL-RewardBench


def test_vl_rewardbench_real_file() -> None:
    items = list(iter_vl_rewardbench(FIX / "vl_rewardbench" / "data.jsonl"))
    assert len(items) == 1250
    # the order bias of the published file: an always-"first" judge would score 99.6 %
    assert sum(it.better == 0 for it in items) == 1245
    assert Counter(it.category for it in items) == {
        "hallucination": 749,
        "reasoning": 318,
        "general": 183,
    }
    # ids are not unique in the published file (18 ids used twice, with different responses)
    assert len({it.id for it in items}) == 1232
    first = items[0]
    assert (
        first.id == "LRVInstruction-000000007746"
        and first.human_ranking == (1, 0)
        and first.better == 1
    )


def test_loaders_stream() -> None:
    it = iter_vl_rewardbench(FIX / "vl_rewardbench" / "data.jsonl")
    assert isinstance(it, Iterator)
    assert next(it).line == 1


def test_vl_rewardbench_bad_ranking(tmp_path: Path) -> None:
    rec = json.loads((FIX / "vl_rewardbench" / "data.jsonl").open().readline())
    rec["human_ranking"] = [0, 0]
    p = tmp_path / "data.jsonl"
    p.write_text(json.dumps(rec) + "\n")
    with pytest.raises(BenchmarkDataError, match=r"data\.jsonl, line 1: human_ranking \[0, 0\]"):
        list(iter_vl_rewardbench(p))


# ---------------------------------------------------------------------------- SOMOS


def test_somos_real_file() -> None:
    utts = list(iter_somos_mos_list(FIX / "somos" / "test_mos_list.csv"))
    assert len(utts) == 3000
    assert len({u.system_id for u in utts}) == 201
    first = utts[0]
    assert (first.utterance_id, first.sentence_id, first.system_id, first.mos) == (
        "LJ002-0181_110.wav",
        "LJ002-0181",
        "110",
        4.0,
    )
    assert all(1.0 <= u.mos <= 5.0 for u in utts)


def test_somos_system_level_on_real_ids() -> None:
    utts = list(iter_somos_mos_list(FIX / "somos" / "test_mos_list.csv"))
    mos = [u.mos for u in utts]
    out = system_correlations(mos, mos, [u.system_id for u in utts])  # an oracle judge
    assert out["system_lcc"].n == 201 and out["system_lcc"].value == pytest.approx(1.0)


@pytest.mark.parametrize(
    "row, cause",
    [
        ("LJ001-0001_301.wav,3.0", "systemId 000-200"),
        ("LJ001-0001_001.wav,6.5", "outside [1, 5]"),
        ("LJ001-0001_001.wav,abc", "not a number"),
    ],
)
def test_somos_bad_rows(tmp_path: Path, row: str, cause: str) -> None:
    p = tmp_path / "test_mos_list.csv"
    p.write_text(f"utteranceId,mean\nLJ001-0001_000.wav,4.5\n{row}\n")
    with pytest.raises(
        BenchmarkDataError, match=rf"line 3: .*{cause.replace('[', '.').replace(']', '.')}"
    ):
        list(iter_somos_mos_list(p))


# ---------------------------------------------------------------------------- MLLM-as-a-Judge


def test_mllm_score_human_int_or_str() -> None:
    items = list(iter_mllm_judge_score(MLLM / "Benchmark" / "score.jsonl"))
    assert [it.human for it in items] == [3, 2, 4]  # the last is "4" in the file
    assert items[0].original_dataset == "coco" and items[0].image_file == "100.jpg"


def test_mllm_pair_and_pair_lite() -> None:
    pairs = list(iter_mllm_judge_pair(MLLM / "Benchmark" / "pair.jsonl"))
    lite = list(
        iter_mllm_judge_pair(MLLM / "Benchmark_Lite" / "pair_lite.jsonl")
    )  # label: human_answer
    assert [p.human for p in pairs] == ["B", "B", "B"]
    assert [p.human for p in lite] == ["B", "C"]
    assert pairs[1].answer2.name == "gpt4" and lite[0].pair_id == 30


def test_mllm_batch_reads_human_answer_and_both_image_styles() -> None:
    items = list(iter_mllm_judge_batch(MLLM / "Benchmark" / "batch.jsonl"))
    assert [it.human for it in items] == ["CDAB", "ACBD"]
    assert len(items[0].answers) == 4
    assert items[0].image_path == "image/200.jpg" and items[0].image_file == "200.jpg"


def _rewrite(src: Path, dst: Path, **changes: object) -> Path:
    lines = [json.loads(x) for x in src.read_text().splitlines() if x.strip()]
    lines[-1].update(changes)
    dst.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return dst


def test_mllm_pair_label_outside_vocabulary(tmp_path: Path) -> None:
    p = _rewrite(MLLM / "Benchmark" / "pair.jsonl", tmp_path / "pair.jsonl", human="D")
    with pytest.raises(BenchmarkDataError, match=r"pair\.jsonl, line 3: human label 'D'"):
        list(iter_mllm_judge_pair(p))


def test_mllm_score_out_of_range(tmp_path: Path) -> None:
    p = _rewrite(MLLM / "Benchmark" / "score.jsonl", tmp_path / "score.jsonl", human="7")
    with pytest.raises(BenchmarkDataError, match="line 3: human score 7 is outside 1-5"):
        list(iter_mllm_judge_score(p))


def test_mllm_batch_bad_ranking(tmp_path: Path) -> None:
    p = _rewrite(MLLM / "Benchmark" / "batch.jsonl", tmp_path / "batch.jsonl", human_answer="AABE")
    with pytest.raises(BenchmarkDataError, match="line 2: ranking 'AABE'"):
        list(iter_mllm_judge_batch(p))


# ---------------------------------------------------------------------------- PandaLM / GenAI-Bench


def test_pandalm_testset_and_judgments() -> None:
    items = load_pandalm_testset(FIX / "pandalm" / "testset-v1.json")
    assert len(items) == 999
    assert Counter(it.label for it in items) == {2: 472, 1: 422, 0: 105}  # majority of 3 annotators
    assert items[157].response1 == "True"  # stored as JSON `true` in the published file
    gpt = load_pandalm_judgments(FIX / "pandalm" / "gpt-3.5-turbo-testset-v1.json")
    assert Counter(j.result for j in gpt) == {"2": 476, "1": 460, "Tie": 38, "garbage": 25}


def test_pandalm_annotation_outside_vocabulary(tmp_path: Path) -> None:
    data = json.loads((FIX / "pandalm" / "testset-v1.json").read_text())[:3]
    data[2]["annotator2"] = 3
    p = tmp_path / "testset-v1.json"
    p.write_text(json.dumps(data))
    with pytest.raises(BenchmarkDataError, match=r"testset-v1\.json, item 2: annotation 3"):
        load_pandalm_testset(p)


def test_genai_human_vote_outside_vocabulary(tmp_path: Path) -> None:
    p = tmp_path / "pairwise.jsonl"
    p.write_text(
        '{"idx": 0, "model_vote": "[[A>B]]", "human_vote": "leftvote"}\n'
        '{"idx": 1, "model_vote": "[[A>B]]", "human_vote": "draw"}\n'
    )
    with pytest.raises(BenchmarkDataError, match="line 2: human_vote 'draw'"):
        list(iter_genai_bench(p))


def test_malformed_json_line_names_line_number(tmp_path: Path) -> None:
    p = tmp_path / "pairwise.jsonl"
    p.write_text(
        '{"idx": 0, "model_vote": null, "human_vote": "tievote"}\n\n{"idx": 1, "model_vote": \n'
    )
    with pytest.raises(BenchmarkDataError, match=r"pairwise\.jsonl, line 3: not valid JSON"):
        list(iter_genai_bench(p))


def test_missing_file_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkDataError, match="nope.jsonl: file does not exist") as info:
        list(iter_genai_bench(tmp_path / "nope.jsonl"))
    assert isinstance(info.value, InputError)
