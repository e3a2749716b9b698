"""`flexjudge sample`, `best-of-n` and `pairs` as real subprocesses on a real tiny checkpoint:
SIGKILLed runs resume to the output of a clean run without generating anything twice, and a
re-run judges nothing. Every run uses ``--batch-size 1``: a request's completions then do not
depend on its batch neighbours, so clean and resumed runs must agree byte for byte."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from flexjudge.cli.main import cli

EXE = shutil.which("flexjudge")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
N_PROMPTS = 14


def keys_in(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])
    except sqlite3.Error:
        return 0


def summary(stdout: str) -> dict:
    return json.loads(stdout)


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("prompts")
    Image.new("RGB", (56, 56), (200, 30, 30)).save(folder / "red.png")
    rows = []
    for i in range(N_PROMPTS):
        row: dict = {"id": f"q{i}", "prompt": ["Name a fruit.", "Name a colour."][i % 2]}
        if i % 5 == 0:
            row["images"] = ["red.png"]  # relative to the prompt file
        rows.append(row)
    path = folder / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def sample_cmd(prompts: Path, model: Path, out: Path) -> list[str]:
    return [EXE, "sample", str(prompts), "--model", str(model), "-o", str(out), "--n", "3",
            "-t", "0.8", "-t", "1.2", "--max-new-tokens", "4", "--batch-size", "1", "--json",
            "--device", "cpu"]  # fmt: skip


def kill_when(cmd: list[str], store: Path, target: int) -> bool:
    """Start ``cmd`` in its own session and SIGKILL it once ``store`` holds ``target`` keys;
    whether it was killed before finishing."""
    proc = subprocess.Popen(
        cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while proc.poll() is None and keys_in(store) < target and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.uniform(0, 0.05))
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)  # the session this test started, by its id
    proc.wait(timeout=30)
    return killed


@pytest.mark.slow
def test_sample_resumes_after_sigkill_to_the_clean_output(prompts, tiny_vl, tmp_path):
    clean = tmp_path / "clean.jsonl"
    done = subprocess.run(sample_cmd(prompts, tiny_vl, clean), env=ENV, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    total = N_PROMPTS * 2  # one request per prompt and temperature
    assert summary(done.stdout)["generated"] == total

    out, store = tmp_path / "out.jsonl", tmp_path / "out.sqlite"
    kills = [kill_when(sample_cmd(prompts, tiny_vl, out), store, t) for t in (4, 11)]
    before = keys_in(store)
    assert kills == [True, True] and 0 < before < total and not out.exists()
    again = subprocess.run(sample_cmd(prompts, tiny_vl, out), env=ENV, capture_output=True,
                           text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    s = summary(again.stdout)
    assert (s["from_store"], s["generated"]) == (before, total - before)  # nothing twice
    assert out.read_text() == clean.read_text()

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == N_PROMPTS * 3
    first = rows[0]
    assert first["images"] == [str(prompts.parent.resolve() / "red.png")]
    assert [r["temperature"] for r in rows[:3]] == [0.8, 0.8, 1.2]  # round robin: 2 + 1
    assert [r["sample"] for r in rows[:3]] == [0, 1, 0]
    assert all(r["n_tokens"] <= 4 for r in rows)  # max_new_tokens is always set
    # repeated prompts get their own seeds: q1, q3... all ask "Name a colour." (q5 also shows
    # an image, so it is another prompt, the first of its kind)
    seeds = {r["prompt_id"]: r["seed"] for r in rows if r["temperature"] == 0.8}
    plain = [f"q{i}" for i in range(1, N_PROMPTS, 2) if i % 5]
    assert [seeds[q] for q in plain] == list(range(len(plain))) and seeds["q5"] == 0
    assert {r["seed"] for r in rows if r["prompt_id"] == "q1"} == {0, 1_000_003}


@pytest.fixture(scope="module")
def candidates(prompts, tiny_vl, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cands") / "cands.jsonl"
    result = CliRunner().invoke(
        cli,
        ["sample", str(prompts), "--model", str(tiny_vl), "-o", str(out), "--n", "2",
         "-t", "0.8", "-t", "1.2", "--max-new-tokens", "4", "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def pairs_cmd(cands: Path, judge: Path, out: Path) -> list[str]:
    return [EXE, "pairs", str(cands), "--model", str(judge), "-o", str(out), "--policy",
            "expected-winner", "--max-new-tokens", "6", "--batch-size", "1", "--json",
            "--device", "cpu"]  # fmt: skip


@pytest.mark.slow
def test_pairs_resume_after_sigkill_and_a_rerun_judges_nothing(candidates, tiny_vl, tmp_path):
    clean = tmp_path / "clean.jsonl"
    done = subprocess.run(pairs_cmd(candidates, tiny_vl, clean), env=ENV, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    total = N_PROMPTS * 2  # one pair per prompt, two orders
    s = summary(done.stdout)
    assert s["pairs_judged"] == N_PROMPTS and s["generated"] == total
    # a random tiny judge never parses: every pair is dropped as invalid, none as a tie
    assert s["kept"] == 0 and s["dropped"]["invalid"] == N_PROMPTS and s["dropped"]["tie"] == 0

    out, store = tmp_path / "out.jsonl", tmp_path / "out.sqlite"
    assert kill_when(pairs_cmd(candidates, tiny_vl, out), store, 9)
    before = keys_in(store)
    assert 0 < before < total and not out.exists()
    again = subprocess.run(pairs_cmd(candidates, tiny_vl, out), env=ENV, capture_output=True,
                           text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    s = summary(again.stdout)
    assert (s["from_store"], s["generated"]) == (before, total - before)
    assert out.read_text() == clean.read_text()
    stats = json.loads(out.with_name("out.stats.json").read_text())
    clean_stats = json.loads(clean.with_name("clean.stats.json").read_text())
    assert stats["dropped"] == clean_stats["dropped"]
    rerun = subprocess.run(pairs_cmd(candidates, tiny_vl, out), env=ENV, capture_output=True,
                           text=True, timeout=600)  # fmt: skip
    assert summary(rerun.stdout)["generated"] == 0  # a re-run judges nothing


def test_best_of_n_eval_from_the_cli(candidates, tiny_vl, tmp_path):
    gold = tmp_path / "gold.jsonl"
    rows = [json.loads(line) for line in candidates.read_text().splitlines()]
    gold.write_text("".join(json.dumps({"candidate_id": r["candidate_id"],
                                        "correct": r["index"] == 0}) + "\n" for r in rows))  # fmt: skip
    out = tmp_path / "sel.jsonl"
    args = ["best-of-n", str(candidates), "--model", str(tiny_vl), "-o", str(out), "--eval",
            "--gold", str(gold), "--n", "2", "--trials", "3", "--max-new-tokens", "6", "--json",
            "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    assert s["prompts"] == N_PROMPTS and s["selected"] == 0  # a random judge never parses
    assert s["no_valid_candidate"] == N_PROMPTS and s["valid_verdict_rate"] == 0.0
    row = s["eval"]["rows"][0]
    assert row["n"] == 2 and row["judge"]["mean"] == 0.0 and row["random"]["mean"] == 0.5
    assert row["oracle"]["mean"] == 1.0 and row["no_selection"]["mean"] == N_PROMPTS
    assert json.loads(out.with_name("sel.eval.json").read_text())["rows"][0]["n"] == 2
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["status"] == "no_valid_candidate" and lines[0]["selected"] is None


def test_bad_usage_is_one_error_line(candidates, tiny_vl, tmp_path):
    runner = CliRunner()
    bad = [
        (["pairs", str(candidates), "-m", str(tiny_vl), "-o", str(candidates)], "candidates"),
        (["pairs", str(candidates), "-m", "x", "-o", str(tmp_path / "p.jsonl"), "--chosen-if",
          "temperature=0.8"], "expected-winner"),
        (["pairs", str(candidates), "-m", "x", "-o", str(tmp_path / "p.jsonl"), "--order",
          "fixed"], "both orders"),
        (["best-of-n", str(candidates), "-m", "x", "-o", str(tmp_path / "s.jsonl"), "--n", "2"],
         "--eval"),
        (["sample", str(candidates), "-m", "x", "-o", str(tmp_path / "c.jsonl"), "--n", "1",
          "-t", "0.8", "-t", "1.2"], "temperature"),
    ]  # fmt: skip
    for args, words in bad:
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and result.output.count("error:") == 1
