"""Result-store costs, measured side by side (not a timed test).

(1) a fully cached re-run of N requests: wall time per 1,000 items and engine calls made
    (target: under a second, none);
(2) the store's write overhead per verdict against the engine's own time, on the demo-trained
    tiny model (the cheapest real engine, so the ratio is an upper bound);
(3) peak memory of `Judge.run` streaming 10k and 100k requests through a cached engine:
    it should not grow with N (each size runs in its own process).

    python benchmarks/bench_store.py --model demo-out/model
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import save_results

ANSWER = "Assistant 1 is right.\n</think><answer>9</answer><answer>2</answer>"


def requests(n: int):
    for i in range(n):
        yield {
            "id": str(i),
            "task": "pairwise",
            "instruction": f"Question {i}?",
            "responses": [f"answer {i}", f"other {i}"],
        }


def cached_rerun(n: int, root: Path) -> dict:
    from flexjudge import Judge
    from flexjudge.engines import ScriptedEngine
    from flexjudge.store import CachedEngine, Store

    scripted = ScriptedEngine([ANSWER])
    with Store(root / "rerun.sqlite") as store:
        engine = CachedEngine(scripted, store)
        judge = Judge(engine=engine, votes=3, batch_size=32)
        t = time.perf_counter()
        list(judge.run(requests(n)))
        first = time.perf_counter() - t
        calls_before = len(scripted.calls)
        t = time.perf_counter()
        verdicts = list(judge.run(requests(n)))
        second = time.perf_counter() - t
    return {
        "n": n,
        "first_run_s": first,
        "cached_rerun_s": second,
        "cached_per_1000_s": second / n * 1000,
        "engine_calls_in_rerun": len(scripted.calls) - calls_before,
        "ok": sum(v.ok for v in verdicts),
    }


def write_overhead(model: str, root: Path, n: int, repeat: int = 5) -> dict:
    from flexjudge import Judge
    from flexjudge.engines.hf import TransformersEngine
    from flexjudge.store import CachedEngine, Store

    engine = TransformersEngine(model, device="cpu")
    reqs = list(requests(n))
    plain_t, stored_t = [], []
    list(Judge(engine=engine, max_new_tokens=96, batch_size=16).run(reqs))  # warm-up
    for k in range(repeat):  # interleaved, so that load on a shared machine hits both alike
        t = time.perf_counter()
        list(Judge(engine=engine, max_new_tokens=96, batch_size=16).run(reqs))
        plain_t.append(time.perf_counter() - t)
        # a fresh store each time: every completion is written, none is read back
        with Store(root / f"overhead-{k}.sqlite") as store:
            t = time.perf_counter()
            list(
                Judge(engine=CachedEngine(engine, store), max_new_tokens=96, batch_size=16).run(
                    reqs
                )
            )
            stored_t.append(time.perf_counter() - t)
    plain_s, stored_s = statistics.median(plain_t), statistics.median(stored_t)
    return {
        "n": n,
        "plain_s": plain_s,
        "with_store_s": stored_s,
        "overhead": stored_s / plain_s - 1,
        "per_verdict_ms": (stored_s - plain_s) / n * 1000,
    }


def _peak_child(n: int, root: str) -> None:
    """Runs in a child process: stream n requests through a cached scripted engine."""
    from flexjudge import Judge
    from flexjudge.engines import ScriptedEngine
    from flexjudge.store import CachedEngine, Store

    with Store(Path(root) / f"peak-{n}.sqlite") as store:
        judge = Judge(engine=CachedEngine(ScriptedEngine([ANSWER]), store), batch_size=64)
        count = sum(1 for _ in judge.run(requests(n)))
    print(
        json.dumps(
            {"n": count, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        )
    )


def peak_memory(sizes: list[int], root: Path) -> list[dict]:
    out = []
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--root", str(root)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", default=None, help="demo-trained checkpoint for (2); skipped if absent"
    )
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--root", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.child is not None:
        _peak_child(args.child, args.root)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results = {"cached_rerun": cached_rerun(1000, root)}
        if args.model:
            results["write_overhead"] = write_overhead(args.model, root, 64)
        results["peak_memory"] = peak_memory([10_000, 100_000], root)
    r = results["cached_rerun"]
    print("| measure | result |\n|---|---|")
    print(
        f"| fully cached re-run, 1,000 pairwise requests × 3 votes | {r['cached_per_1000_s']:.2f} s per 1,000 items, "
        f"{r['engine_calls_in_rerun']} engine calls (first run {r['first_run_s']:.2f} s) |"
    )
    if "write_overhead" in results:
        w = results["write_overhead"]
        print(
            f"| store writes, 64 requests on the tiny model | {w['with_store_s']:.2f} s vs {w['plain_s']:.2f} s without "
            f"a store: {w['overhead']:+.1%} ({w['per_verdict_ms']:.1f} ms per verdict) |"
        )
    for p in results["peak_memory"]:
        print(f"| peak RSS, {p['n']:,} requests streamed | {p['max_rss_mb']:.0f} MB |")
    save_results(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
