"""Judging on a real local Ray cluster (``ray.init(num_cpus=2)``, one per module) with a real
tiny checkpoint: the Ray run's output equals a plain run's byte for byte (also with batches
of 2, since chunks are cut by position), a user's dataset judges like ``Judge.run``, a worker
SIGKILLed mid-run is retried without changing the output, and a SIGKILLed driver
(``flexjudge run --executor ray`` in a subprocess) resumes from the store."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from flexjudge import Judge  # noqa: E402
from flexjudge.run import plan_run, run_file  # noqa: E402
from flexjudge.scale import ray as scale_ray  # noqa: E402

pytestmark = pytest.mark.slow
EXE = shutil.which("flexjudge") or ""
N_LINES = 12  # line 9 names a missing image: an error record, no engine request
N_KEYS = N_LINES - 1
SUMMARY = re.compile(r"(\d+) engine requests from the store, (\d+) generated")
WORKER_TITLE = b"ray::MapWorker(MapBatches(JudgeWorker))"


@pytest.fixture(scope="module")
def cluster() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def requests_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("requests")
    Image.new("RGB", (48, 32), (20, 160, 90)).save(folder / "pic.png")
    lines = []
    for i in range(N_LINES):
        row: dict = {"id": f"r{i}", "instruction": f"Question {i}?"}
        if i % 3 == 0:
            row.update(task="score", responses=[f"answer {i}"])
        elif i % 3 == 1:
            row.update(task="pairwise", responses=[f"left {i}", f"right {i}"])
        else:
            row.update(task="rank", responses=[f"one {i}", f"two {i}", f"three {i}"])
        if i % 4 == 1:
            row["images"] = ["pic.png"]
        if i == 9:
            row["images"] = ["missing.png"]
        lines.append(json.dumps(row))
    lines.insert(4, "")  # not a position
    path = folder / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def settings(model: Path, **over: Any) -> dict[str, Any]:
    base = dict(model=str(model), engine="transformers", votes=2, max_new_tokens=6, batch_size=1)
    return {**base, **over}


def plain_run(requests: Path, out: Path, kw: dict[str, Any]) -> bytes:
    plan = plan_run(requests, out)
    with Judge(**kw, store=plan.store) as judge:
        run_file(judge, plan)
    return out.read_bytes()


KILL = dict(max_new_tokens=32)  # long enough generations that a kill lands mid-run


@pytest.fixture(scope="module")
def plain_kill(
    requests_file: Path, tiny_vl: Path, tmp_path_factory: pytest.TempPathFactory
) -> bytes:
    """The uninterrupted plain run that the killed runs must reproduce."""
    return plain_run(
        requests_file, tmp_path_factory.mktemp("plain") / "out.jsonl", settings(tiny_vl, **KILL)
    )


def keys_in(store: Path) -> int:
    if not store.exists():
        return 0
    con = sqlite3.connect(store)
    try:
        return int(con.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def descends_from_us(pid: int) -> bool:
    """Whether ``pid`` is in this test process's tree (the cluster ray.init started here)."""
    me = os.getpid()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == me:
            return True
    return False


def our_workers() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            title = (proc / "cmdline").read_bytes()
            if title.startswith(WORKER_TITLE) and descends_from_us(int(proc.name)):
                pids.append(int(proc.name))
    return pids


