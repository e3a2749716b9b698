"""`flexjudge eval` judging a benchmark with a real tiny model, scored by the published-format code."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"


def test_eval_pandalm_with_a_model(tiny_vl, tmp_path):
    out = tmp_path / "eval"
    proc = subprocess.run(
        [
            shutil.which("flexjudge"),
            "eval",
            "pandalm",
            "--data",
            str(FIXTURES / "pandalm" / "testset-v1.json"),
            "--model",
            str(tiny_vl),
            "--output",
            str(out),
            "--limit",
            "3",
            "--max-new-tokens",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    verdicts = [json.loads(x) for x in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [v["id"] for v in verdicts] == ["0", "1", "2"]
    metrics = json.loads((out / "metrics.json").read_text())
    acc = metrics["metrics"]["accuracy"]
    assert acc["n"] == 3 and acc["n_invalid"] == 3  # a random model: counted invalid, not ties
    assert metrics["judge"]["engine"] == "transformers"
    assert "| accuracy |" in (out / "report.md").read_text()


def test_eval_unknown_benchmark_is_clear(tiny_vl, tmp_path):
    proc = subprocess.run(
        [
            shutil.which("flexjudge"),
            "eval",
            "mmlu",
            "--data",
            str(tmp_path),
            "--model",
            str(tiny_vl),
            "--output",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "unknown benchmark 'mmlu'" in proc.stderr


def test_eval_mllm_judge_pair_with_images(tiny_vl, tmp_path):
    from PIL import Image

    from flexjudge.bench import iter_mllm_judge_pair

    data = FIXTURES / "mllm_as_a_judge" / "Dataset" / "Benchmark" / "pair.jsonl"
    items = list(iter_mllm_judge_pair(data))
    images = tmp_path / "image"
    images.mkdir()

    def run(out):
        proc = subprocess.run(
            [
                shutil.which("flexjudge"),
                "eval",
                "mllm_judge",
                "--split",
                "pair",
                "--data",
                str(data),
                "--images",
                str(images),
                "--model",
                str(tiny_vl),
                "--output",
                str(out),
                "--max-new-tokens",
                "4",
                "--votes",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
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


def test_eval_mllm_judge_score_and_batch_with_images(tiny_vl, tmp_path):
    from PIL import Image

    from flexjudge.bench import iter_mllm_judge_batch, iter_mllm_judge_score

    base = FIXTURES / "mllm_as_a_judge" / "Dataset" / "Benchmark"
    images = tmp_path / "image"
    for it in [
        *iter_mllm_judge_score(base / "score.jsonl"),
        *iter_mllm_judge_batch(base / "batch.jsonl"),
    ]:
        (images / it.image_file).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 32), (20, 90, 160)).save(images / it.image_file)
    for split, headline in (("score", "pearson"), ("batch", "batch_distance")):
        out = tmp_path / split
        proc = subprocess.run(
            [
                shutil.which("flexjudge"),
                "eval",
                "mllm_judge",
                "--split",
                split,
                "--data",
                str(base / f"{split}.jsonl"),
                "--images",
                str(images),
                "--model",
                str(tiny_vl),
                "--output",
                str(out),
                "--max-new-tokens",
                "4",
                "--samples",
                "2",
                "--resize",
                "28",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        metrics = json.loads((out / "metrics.json").read_text())
        n = sum(1 for _ in (base / f"{split}.jsonl").open())
        assert metrics["runs"] == 2 and metrics["protocol"]["image_resize"] == "28x28 (squashed)"
        assert metrics["metrics"][headline]["n_invalid"] == 2 * n  # random model: both runs invalid
        assert f"{headline}@runs_worst" in metrics["metrics"]
        if split == "batch":
            assert (
                metrics["metrics"][headline]["value"] == 1.0
            )  # invalid rankings: the worst distance
        else:
            assert metrics["metrics"][headline]["value"] is None  # no valid score: undefined, not 0


def test_eval_judgelm_with_a_model(tiny_vl, tmp_path):
    qs = [
        {"question_id": i, "question_body": f"q{i}", "answer1_body": "yes", "answer2_body": "no"}
        for i in range(2)
    ]
    (tmp_path / "judgelm_val_5k.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    (tmp_path / "judgelm_val_5k_gpt4.jsonl").write_text(
        "".join(json.dumps({"question_id": i, "score": [9, 2]}) + "\n" for i in range(2))
    )
    proc = subprocess.run(
        [
            shutil.which("flexjudge"),
            "eval",
            "judgelm",
            "--data",
            str(tmp_path / "judgelm_val_5k.jsonl"),
            "--model",
            str(tiny_vl),
            "--output",
            str(tmp_path / "o"),
            "--max-new-tokens",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())["metrics"]
    assert (
        m["accuracy"]["n"] == 2
        and m["accuracy"]["n_invalid"] == 2
        and m["accuracy"]["value"] == 0.0
    )


def test_eval_shard_option_writes_its_own_folder(tiny_vl, tmp_path):
    proc = subprocess.run(
        [
            shutil.which("flexjudge"),
            "eval",
            "pandalm",
            "--data",
            str(FIXTURES / "pandalm" / "testset-v1.json"),
            "--model",
            str(tiny_vl),
            "--output",
            str(tmp_path / "o"),
            "--limit",
            "5",
            "--shard",
            "1/2",
            "--max-new-tokens",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    part = tmp_path / "o" / "shard-1-of-2"
    ids = [json.loads(x)["id"] for x in (part / "verdicts.jsonl").read_text().splitlines()]
    assert (
        ids == ["1", "3"] and json.loads((part / "metrics.json").read_text())["shard"]["index"] == 1
    )


def test_killed_eval_resumes_without_judging_twice(tiny_vl, tmp_path):
    import os
    import signal
    import time

    out = tmp_path / "o"
    cmd = [
        shutil.which("flexjudge"),
        "eval",
        "pandalm",
        "--data",
        str(FIXTURES / "pandalm" / "testset-v1.json"),
        "--model",
        str(tiny_vl),
        "--output",
        str(out),
        "--limit",
        "40",
        "--batch-size",
        "1",
        "--max-new-tokens",
        "6",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    verdicts = out / "verdicts.jsonl"
    partial = out / "verdicts.jsonl.partial"  # renamed over verdicts.jsonl when the run completes
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.is_file() and len(partial.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(partial.read_text().splitlines())
    assert 2 <= done_before < 40 and not verdicts.exists()  # a killed run leaves no output
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert [json.loads(x)["id"] for x in verdicts.read_text().splitlines()] == [
        str(i) for i in range(40)
    ]
    judged = sum(json.loads(x)["status"] != "error" for x in verdicts.read_text().splitlines())
    store = metrics["store"]  # error verdicts (bad items) never reach the engine
    assert store["from_store"] >= 2 and store["from_store"] + store["generated"] == judged


def test_eval_protocol_options_on_the_command_line(tiny_vl, tmp_path):
    exe = shutil.which("flexjudge")
    data = str(FIXTURES / "pandalm" / "testset-v1.json")
    clash = subprocess.run(
        [
            exe,
            "eval",
            "pandalm",
            "--data",
            data,
            "--output",
            str(tmp_path / "x"),
            "--samples",
            "2",
            "--votes",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clash.returncode == 2 and "--samples 2 and --votes 3 disagree" in clash.stderr
    proc = subprocess.run(
        [
            exe,
            "eval",
            "pandalm",
            "--data",
            data,
            "--model",
            str(tiny_vl),
            "--limit",
            "2",
            "--output",
            str(tmp_path / "o"),
            "--no-tie",
            "--order",
            "swap",
            "--votes",
            "2",
            "--aggregate",
            "worst",
            "--temperature",
            "0.9",
            "--max-new-tokens",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    p = m["protocol"]
    assert (p["tie"], p["order"], p["samples"], p["aggregate"], p["temperature"]) == (
        False,
        "swap",
        2,
        "worst",
        0.9,
    )
    assert p["top_p"] == 0.95 and m["runs"] == 4  # 2 samples x 2 orders; top-p stays the protocol's
    assert m["metrics"]["accuracy"]["note"].startswith("worst over 4 runs")
    request = json.loads((tmp_path / "o" / "verdicts.jsonl").read_text().splitlines()[0])
    assert request["n_votes"] == 4
