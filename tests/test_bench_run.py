"""`flexjudge eval` judging a benchmark with a real tiny model, scored by the published-format code."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"


def test_eval_pandalm_with_a_model(tiny_vl, tmp_path):
    out = tmp_path / "eval"
    proc = subprocess.run([shutil.which("flexjudge"), "eval", "pandalm", "--data",
                           str(FIXTURES / "pandalm" / "testset-v1.json"), "--model", str(tiny_vl),
                           "--output", str(out), "--limit", "3", "--max-new-tokens", "4"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    verdicts = [json.loads(x) for x in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [v["id"] for v in verdicts] == ["0", "1", "2"]
    metrics = json.loads((out / "metrics.json").read_text())
    acc = metrics["metrics"]["accuracy"]
    assert acc["n"] == 3 and acc["n_invalid"] == 3  # a random model: counted invalid, not ties
    assert metrics["judge"]["engine"] == "transformers"
    assert "| accuracy |" in (out / "report.md").read_text()


def test_eval_unknown_benchmark_is_clear(tiny_vl, tmp_path):
    proc = subprocess.run([shutil.which("flexjudge"), "eval", "mmlu", "--data", str(tmp_path),
                           "--model", str(tiny_vl), "--output", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "unknown benchmark 'mmlu'" in proc.stderr


def test_eval_mllm_judge_pair_with_images(tiny_vl, tmp_path):
    from PIL import Image

    from flexjudge.bench.loaders import iter_mllm_judge_pair

    data = FIXTURES / "mllm_as_a_judge" / "Dataset" / "Benchmark" / "pair.jsonl"
    items = list(iter_mllm_judge_pair(data))
    images = tmp_path / "image"
    images.mkdir()

    def run(out):
        proc = subprocess.run([shutil.which("flexjudge"), "eval", "mllm_judge", "--split", "pair", "--data", str(data),
                               "--images", str(images), "--model", str(tiny_vl), "--output", str(out),
                               "--max-new-tokens", "4", "--votes", "1"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        verdicts = [json.loads(x) for x in (out / "verdicts.jsonl").read_text().splitlines()]
        return verdicts, json.loads((out / "metrics.json").read_text())

    verdicts, metrics = run(tmp_path / "missing")  # no images yet: error records, counted
    assert len(verdicts) == len(items) and all(v["status"] == "error" for v in verdicts)
    assert items[0].image_file in verdicts[0]["error"] and metrics["counts"]["error"] == len(items)
    assert metrics["counts"]["missing_media"] == len(items)
    for it in items:
        Image.new("RGB", (48, 40), (120, 30, 30)).save(images / it.image_file)
    verdicts, metrics = run(tmp_path / "eval")
    assert [v["status"] for v in verdicts] == ["invalid"] * len(items)  # a random model
    assert metrics["protocol"]["samples"] == 1 and metrics["protocol"]["temperature"] == 0.4
    macro = metrics["metrics"]["pair_with_tie"]
    assert macro["value"] == 0.0 and macro["n_invalid"] == len(items)  # never read as ties
    assert "pair_with_tie/coco" in metrics["metrics"] and "pair_without_tie" in metrics["metrics"]
