"""`--json` means exactly one JSON document on stdout, for every command that offers it:
the commands run as real subprocesses, stdout is parsed with json.loads, and the noise
(TRL's per-step dicts, model-loading bars, warnings) is checked to be elsewhere or nowhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = shutil.which("flexjudge")
pytestmark = pytest.mark.skipif(EXE is None, reason="flexjudge is not installed (pip install -e .)")


def flexjudge(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {"HF_HUB_OFFLINE": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def one_document(proc: subprocess.CompletedProcess[str]) -> object:
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)  # the whole of stdout, nothing before or after
    assert "Loading weights" not in proc.stderr  # bars only with --verbose
    return doc


@pytest.mark.parametrize(
    "args",
    [
        ["score", "-i", "q", "-r", "an answer"],
        ["compare", "-i", "q", "--a", "x", "--b", "y", "--votes", "2", "--order", "swap"],
        ["compare", "-i", "q", "--a", "x", "--b", "y", "--labels"],
        ["rank", "-i", "q", "-r", "a", "-r", "b", "-r", "c"],
    ],
    ids=["score", "compare", "compare-labels", "rank"],
)
def test_judging_commands(tiny_vl, args):
    doc = one_document(flexjudge(*args, "--model", str(tiny_vl), "--max-new-tokens", "3", "--json"))
    assert isinstance(doc, dict) and doc["status"] in ("ok", "invalid")


def test_train(tiny_vl, tmp_path):
    from flexjudge.train import write_rows
    from test_train_cli import curated_rows

    rows = tmp_path / "rows.jsonl"
    write_rows(rows, curated_rows())
    proc = flexjudge(
        "train",
        "--model",
        str(tiny_vl),
        "--data",
        str(rows),
        "--output",
        str(tmp_path / "m"),
        "--max-steps",
        "3",
        "--batch-size",
        "2",
        "--json",
        "--log-every",
        "1",
    )
    doc = one_document(proc)
    assert isinstance(doc, dict) and doc["steps"] == 3
    assert "'loss'" not in proc.stdout and "grad_norm" not in proc.stdout
    assert proc.stderr.count("loss ") >= 3  # the loss lines went to stderr
    record = json.loads((tmp_path / "m" / "flexjudge_train.json").read_text())
    assert len([h for h in record["log_history"] if "loss" in h]) == 3  # per-step metrics kept


def test_curate(tmp_path):
    from test_curate import CLI_SELECTION, REFS, TRACES, judgelm_row

    corpus = tmp_path / "judgelm.jsonl"
    corpus.write_text("".join(json.dumps(judgelm_row(q)) + "\n" for q in REFS))
    traces = tmp_path / "traces.jsonl"
    traces.write_text(
        "".join(
            json.dumps({"question_id": q, "seed": seed, "text": t}) + "\n"
            for q, rows in TRACES.items()
            for seed, t in rows
        )
    )
    doc = one_document(
        flexjudge(
            "curate",
            str(corpus),
            "-o",
            str(tmp_path / "rows.jsonl"),
            "--traces",
            str(traces),
            "--json",
            *CLI_SELECTION,
        )
    )
    assert isinstance(doc, dict) and doc["output"]["rows"] > 0


def test_run_writes_nothing_to_stdout(tiny_vl, tmp_path):
    requests = tmp_path / "r.jsonl"
    requests.write_text(
        json.dumps({"task": "score", "instruction": "q", "responses": ["a"]}) + "\n"
    )
    proc = flexjudge(
        "run",
        str(requests),
        "--model",
        str(tiny_vl),
        "-o",
        str(tmp_path / "o.jsonl"),
        "--max-new-tokens",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "1 requests" in proc.stderr


@pytest.mark.slow
def test_demo(tmp_path):
    proc = flexjudge("demo", "--quick", "--out", str(tmp_path / "d"), "--json", timeout=1800)
    doc = one_document(proc)
    assert isinstance(doc, dict) and {"before", "after", "training"} <= doc.keys()
    assert "{'loss'" not in proc.stdout + proc.stderr  # TRL's dicts are gone, not just moved
