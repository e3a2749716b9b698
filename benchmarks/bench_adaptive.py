"""Adaptive voting (``--votes K --adaptive``) on a real model: votes saved, and agreement with
the full count, measured side by side on one machine (not a timed test).

Runs, all on the same requests (a seeded mix of pairwise, score and batch items):

* **full rounds**: every round of the adaptive schedule drawn for every item (each round its
  own seeded call), aggregated over all K votes: the full count that the stopping rule claims
  to predict. With ``batch_size 1`` an adaptive run draws exactly the first votes of it, so
  its verdicts must agree wherever it stopped (scores: within the tolerance); the adaptive
  run is then answered entirely from the full-rounds store, which checks that claim too.
* **adaptive**: ``adaptive=True``, timed against the plain run.
* **plain**: ``votes=K`` in one call per request (today's default), with seed 0 and seed 1:
  their agreement is the run-to-run agreement that any vote count has.

    python benchmarks/bench_adaptive.py --model demo-out/model --out benchmarks/results/adaptive_cpu.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from _timing import save_results


def decision(v: Any, task: str) -> Any:
    if v.status != "ok":
        return v.status
    return {"pairwise": v.winner, "label": v.label, "batch": tuple(v.ranking or ())}.get(task)


def agree(a: Any, b: Any, task: str, tolerance: float) -> bool:
    if task == "score" and a.ok and b.ok:
        return abs(a.scores[0] - b.scores[0]) <= tolerance + 1e-9
    return decision(a, task) == decision(b, task)


def full_rounds(judge: Any, items: list, votes: int) -> list:
    """The full count through the adaptive rounds, votes in an adaptive run's order."""
    from flexjudge.judge.adaptive import round_sizes
    from flexjudge.judge.voting import aggregate

    rounds = [
        list(judge.with_config(votes=size, seed=judge.config.seed + r, adaptive=False).run(items))
        for r, size in enumerate(round_sizes(votes))
    ]
    out = []
    for i, item in enumerate(items):
        orders = list(dict.fromkeys(tuple(v.order) for v in rounds[0][i].votes))
        votes_i = [v for o in orders for rnd in rounds for v in rnd[i].votes if tuple(v.order) == o]
        out.append(
            aggregate(votes_i, item.task, tie=item.tie, score_reduce=judge.config.score_reduce)
        )
    return out


def timed_run(judge: Any, items: list) -> tuple[float, list]:
    t = time.perf_counter()
    verdicts = list(judge.run(items))
    return time.perf_counter() - t, verdicts


def by_task(items: list, values: list[float]) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for item, x in zip(items, values):
        groups.setdefault(item.task.value, []).append(x)
    return {k: statistics.fmean(v) for k, v in sorted(groups.items())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", required=True)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--votes", type=int, default=8)
    ap.add_argument("--order", default="fixed")
    ap.add_argument("--temperature", type=float, default=0.6)
    ap.add_argument("--tolerance", type=float, default=1.0)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from flexjudge import Judge
    from flexjudge.demo.tasks import make_set
    from flexjudge.engines.hf import TransformersEngine

    engine = TransformersEngine(args.model, device="cpu")
    items = [it.request for it in make_set(args.requests, seed=23, prefix="adaptive")]
    settings = dict(
        votes=args.votes,
        order=args.order,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        adaptive_tolerance=args.tolerance,
    )
    with tempfile.TemporaryDirectory() as tmp:
        full_store = Path(tmp) / "full.sqlite"
        with Judge(engine=engine, store=full_store, **settings) as judge:
            t = time.perf_counter()
            full = full_rounds(judge, items, args.votes)
            full_s = time.perf_counter() - t
            # the adaptive run against the full-rounds store: every key must be there already
            before = judge.cache_stats.generated if judge.cache_stats else 0
            list(judge.with_config(adaptive=True).run(items))
            after = judge.cache_stats.generated if judge.cache_stats else 0
            generated_from_full = after - before
        plain_judge = Judge(engine=engine, **settings)
        list(plain_judge.with_config(votes=1).run(items[:2]))  # warm-up
        # interleaved: adaptive, plain, plain (seed 1)
        adaptive_s, adaptive = timed_run(plain_judge.with_config(adaptive=True), items)
        plain_s, plain = timed_run(plain_judge, items)
        _, plain_seed1 = timed_run(plain_judge.with_config(seed=1), items)

    drawn = [v.n_votes for v in adaptive]
    budget = [f.n_votes for f in full]
    saved = [1 - d / b for d, b in zip(drawn, budget)]
    tol = args.tolerance
    results: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_1min": round(os.getloadavg()[0], 2),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "settings": {**settings, "requests": args.requests, "model": args.model},
        "tasks": {
            k: sum(1 for i in items if i.task.value == k) for k in ("pairwise", "score", "batch")
        },
        "votes_full": sum(budget),
        "votes_adaptive": sum(drawn),
        "votes_saved": 1 - sum(drawn) / sum(budget),
        "votes_saved_by_task": by_task(items, saved),
        "stopped_early": sum(d < b for d, b in zip(drawn, budget)),
        "agree_with_full_rounds": statistics.fmean(
            agree(a, f, i.task.value, tol) for a, f, i in zip(adaptive, full, items)
        ),
        "agree_with_full_rounds_by_task": by_task(
            items, [agree(a, f, i.task.value, tol) for a, f, i in zip(adaptive, full, items)]
        ),
        "adaptive_generated_beyond_full_rounds": generated_from_full,
        "agree_with_plain": statistics.fmean(
            agree(a, p, i.task.value, tol) for a, p, i in zip(adaptive, plain, items)
        ),
        "plain_seed0_vs_seed1": statistics.fmean(
            agree(a, p, i.task.value, tol) for a, p, i in zip(plain, plain_seed1, items)
        ),
        "full_rounds_vs_plain": statistics.fmean(
            agree(a, p, i.task.value, tol) for a, p, i in zip(full, plain, items)
        ),
        "valid": {
            "adaptive": sum(v.ok for v in adaptive) / len(items),
            "plain": sum(v.ok for v in plain) / len(items),
        },
        "seconds": {"adaptive": adaptive_s, "plain": plain_s, "full_rounds": full_s},
    }
    r = results
    print(
        f"{args.requests} requests ({r['tasks']}), votes {args.votes}, order {args.order}, "
        f"T={args.temperature}, batch_size {args.batch_size}, tolerance {tol}\n"
        f"votes drawn: {r['votes_adaptive']} of {r['votes_full']} "
        f"({r['votes_saved']:.1%} saved; by task {r['votes_saved_by_task']}); "
        f"{r['stopped_early']} items stopped early\n"
        f"agreement with the full count through the same rounds: "
        f"{r['agree_with_full_rounds']:.1%} (by task {r['agree_with_full_rounds_by_task']}); "
        f"generated beyond the full-rounds store: {generated_from_full}\n"
        f"agreement with a plain --votes {args.votes} run: {r['agree_with_plain']:.1%} "
        f"(plain seed 0 vs seed 1: {r['plain_seed0_vs_seed1']:.1%}; full rounds vs plain: "
        f"{r['full_rounds_vs_plain']:.1%})\n"
        f"wall time: adaptive {adaptive_s:.1f}s, plain {plain_s:.1f}s "
        f"({plain_s / adaptive_s:.2f}x), full rounds {full_s:.1f}s; valid {r['valid']}\n"
        f"machine: {r['machine']}"
    )
    save_results(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
