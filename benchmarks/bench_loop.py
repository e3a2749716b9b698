"""The loop's judging costs, measured side by side on a real tiny checkpoint (not a timed test).

(1) ``pairs`` over P prompts x C candidates (all pairs, both orders), three ways, each with a
    fresh store: one request per engine call (the official ``judge.py`` loop's shape); one
    pass per prompt (all its pairs and orders in one engine call); and whole prompts packed
    into passes of up to 32 requests (the default shape for two candidates per prompt). Then
    a re-run on the first store: it must judge nothing (every completion reused).
(2) ``best-of-n --method score`` over the same candidates, the same three ways.

Every prompt differs, so no store answers one prompt's judgments with another's. Reported:
wall time, engine calls, generated and stored counts, and the ratios.

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


SHAPES = {  # name: (the judge's batch_size = requests per pass, max_batch cap)
    "one_request_per_call": (1, 1),
    "one_pass_per_prompt": (1, None),
    "packed_passes_of_32": (32, None),
}


def make_judge(judge_dir: str, store: Path, batch: int, args):
    from flexjudge import Judge

    return Judge(
        judge_dir,
        store=store,
        batch_size=batch,
        max_new_tokens=args.max_new_tokens,
        device="cpu",
    )


def run_pairs(judge_dir: str, rows, store: Path, out: Path, shape: str, args) -> dict:
    from flexjudge.loop import PairPolicy, PairSettings, group_candidates, pairs_into

    batch, cap = SHAPES[shape]
    groups = group_candidates(rows)
    settings = PairSettings(PairPolicy("both-orders"), max_batch=cap)
    with make_judge(judge_dir, store, batch, args) as judge:
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


def run_best_of(judge_dir: str, rows, store: Path, out: Path, shape: str, args):
    from flexjudge.loop import BestOfSettings, best_of_n_into, group_candidates

    batch, cap = SHAPES[shape]
    groups = group_candidates(rows)
    with make_judge(judge_dir, store, batch, args) as judge:
        t = time.perf_counter()
        summary = best_of_n_into(judge, groups, out, BestOfSettings("score", max_batch=cap))
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
    pairs = {
        shape: run_pairs(judge_dir, rows, root / f"p-{shape}.sqlite", root / f"p-{shape}.jsonl",
                         shape, args)
        for shape in SHAPES
    }  # fmt: skip
    first = "one_pass_per_prompt"
    rerun = run_pairs(
        judge_dir, rows, root / f"p-{first}.sqlite", root / "rerun.jsonl", first, args
    )
    best = {
        shape: run_best_of(judge_dir, rows, root / f"b-{shape}.sqlite", root / f"b-{shape}.jsonl",
                           shape, args)
        for shape in SHAPES
    }  # fmt: skip

    def ratios(runs: dict) -> dict:
        base = runs["one_request_per_call"]["seconds"]
        return {k: round(base / v["seconds"], 2) for k, v in runs.items()}

    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        "judge": judge_dir,
        "prompts": args.prompts,
        "candidates_per_prompt": args.candidates,
        "max_new_tokens": args.max_new_tokens,
        "pairs": {**pairs, "speedup_over_one_request_per_call": ratios(pairs),
                  "rerun_same_store": rerun},
        "best_of_n_score": {**best, "speedup_over_one_request_per_call": ratios(best)},
    }  # fmt: skip
    print(json.dumps(results, indent=2))
    save_results(args.out, results)


if __name__ == "__main__":
    main()
