"""The loop's judging costs, measured side by side on a real tiny checkpoint (not a timed test).

(1) ``pairs`` over P prompts x C candidates (all pairs, both orders): one pass per prompt (all
    its pairs and orders in one engine call) against one request per engine call (the
    official ``judge.py`` loop's shape), same judge, same settings, each with a fresh store;
    then a re-run on the first store: it must judge nothing (every completion reused).
(2) ``best-of-n --method score`` over the same candidates: one pass per prompt against one
    request per call.

Reported: wall time, engine calls, generated and stored counts, and the ratios.

    python benchmarks/bench_loop.py --judge demo-out/model --out benchmarks/results/loop_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from _timing import save_results

WORDS = ["apple", "banana", "cherry", "cat", "dog", "horse", "red", "blue", "green"]


def candidate_rows(prompts: int, candidates: int) -> list[tuple[None, dict]]:
    cats = ["fruit", "animal", "colour"]
    return [
        (
            None,
            {
                "prompt_id": f"p{p}",
                # a number per prompt: no two prompts share a request, so the store cannot
                # answer one prompt's judgments with another's
                "prompt": f"Name a {cats[p % 3]}. ({p})",
                "response": WORDS[(p * 7 + k * 5) % len(WORDS)],
                "temperature": [0.8, 1.2][k % 2],
            },
        )
        for p in range(prompts)
        for k in range(candidates)
    ]


def run_pairs(judge_dir: str, rows, store: Path, out: Path, max_batch: int | None, args) -> dict:
    from flexjudge import Judge
    from flexjudge.loop import PairPolicy, PairSettings, group_candidates, pairs_into

    groups = group_candidates(rows)
    settings = PairSettings(PairPolicy("both-orders"), max_batch=max_batch)
    with Judge(judge_dir, store=store, max_new_tokens=args.max_new_tokens, device="cpu") as judge:
        t = time.perf_counter()
        stats = pairs_into(judge, groups, out, settings)
        seconds = time.perf_counter() - t
        calls = judge.cache_stats.engine_calls if judge.cache_stats else None
    return {
        "seconds": round(seconds, 3),
        "engine_calls": calls,
        "generated": stats.generated,
        "from_store": stats.from_store,
        "pairs": stats.pairs_judged,
        "kept": stats.kept,
        "valid_vote_rate": stats.as_dict()["valid_vote_rate"],
    }


def run_best_of(judge_dir: str, rows, store: Path, out: Path, max_batch: int | None, args):
    from flexjudge import Judge
    from flexjudge.loop import BestOfSettings, best_of_n_into, group_candidates

    groups = group_candidates(rows)
    with Judge(judge_dir, store=store, max_new_tokens=args.max_new_tokens, device="cpu") as judge:
        t = time.perf_counter()
        summary = best_of_n_into(judge, groups, out, BestOfSettings("score", max_batch=max_batch))
        seconds = time.perf_counter() - t
        calls = judge.cache_stats.engine_calls if judge.cache_stats else None
    return {
        "seconds": round(seconds, 3),
        "engine_calls": calls,
        "generated": summary.generated,
        "valid_verdict_rate": summary.valid_verdict_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judge", default=None, help="judge checkpoint [a tiny random one]")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(tempfile.mkdtemp(prefix="bench-loop-"))
    judge_dir = args.judge
    if judge_dir is None:
        from flexjudge.testing.tiny import build_tiny_model

        judge_dir = str(build_tiny_model(root / "judge"))
    rows = candidate_rows(args.prompts, args.candidates)
    per_prompt = run_pairs(judge_dir, rows, root / "a.sqlite", root / "a.jsonl", None, args)
    rerun = run_pairs(judge_dir, rows, root / "a.sqlite", root / "a2.jsonl", None, args)
    one_by_one = run_pairs(judge_dir, rows, root / "b.sqlite", root / "b.jsonl", 1, args)
    best = run_best_of(judge_dir, rows, root / "c.sqlite", root / "c.jsonl", None, args)
    best_one = run_best_of(judge_dir, rows, root / "d.sqlite", root / "d.jsonl", 1, args)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "judge": judge_dir,
        "prompts": args.prompts,
        "candidates_per_prompt": args.candidates,
        "max_new_tokens": args.max_new_tokens,
        "pairs": {
            "one_pass_per_prompt": per_prompt,
            "one_request_per_call": one_by_one,
            "speedup": round(one_by_one["seconds"] / per_prompt["seconds"], 2),
            "rerun_same_store": rerun,
        },
        "best_of_n_score": {
            "one_pass_per_prompt": best,
            "one_request_per_call": best_one,
            "speedup": round(best_one["seconds"] / best["seconds"], 2),
        },
    }
    print(json.dumps(results, indent=2))
    save_results(args.out, results)


if __name__ == "__main__":
    main()
