"""Published judge-output formats: the registry, MJ-Bench's closed-source results against its
leaderboard (real files), exact metrics on small hand-made files in each format, and the
layering of the benchmark package."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from flexjudge.bench import (
    BENCHMARKS,
    BenchmarkDataError,
    prediction_formats,
    read_closed_results,
    score_predictions,
)
from flexjudge.bench.formats import VERDICTS, benchmarks_with_formats, recognise
from flexjudge.errors import ConfigError, InputError

FIX = Path(__file__).parent / "fixtures" / "benchmarks"
MJ = FIX / "mj_bench" / "closesource_result" / "alignment"
SUBSETS = ("object", "attribute", "action", "spatial", "count")
BENCH_SRC = Path(__file__).parents[1] / "src" / "flexjudge" / "bench"

# MJ-Bench's leaderboard (MJ-Bench/MJ-Bench.github.io static/data/alignment.json, benchmark.json;
# the Avg cells are also Flex-Judge's Table 2, right): alignment, numerical scale [0, 10], %
GPT4O_PUBLISHED = {
    "object": 62.2,
    "attribute": 57.2,
    "action": 64.1,
    "spatial": 63.2,
    "count": 67.9,
}
COUNT_PUBLISHED = {"gpt-4o": 67.9, "gpt-4-turbo": 73.2, "gemini-1.5": 67.8, "claude-3-opus": 55.4}
COUNT_CORRECT = {"gpt-4o": 38, "gpt-4-turbo": 41, "gemini-1.5": 38, "claude-3-opus": 31}  # of 56


def _value(r: dict, name: str) -> float:
    return r["metrics"][name]["value"]


def _gpt4o_files() -> list[Path]:
    return [MJ / s / "gpt-4o_alignment_number10.json" for s in SUBSETS]


# ---------------------------------------------------------------------------- MJ-Bench, real


def test_mj_bench_gpt4o_alignment_reproduces_the_leaderboard(tmp_path: Path) -> None:
    folder = tmp_path / "alignment"  # MJ-Bench's layout, one judge: <subset>/<judge>_...json
    for f in _gpt4o_files():
        (folder / f.parent.name).mkdir(parents=True)
        shutil.copy(f, folder / f.parent.name / f.name)
    r = score_predictions("mj_bench", folder)
    assert (r["split"], r["judge"], r["predictions_format"]) == (
        "alignment",
        "gpt-4o",
        "mj_bench_results",
    )
    assert r["subsets"] == {
        "object": 251,
        "attribute": 229,
        "action": 117,
        "spatial": 76,
        "count": 56,
    }
    for subset, published in GPT4O_PUBLISHED.items():
        assert round(100 * _value(r, f"accuracy_with_tie/{subset}"), 1) == published
    # micro over the 729 records (448 right, 12 ties), not the mean of the subsets (62.9)
    assert _value(r, "accuracy_with_tie") == pytest.approx(448 / 729)
    assert _value(r, "accuracy_without_tie") == pytest.approx(448 / 717)
    assert round(100 * _value(r, "accuracy_with_tie"), 1) == 61.5  # published Avg w/ tie
    assert round(100 * _value(r, "accuracy_without_tie"), 1) == 62.5  # published Avg w/o tie
    assert r["counts"] == {"invalid": 0, "predicted_ties": 12, "pred_differs_from_vlm_pred": 1}
    assert r["paper"]["accuracy_with_tie"]["GPT-4o"] == pytest.approx(0.615)
    # the same files named one by one score the same
    assert score_predictions("mj_bench", _gpt4o_files())["metrics"] == r["metrics"]


@pytest.mark.parametrize("judge", sorted(COUNT_PUBLISHED))
def test_mj_bench_count_subset_of_four_judges(judge: str) -> None:
    r = score_predictions("mj_bench", MJ / "count" / f"{judge}_alignment_number10.json")
    assert _value(r, "accuracy_with_tie") == pytest.approx(COUNT_CORRECT[judge] / 56)
    assert "accuracy_with_tie/count" not in r["metrics"]  # one subset: no breakdown
    # gemini-1.5: 38/56 = 67.86 %, published as 67.8 (truncated; GPT-4o's 38/56 is 67.9)
    assert abs(100 * _value(r, "accuracy_with_tie") - COUNT_PUBLISHED[judge]) < 0.1


def test_mj_bench_folder_of_several_judges_is_refused() -> None:
    with pytest.raises(BenchmarkDataError, match="several judges .claude-3-opus, gemini-1.5"):
        score_predictions("mj_bench", MJ / "count")


# ---------------------------------------------------------------------------- MJ-Bench, hand-made


def _mj_file(path: Path, records: list[tuple[object, object]], **extra: object) -> Path:
    rows = [
        {"id": f"r{i}", "caption": "c", "label": label, "vlm_pred": vlm, "pred": str(vlm), **extra}
        for i, (label, vlm) in enumerate(records)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=4))
    return path


def _mj_folder(tmp_path: Path) -> Path:
    root = tmp_path / "alignment"
    # object: right, wrong, tie, invalid (2 is no prediction); count: right, tie
    _mj_file(root / "object" / "j_alignment_number10.json", [(0, 0), (1, 0), (0, "tie"), (1, 2)])
    _mj_file(root / "count" / "j_alignment_number10.json", [(1, 1), (0, "tie")])
    return root


def test_mj_bench_hand_made_exact(tmp_path: Path) -> None:
    r = score_predictions("mj_bench", _mj_folder(tmp_path))
    m = {k: (v["value"], v["n"], v["n_invalid"]) for k, v in r["metrics"].items()}
    assert m["accuracy_with_tie"] == (pytest.approx(2 / 6), 6, 1)
    assert m["accuracy_without_tie"] == (pytest.approx(2 / 4), 4, 1)  # invalid never a tie
    assert m["accuracy_with_tie/object"] == (pytest.approx(1 / 4), 4, 1)
    assert m["accuracy_without_tie/object"] == (pytest.approx(1 / 3), 3, 1)
    assert m["accuracy_with_tie/count"] == (pytest.approx(1 / 2), 2, 0)
    assert m["accuracy_without_tie/count"] == (pytest.approx(1.0), 1, 0)
    assert list(r["subsets"]) == ["object", "count"]  # MJ-Bench's order, not the folder's
    assert r["counts"]["predicted_ties"] == 2 and r["counts"]["invalid"] == 1
    assert "sample-weighted" in r["metrics"]["accuracy_with_tie"]["note"]


def test_mj_bench_bad_files(tmp_path: Path) -> None:
    bad = _mj_file(tmp_path / "a" / "j_alignment_number10.json", [(0, 0), (2, 0)])
    with pytest.raises(BenchmarkDataError, match=r"item 'r1': label 2 is not 0"):
        score_predictions("mj_bench", bad)
    good = _mj_file(tmp_path / "b" / "j_alignment_number10.json", [(0, 0)])
    with pytest.raises(ConfigError, match="--split safety but the files are MJ-Bench alignment"):
        score_predictions("mj_bench", good, split="safety")
    with pytest.raises(ConfigError, match="--data is not used"):
        score_predictions("mj_bench", good, data=good)
    nameless = _mj_file(tmp_path / "c" / "results.json", [(0, 0)])
    with pytest.raises(ConfigError, match="name the perspective"):
        score_predictions("mj_bench", nameless)
    assert score_predictions("mj_bench", nameless, split="quality")["split"] == "quality"
    no_vlm = tmp_path / "d" / "j_alignment_x.json"
    no_vlm.parent.mkdir()
    no_vlm.write_text(json.dumps([{"id": 1, "label": 0, "vlm_pred": 0}, {"id": 2, "label": 0}]))
    with pytest.raises(BenchmarkDataError, match="item 2: missing field 'vlm_pred'"):
        read_closed_results([no_vlm])
    twice = _mj_file(tmp_path / "e" / "j_alignment_x.json", [(0, 0), (0, 1)])
    twice.write_text(twice.read_text().replace('"r1"', '"r0"'))
    with pytest.raises(BenchmarkDataError, match="id 'r0' repeats in subset"):
        score_predictions("mj_bench", twice)


# ---------------------------------------------------------------------------- PandaLM, GenAI-Bench


def test_pandalm_hand_made_exact(tmp_path: Path) -> None:
    rows = [  # labels (majority of annotators): 1, 2, 0
        {"idx": i, "instruction": "q", "input": "", "response1": "a", "response2": "b",
         "annotator1": v, "annotator2": v, "annotator3": 0}
        for i, v in enumerate((1, 2, 0))
    ]  # fmt: skip
    (tmp_path / "testset-v1.json").write_text(json.dumps(rows))
    results = [
        {"idx": 2, "j_result": "Tie"},
        {"idx": 0, "j_result": 1},
        {"idx": 1, "j_result": "garbage"},
    ]
    (tmp_path / "j-testset-v1.json").write_text(json.dumps(results))
    r = score_predictions("pandalm", tmp_path / "j-testset-v1.json", tmp_path / "testset-v1.json")
    # right on 0 (1) and 2 (tie); 'garbage' is read as a tie (PandaLM's rule): wrong on 1 (2)
    assert _value(r, "accuracy") == pytest.approx(2 / 3)
    assert _value(r, "accuracy_strict") == pytest.approx(2 / 3)
    assert r["metrics"]["accuracy_strict"]["n_invalid"] == 1
    assert _value(r, "precision") == pytest.approx((1 + 0 + 0.5) / 3)  # tie predicted twice
    assert r["counts"] == {"garbage_read_as_tie": 1, "invalid": 0}
    with pytest.raises(ConfigError, match="unknown split 'dev'"):
        score_predictions(
            "pandalm", tmp_path / "j-testset-v1.json", tmp_path / "testset-v1.json", split="dev"
        )


def test_genai_hand_made_exact(tmp_path: Path) -> None:
    rows = [
        {"idx": 0, "model_vote": "[[A>B]]", "human_vote": "leftvote"},
        {"idx": 1, "model_vote": "[[A=B]]", "human_vote": "tievote"},
        {"idx": 2, "model_vote": None, "human_vote": "rightvote"},
        {"idx": 3, "model_vote": "A is better", "human_vote": "bothbad_vote"},
    ]
    path = tmp_path / "video_generation" / "judge" / "pairwise.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = score_predictions("genai_bench", path)
    assert r["split"] == "video_generation" and _value(r, "accuracy") == pytest.approx(2 / 4)
    assert r["counts"] == {"invalid": 2, "null_votes": 1, "unmapped_votes": 1}
    elsewhere = tmp_path / "pairwise.jsonl"
    shutil.copy(path, elsewhere)
    with pytest.raises(BenchmarkDataError, match="no GenAI-Bench task in the path"):
        score_predictions("genai_bench", elsewhere)
    assert (
        score_predictions("genai_bench", elsewhere, split="image_edition")["split"]
        == "image_edition"
    )
    with pytest.raises(ConfigError, match="unknown split 'images'"):
        score_predictions("genai_bench", elsewhere, split="images")


# ---------------------------------------------------------------------------- the registry


def test_registry_lists_and_recognises_each_format(tmp_path: Path) -> None:
    assert benchmarks_with_formats() == BENCHMARKS
    names = {f.name: f for f in prediction_formats()}
    assert set(names) == {"pandalm_results", "genai_bench_results", "mj_bench_results"}
    examples = {
        "pandalm": FIX / "pandalm" / "pandalm-7b-testset-v1.json",
        "genai_bench": FIX
        / "genai_bench"
        / "results"
        / "image_edition"
        / "random"
        / "pairwise.jsonl",
        "mj_bench": MJ / "count" / "gpt-4o_alignment_number10.json",
    }
    for bench, path in examples.items():
        fmt, name = recognise(bench, path)
        assert fmt is not None and fmt.benchmark == bench and name == fmt.name
    verdicts = tmp_path / "v.jsonl"
    verdicts.write_text('{"id": 0, "status": "ok", "winner": "A", "label": null, "scores": null}\n')
    assert recognise("mj_bench", verdicts) == (None, VERDICTS)
    with pytest.raises(BenchmarkDataError, match="no pandalm predictions format; expected one of"):
        recognise("pandalm", examples["mj_bench"])
    with pytest.raises(ConfigError, match="vl_rewardbench: only flexjudge verdict files"):
        recognise("vl_rewardbench", examples["pandalm"])
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(BenchmarkDataError, match="empty.json: file is empty"):
        score_predictions("pandalm", empty, FIX / "pandalm" / "testset-v1.json")


def test_benchmark_data_error_is_a_structured_input_error() -> None:
    err = BenchmarkDataError("a/b.json", "bad label", line=3, item="x")
    assert isinstance(err, InputError)
    assert (err.path, err.line, err.item, err.cause) == ("a/b.json", 3, "x", "bad label")
    assert str(err) == "a/b.json, line 3, item 'x': bad label"


@pytest.mark.slow
def test_cli_formats_and_a_prediction_folder(tmp_path: Path) -> None:
    exe = shutil.which("flexjudge")
    listing = subprocess.run([exe, "eval", "formats"], capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0
    for name in (
        "flexjudge_verdicts",
        "pandalm_results",
        "genai_bench_results",
        "mj_bench_results",
    ):
        assert f"| {name} |" in listing.stdout
    out = tmp_path / "scored"
    proc = subprocess.run(
        [exe, "eval", "mj_bench", "--predictions", str(_mj_folder(tmp_path)), "--output", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "| accuracy_with_tie/object | 25.00 % |" in proc.stdout
    assert json.loads((out / "metrics.json").read_text())["n_items"] == 6
    bogus = subprocess.run(
        [exe, "eval", "mj_bench", "--predictions", str(tmp_path / "alignment"), "--split", "colour"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bogus.returncode == 2 and "error: --split colour but the files" in bogus.stderr


# ---------------------------------------------------------------------------- the layers


_LAYER = {  # a module may import modules of its own or a lower layer only
    **dict.fromkeys(
        ["errors", "metrics", "spec", "records", "paper", "verdicts", "bias", "report"], 0
    ),
    **dict.fromkeys(["audit", "gold"], 1),  # audit reads bias; harness reads both
    "suites": 1,
    "harness": 2,
    "formats": 3,
    "scoring": 4,
    "__init__": 5,
}


def _bench_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {n.split(".")[2] for n in names if n.startswith("flexjudge.bench.")}
    return found


def test_arrows_run_one_way_and_modules_stay_small() -> None:
    for path in sorted(BENCH_SRC.rglob("*.py")):
        package = path.parent.name
        layer_name = package if package in ("suites", "audit") else path.stem
        layer = _LAYER[layer_name]
        for imported in _bench_imports(path):
            assert _LAYER[imported] <= layer, f"{path.name} imports flexjudge.bench.{imported}"
        lines = path.read_text().splitlines()
        assert len(lines) <= 600, f"{path} has {len(lines)} lines"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or 0) - node.lineno + 1
                assert length <= 80, f"{path.name}:{node.name} has {length} lines"
