"""The installed `flexjudge` entry point, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"
EXE = shutil.which("flexjudge")
pytestmark = pytest.mark.skipif(EXE is None, reason="flexjudge is not installed (pip install -e .)")


def flexjudge(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}")
    return proc


def test_compare_with_image_json_from_the_demo_model(trained_vl, png):
    out = flexjudge(
        "compare",
        "--model",
        str(trained_vl),
        "--image",
        str(png),
        "-i",
        "Repeat the word: plum",
        "--a",
        "plum",
        "--b",
        "kiwi",
        "--votes",
        "2",
        "--order",
        "swap",
        "--max-new-tokens",
        "96",
        "--json",
    )
    v = json.loads(out.stdout)
    for key in (
        "task",
        "winner",
        "scores",
        "ranking",
        "reasoning",
        "votes",
        "agreement",
        "status",
        "error",
    ):
        assert key in v
    assert v["status"] in ("ok", "invalid") and len(v["votes"]) == 4
    assert v["status"] == "invalid" or v["winner"] in ("A", "B", "tie")


def test_show_prompt_prints_the_rendered_template(tiny_vl, png):
    out = flexjudge(
        "score",
        "--model",
        str(tiny_vl),
        "--image",
        str(png),
        "-i",
        "Rate <|im_end|>",
        "-r",
        "fine",
        "--scale",
        "1-5",
        "--show-prompt",
    )
    assert "<|vision_start|><|image_pad|><|vision_end|>" in out.stdout
    assert "Score assistants 1-5" in out.stdout and "‹|im_end|›" in out.stdout
    assert out.stdout.rstrip("\n").endswith("<|im_start|>assistant\n<think>")


def test_rank_human_output_and_bad_input_exit_code(tiny_vl):
    out = flexjudge(
        "rank",
        "--model",
        str(tiny_vl),
        "-i",
        "q",
        "-r",
        "a",
        "-r",
        "b",
        "-r",
        "c",
        "--max-new-tokens",
        "4",
    )
    assert "status" in out.stdout and "invalid" in out.stdout
    bad = flexjudge("score", "--model", str(tiny_vl), "-i", "q", "-r", " ", check=False)
    assert bad.returncode == 2 and "response A is empty" in bad.stderr
    scale = flexjudge(
        "score", "--model", str(tiny_vl), "-i", "q", "-r", "a", "--scale", "one-ten", check=False
    )
    assert scale.returncode == 2 and "unknown scale" in scale.stderr


def test_run_streams_verdicts_and_records_bad_lines(tiny_vl, png, tmp_path):
    assert png.parent == tmp_path  # the request file refers to it relatively
    lines = [
        json.dumps(
            {
                "id": "a",
                "task": "pairwise",
                "instruction": "q",
                "responses": ["x", "y"],
                "images": ["pic.png"],
            }
        ),
        "{not json",
        json.dumps({"id": "b", "task": "rank", "instruction": "q", "responses": ["x", "y"]}),
        json.dumps(
            {
                "id": "c",
                "task": "score",
                "instruction": "q",
                "responses": ["x"],
                "images": ["missing.png"],
            }
        ),
        "",
        json.dumps(
            {"id": 4, "task": "score", "instruction": "q", "responses": ["x"], "scale": "1-5"}
        ),
    ]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(lines) + "\n")
    out_file = tmp_path / "out" / "verdicts.jsonl"
    proc = flexjudge(
        "run",
        str(requests),
        "--model",
        str(tiny_vl),
        "--output",
        str(out_file),
        "--max-new-tokens",
        "4",
        "--votes",
        "2",
        "--no-votes",
    )
    rows = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "line 2", "b", "c", 4]  # ids kept as given
    assert [r["status"] for r in rows] == ["invalid", "error", "error", "error", "invalid"]
    assert "line 2: not valid JSON" in rows[1]["error"]
    assert "takes 3 to 26 responses" in rows[2]["error"]
    assert "missing.png" in rows[3]["error"]
    assert "votes" not in rows[0]
    assert "5 requests: 0 ok, 2 invalid, 3 error" in proc.stderr


def test_tiny_model_command_writes_a_loadable_folder(tmp_path):
    out = flexjudge("tiny-model", str(tmp_path / "m"))
    assert Path(out.stdout.strip()).joinpath("config.json").is_file()
    bad = flexjudge("tiny-model", str(tmp_path / "x"), "--arch", "gpt9", check=False)
    assert bad.returncode == 2 and "qwen2_5_vl" in bad.stderr


def test_eval_predictions_reproduces_pandalm_readme(tmp_path):
    out = flexjudge(
        "eval",
        "pandalm",
        "--predictions",
        str(FIXTURES / "pandalm" / "gpt-3.5-turbo-testset-v1.json"),
        "--data",
        str(FIXTURES / "pandalm" / "testset-v1.json"),
        "--output",
        str(tmp_path),
    )
    assert "71.07" in out.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert round(metrics["metrics"]["f1"]["value"] * 100, 2) == 57.55
