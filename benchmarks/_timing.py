"""Shared by the benchmark scripts (run as `python benchmarks/NAME.py`, so this folder is on
sys.path)."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time over ``repeat`` runs, after one warm-up run."""
    result = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def save_results(path: Path | None, results: dict) -> None:
    """Write a benchmark's results as JSON next to its printed table (when --out is given)."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    argv: Sequence[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
    log: Path | None = None,
) -> tuple[subprocess.Popen, str]:
    """Start an OpenAI-compatible server on loopback ``port``; return it and its ``/v1`` URL once
    ``/v1/models`` answers. ``log`` keeps its output (discarded otherwise)."""
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        list(argv),
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    code = proc.poll()
    proc.terminate()
    proc.wait(timeout=30)
    why = f"exited with status {code}" if code is not None else f"did not answer in {timeout:.0f} s"
    raise RuntimeError(f"{' '.join(argv[:3])} {why}" + (f" (log: {log})" if log else ""))


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
