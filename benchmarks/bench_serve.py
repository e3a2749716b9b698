"""``flexjudge serve`` throughput at concurrency 1 and 16 (real HTTP clients on loopback),
side by side with in-process ``Judge.run`` of the same kind of requests (not
a timed test).

    python benchmarks/bench_serve.py                      # a tiny random checkpoint, built here
    python benchmarks/bench_serve.py --model DIR --max-new-tokens 256 --out results/serve.json

Each measurement judges its own distinct requests into a fresh store, so nothing is answered
from a store (the requests differ in their text only). Concurrency 1 is one client sending one request at a time; concurrency 16 is 16
clients at once, which the server's batcher coalesces into engine batches of up to
``--max-batch``. Two in-process baselines: one ``Judge.run`` per request (what concurrency 1
costs without HTTP), and one ``Judge.run`` over all requests with ``batch_size =
--max-batch`` (the ceiling: the same engine batches without HTTP, JSON or queueing). The paths
run interleaved, in rotating order, for ``--rounds`` rounds, and each path's median is
reported, so that a shared machine's drifting load falls on all of them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from _timing import free_port, save_results


def requests_for(tag: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{tag}-{i}",
            "task": "score",
            "instruction": f"Summarise item {tag} {i} in one sentence.",
            "responses": [f"Item {i} of {tag} is a small example with a short summary."],
        }
        for i in range(n)
    ]


def start(model: str, store: Path, args: argparse.Namespace) -> tuple[Any, str]:
    import subprocess

    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "flexjudge.cli.main",
        "serve",
        "--model",
        model,
        "--port",
        str(port),
        "--store",
        str(store),
        "--max-batch",
        str(args.max_batch),
        "--max-new-tokens",
        str(args.max_new_tokens),
        "--device",
        "cpu",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("flexjudge serve did not become ready")


async def clients(url: str, reqs: list[dict[str, Any]], concurrency: int) -> float:
    """Seconds to judge ``reqs`` with ``concurrency`` clients, each sending one at a time."""
    todo = list(reqs)

    async def client(http: httpx.AsyncClient) -> None:
        while todo:
            body = todo.pop()
            r = await http.post(f"{url}/v1/judge?votes=false", json=body)
            r.raise_for_status()
            assert r.json()["id"] == body["id"]

    async with httpx.AsyncClient(timeout=600) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", default=None, help="Checkpoint folder [default: a tiny one built here]."
    )
    ap.add_argument("--requests", type=int, default=32, help="Requests per path and round.")
    ap.add_argument("--rounds", type=int, default=3, help="Rounds; each path's median is reported.")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="Torch threads, in both processes.")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the server inherits it
    import torch

    from flexjudge import Judge
    from flexjudge.testing.tiny import build_tiny_model

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    n = args.requests
    runs: dict[str, list[float]] = {
        "in_process_1": [],
        "in_process": [],
        "serve_c1": [],
        "serve_c16": [],
    }
    try:
        model = args.model or str(build_tiny_model(work / "tiny-vl"))
        with Judge(
            model,
            device="cpu",
            max_new_tokens=args.max_new_tokens,
            batch_size=args.max_batch,
            store=work / "inproc.sqlite",
        ) as judge:
            proc, url = start(model, work / "serve.sqlite", args)
            try:
                list(judge.run(requests_for("warm", 2)))
                asyncio.run(clients(url, requests_for("warm", 2), 1))
                for r in range(args.rounds):
                    # Interleaved, in a rotating order: on a shared machine the load drifts, and
                    # each path should see the same drift.
                    paths = list(runs)
                    for path in paths[r % 4 :] + paths[: r % 4]:
                        reqs = requests_for(f"{path}-{r}", n)
                        if path.startswith("in_process"):
                            started = time.perf_counter()
                            if path == "in_process":
                                list(judge.run(reqs))
                            else:  # one request at a time, as concurrency 1 sends them
                                for req in reqs:
                                    list(judge.run([req]))
                            seconds = time.perf_counter() - started
                        else:
                            seconds = asyncio.run(
                                clients(url, reqs, 1 if path == "serve_c1" else 16)
                            )
                        runs[path].append(n / seconds)
            finally:
                proc.terminate()
                proc.wait(timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores"
        + (", CUDA" if torch.cuda.is_available() else ", no GPU")
        + f", torch threads {args.threads}, load average {os.getloadavg()[0]:.1f} at the end",
        "model": "tiny Qwen2.5-VL (random, built here)" if args.model is None else model,
        "requests_per_round": n,
        "rounds": args.rounds,
        "max_new_tokens": args.max_new_tokens,
        "max_batch": args.max_batch,
        "judgments_per_s": {k: statistics.median(v) for k, v in runs.items()},
        "all_rounds": runs,
    }
    rate = results["judgments_per_s"]
    results["c16_over_c1"] = rate["serve_c16"] / rate["serve_c1"]
    results["c16_over_in_process"] = rate["serve_c16"] / rate["in_process"]
    results["c1_over_in_process_1"] = rate["serve_c1"] / rate["in_process_1"]
    print(f"machine: {results['machine']}; model: {results['model']}")
    print(
        f"{n} score requests x {args.rounds} rounds, max_new_tokens {args.max_new_tokens}, max_batch {args.max_batch}"
    )
    print(f"{'path':<30}{'judgments/s (median)':>22}")
    labels = {
        "in_process_1": "in-process, one at a time",
        "in_process": "in-process Judge.run",
        "serve_c1": "serve, concurrency 1",
        "serve_c16": "serve, concurrency 16",
    }
    for key, label in labels.items():
        print(f"{label:<30}{rate[key]:>22.2f}")
    print(
        f"c16 / c1 = {results['c16_over_c1']:.2f}x; c16 / in-process batched = "
        f"{results['c16_over_in_process']:.2f}; c1 / in-process one at a time = "
        f"{results['c1_over_in_process_1']:.2f}"
    )
    save_results(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
