"""Resumable and sharded `flexjudge run` on a real tiny checkpoint: SIGKILLed runs resume to the
output of a clean run, shards merge to the output of an unsharded run, bad merges fail clearly.

Every run uses ``--batch-size 1``: a request's completions then do not depend on which other
requests share its batch, so clean, resumed and sharded runs must agree byte for byte."""

from __future__ import annotations

import json
import os
import random
import re
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
N_LINES, N_KEYS, VOTES = 12, 11, 2  # one line has a missing image: an error record, no key
NO_SHARD_ENV = {
    "RANK": None,
    "WORLD_SIZE": None,
    "SLURM_ARRAY_TASK_ID": None,
    "SLURM_ARRAY_TASK_COUNT": None,
    "SLURM_ARRAY_TASK_MIN": None,
}
SUMMARY = re.compile(r"(\d+) engine requests from the store, (\d+) generated")


@pytest.fixture(scope="module")
def requests_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("requests")
    Image.new("RGB", (48, 32), (20, 160, 90)).save(folder / "pic.png")
    lines = []
    for i in range(N_LINES):
        row: dict = {"id": f"r{i}", "instruction": f"Question {i}?"}
        row.update(
            {"task": "score", "responses": [f"answer {i}"]}
            if i % 2 == 0
            else {"task": "pairwise", "responses": [f"left {i}", f"right {i}"]}
        )
        if i % 4 == 1:
            row["images"] = ["pic.png"]
        if i == 6:
            row["images"] = ["missing.png"]
        lines.append(json.dumps(row))
    lines.insert(5, "")  # blank lines are skipped and do not count as positions
    path = folder / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_args(requests: Path, model: Path, output: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(requests),
        "--model",
        str(model),
        "--output",
        str(output),
        "--max-new-tokens",
        "4",
        "--votes",
        str(VOTES),
        "--batch-size",
        "1",
        *extra,
    ]