def test_ray_output_equals_the_plain_run(cluster, requests_file, tiny_vl, tmp_path):
    kw = settings(tiny_vl, batch_size=2, order="swap")
    plain = plain_run(requests_file, tmp_path / "plain.jsonl", kw)
    verdicts = scale_ray.judge(
        requests_file, store=tmp_path / "ray.sqlite", num_workers=2, num_cpus=0.5, **kw
    ).materialize()
    summary = scale_ray.write_verdicts(verdicts, tmp_path / "ray.jsonl", total=N_LINES)
    assert (tmp_path / "ray.jsonl").read_bytes() == plain
    assert summary.counts["error"] == 1 and summary.total == N_LINES
    scale_ray.write_verdicts(verdicts, tmp_path / "ray.parquet", total=N_LINES)
    table = pq.read_table(tmp_path / "ray.parquet")
    assert [v + "\n" for v in table.column("verdict").to_pylist()] == plain.decode().splitlines(
        keepends=True
    )
    assert table.column("position").to_pylist() == list(range(N_LINES))
    assert table.schema == scale_ray.VERDICT_SCHEMA
    del verdicts  # the store actor goes with its dataset

    # a user's dataset of request rows, batched by Ray: with batch_size 1, Judge.run's verdicts
    rows = [json.loads(x) for x in requests_file.read_text().splitlines() if x.strip()][:4]
    for row in rows:
        row.pop("images", None)
    data = ray.data.from_items(rows)
    got = scale_ray.judge(data, num_workers=1, num_cpus=0.5, **settings(tiny_vl))
    got_verdicts = [scale_ray.verdict_of(r) for r in got.iter_rows()]
    with Judge(**settings(tiny_vl)) as judge:
        expected = list(judge.run(rows))
    assert sorted(got_verdicts, key=lambda v: str(v.id)) == sorted(
        expected, key=lambda v: str(v.id)
    )


def test_a_killed_worker_is_retried_and_the_output_does_not_change(
    cluster, requests_file, tiny_vl, plain_kill, tmp_path
):
    kw = settings(tiny_vl, **KILL)
    plan = plan_run(requests_file, tmp_path / "ray.jsonl")
    done: dict[str, Any] = {}

    def go() -> None:
        try:
            done["summary"] = scale_ray.run_file(plan, kw, num_workers=2)
        except BaseException as exc:  # reported by the assertion below
            done["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    wait_for(lambda: keys_in(plan.store) >= 2 or not thread.is_alive(), 600, "two stored keys")
    workers = our_workers()
    assert thread.is_alive() and workers, done
    at_kill = keys_in(plan.store)
    os.kill(workers[0], signal.SIGKILL)
    thread.join(timeout=900)
    assert not thread.is_alive() and "error" not in done, done
    assert at_kill < N_KEYS  # the kill came mid-run
    assert plan.output.read_bytes() == plain_kill
    assert done["summary"].generated >= N_KEYS - at_kill
    assert keys_in(plan.store) == N_KEYS


def lock_free(store: Path) -> bool:
    lock = store.with_name(store.name + ".lock")
    if not lock.exists():
        return True
    with lock.open("a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return True


@pytest.mark.skipif(not EXE, reason="flexjudge is not installed (pip install -e .)")
def test_a_killed_driver_resumes_from_the_store(
    cluster, requests_file, tiny_vl, plain_kill, tmp_path
):
    kw = settings(tiny_vl, **KILL)
    out, store = tmp_path / "out.jsonl", tmp_path / "out.sqlite"
    cmd = [EXE, "run", str(requests_file), "--output", str(out), "--executor", "ray"]
    for name in ("model", "votes", "max_new_tokens", "batch_size"):
        cmd += ["--" + name.replace("_", "-"), str(kw[name])]
    env = {**os.environ, "RAY_ADDRESS": cluster, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_for(lambda: keys_in(store) >= 3 or proc.poll() is not None, 600, "three stored keys")
        assert proc.poll() is None, "the run ended before the kill"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the session this test started, by its id
        proc.wait(timeout=60)
    # Ray ends a dead driver's actors, the store actor with its lock among them
    wait_for(lambda: lock_free(store), 120, "the killed run's store lock")
    before = keys_in(store)
    assert 3 <= before < N_KEYS and not out.exists()
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr[-3000:]
    hits, generated = map(int, SUMMARY.search(final.stderr).groups())  # type: ignore[union-attr]
    assert (hits, generated) == (before, N_KEYS - before)  # nothing stored is generated again
    assert out.read_bytes() == plain_kill