def invoke(*args: str, env: dict | None = None, code: int = 0):
    result = CliRunner().invoke(cli, list(args), env={**NO_SHARD_ENV, **(env or {})})
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def clean(requests_file: Path, tiny_vl: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted, unsharded run (in process, through the same command)."""
    out = tmp_path_factory.mktemp("clean") / "out.jsonl"
    result = invoke(*run_args(requests_file, tiny_vl, out))
    assert SUMMARY.search(result.output).groups() == ("0", str(N_KEYS))  # type: ignore[union-attr]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [
        f"r{i}" for i in range(N_LINES)
    ]
    return out


def stored(store: Path) -> tuple[int, list[int]]:
    """Keys in a store and the vote count of each (read directly, as another process)."""
    if not store.exists():
        return 0, []
    con = sqlite3.connect(store)
    try:
        keys = con.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        votes = [r[0] for r in con.execute("SELECT COUNT(*) FROM completions GROUP BY key")]
    except sqlite3.OperationalError:  # killed before the schema was written
        return 0, []
    finally:
        con.close()
    return keys, votes


def contents(store: Path) -> list[tuple]:
    con = sqlite3.connect(store)
    try:
        return con.execute(
            "SELECT key, vote, text, finish_reason, n_tokens FROM completions ORDER BY key, vote"
        ).fetchall()
    finally:
        con.close()


def lines_in(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.skipif(EXE is None, reason="flexjudge is not installed (pip install -e .)")
def test_sigkilled_runs_resume_to_the_clean_output(requests_file, tiny_vl, clean, tmp_path):
    rng = random.Random(20250518)
    out, store = tmp_path / "out.jsonl", tmp_path / "out.sqlite"
    cmd = [EXE, *run_args(requests_file, tiny_vl, out)]
    env = {k: v for k, v in os.environ.items() if k not in NO_SHARD_ENV}
    env["HF_HUB_OFFLINE"] = "1"
    history, killed_mid_run = [], 0
    for _ in range(4):
        done, _votes = stored(store)
        # Kill once this attempt has written 1-3 verdicts past what the store already holds,
        # plus a random few milliseconds: between a store write and its verdict line, or not.
        # The cap keeps the last kill a few requests before the end, however slow the machine.
        target = min(N_LINES - 3, done + rng.randint(1, 3))
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        # Verdicts stream into OUT.partial; OUT appears only when a run completes.
        partial = out.with_name(out.name + ".partial")
        while proc.poll() is None and lines_in(partial) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.04))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the session this test started, by its id
            killed_mid_run += 1
        proc.wait(timeout=30)
        keys, votes = stored(store)
        assert all(v == VOTES for v in votes)  # a key's votes are stored together or not at all
        history.append(keys)
    assert history == sorted(history) and killed_mid_run >= 3
    assert 0 < history[-1] < N_KEYS, history  # the kills left the work unfinished
    assert not out.exists()  # no killed run ever replaced the output with a partial one

    before = history[-1]
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    hits, generated = map(int, SUMMARY.search(final.stderr).groups())  # type: ignore[union-attr]
    assert (hits, generated) == (before, N_KEYS - before)  # nothing stored is generated again
    assert out.read_bytes() == clean.read_bytes()
    assert stored(store) == (N_KEYS, [VOTES] * N_KEYS)


def test_shards_merge_to_the_unsharded_output(requests_file, tiny_vl, clean, tmp_path):
    out = tmp_path / "out.jsonl"
    invoke(*run_args(requests_file, tiny_vl, out, "--shard", "0/3"))
    invoke(*run_args(requests_file, tiny_vl, out), env={"RANK": "1", "WORLD_SIZE": "3"})
    invoke(
        *run_args(requests_file, tiny_vl, out),
        env={
            "SLURM_ARRAY_TASK_ID": "3",
            "SLURM_ARRAY_TASK_COUNT": "3",
            "SLURM_ARRAY_TASK_MIN": "1",
        },
    )
    shards = [tmp_path / f"out.shard-{i}-of-3.jsonl" for i in range(3)]
    assert [lines_in(p) for p in shards] == [4, 4, 4]
    assert [json.loads(x)["shard"]["position"] for x in shards[1].read_text().splitlines()] == [
        1,
        4,
        7,
        10,
    ]
    merged = tmp_path / "merged.jsonl"
    result = invoke(
        "merge", str(merged), *map(str, shards[::-1]), "--store", str(tmp_path / "merged.sqlite")
    )
    assert "merged 12 verdicts from 3 shards" in result.output
    assert merged.read_bytes() == clean.read_bytes()
    assert contents(tmp_path / "merged.sqlite") == contents(clean.with_suffix(".sqlite"))

    lines = shards[2].read_text().splitlines(keepends=True)
    shards[2].write_text("".join(lines[:1] + lines[2:]))  # r5 is gone
    bad = invoke("merge", str(tmp_path / "bad.jsonl"), *map(str, shards), code=2)
    assert (
        "error: cannot merge: 1 of 12 requests missing (positions 5; shard 2/3 has 3 of 4 rows)"
    ) in bad.output
    shards[2].write_text("".join(lines[:2] + lines[1:]))  # r5 twice
    bad = invoke("merge", str(tmp_path / "bad.jsonl"), *map(str, shards), code=2)
    assert "1 duplicated rows: id 'r5' at position 5" in bad.output
    assert not (tmp_path / "bad.jsonl").exists()


def test_resume_no_cache_and_store_options(requests_file, tiny_vl, clean, tmp_path):
    out = tmp_path / "out.jsonl"
    missing = invoke(*run_args(requests_file, tiny_vl, out, "--resume"), code=2)
    assert "--resume: no store at" in missing.output and "drop --resume" in missing.output
    # The clean run's store answers everything, wherever the output goes.
    store = clean.with_suffix(".sqlite")
    again = invoke(*run_args(requests_file, tiny_vl, out, "--store", str(store), "--resume"))
    assert SUMMARY.search(again.output).groups() == (str(N_KEYS), "0")  # type: ignore[union-attr]
    assert out.read_bytes() == clean.read_bytes()
    fresh = invoke(*run_args(requests_file, tiny_vl, out, "--store", str(store), "--no-cache"))
    assert SUMMARY.search(fresh.output).groups() == ("0", str(N_KEYS))  # type: ignore[union-attr]
    assert out.read_bytes() == clean.read_bytes() and stored(store)[0] == N_KEYS
    clash = invoke(*run_args(requests_file, tiny_vl, out, "--store", str(out)), code=2)
    assert "--output and --store are the same file" in clash.output
