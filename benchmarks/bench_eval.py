"""Evaluation harness costs: loading and scoring the largest local benchmark files, and the
memory of a judged run as the benchmark grows (the engine is the scripted fake, so what is
measured is the harness: loaders, request building, pipeline, store, verdict file, metrics).

    python benchmarks/bench_eval.py --out benchmarks/results/eval_cpu.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import save_results, timed

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "benchmarks"


def load_and_score() -> dict:
    import random

    from flexjudge.bench import (
        iter_genai_bench,
        iter_somos_mos_list,
        iter_vl_rewardbench,
        load_pandalm_testset,
        score_predictions,
        system_correlations,
        utterance_correlations,
    )

    out = {}
    genai = (
        FIX / "genai_bench" / "results" / "image_generation" / "gemini-1.5-pro" / "pairwise.jsonl"
    )
    cases = {
        "somos_test_mos_list (3000 utterances)": (
            lambda: list(iter_somos_mos_list(FIX / "somos" / "test_mos_list.csv")),
            lambda rows: (
                utterance_correlations(
                    [r.mos + random.random() for r in rows], [r.mos for r in rows]
                ),
                system_correlations(
                    [r.mos for r in rows], [r.mos for r in rows], [r.system_id for r in rows]
                ),
            ),
        ),
        "pandalm testset + gpt-3.5 results (999)": (
            lambda: load_pandalm_testset(FIX / "pandalm" / "testset-v1.json"),
            lambda _: score_predictions(
                "pandalm",
                FIX / "pandalm" / "gpt-3.5-turbo-testset-v1.json",
                FIX / "pandalm" / "testset-v1.json",
            ),
        ),
        "genai_bench gemini image_generation results (1735)": (
            lambda: list(iter_genai_bench(genai)),
            lambda _: score_predictions("genai_bench", genai),
        ),
        "vl_rewardbench data.jsonl (1250, 2.9 MB)": (
            lambda: list(iter_vl_rewardbench(FIX / "vl_rewardbench" / "data.jsonl")),
            lambda rows: len(rows),
        ),
    }
    for name, (load, score) in cases.items():
        t_load, rows = timed(load, 5)
        t_score, _ = timed(lambda score=score, rows=rows: score(rows), 5)
        out[name] = {
            "items": len(rows),
            "load_s": t_load,
            "score_s": t_score,
            "per_item_us": 1e6 * (t_load + t_score) / len(rows),
        }
    return out


def _child(n: int) -> None:
    """Judge a synthetic n-item JudgeLM benchmark with the scripted engine; print peak RSS."""
    from flexjudge import Judge
    from flexjudge.bench.harness import evaluate
    from flexjudge.engines.scripted import ScriptedEngine

    tmp = Path(tempfile.mkdtemp())
    with (
        (tmp / "judgelm_val_5k.jsonl").open("w") as q,
        (tmp / "judgelm_val_5k_gpt4.jsonl").open("w") as s,
    ):
        for i in range(n):
            q.write(
                json.dumps(
                    {
                        "question_id": i,
                        "question_body": f"question {i} " + "x" * 400,
                        "answer1_body": f"first {i} " + "y" * 400,
                        "answer2_body": f"second {i}",
                    }
                )
                + "\n"
            )
            s.write(json.dumps({"question_id": i, "score": [i % 3, 1]}) + "\n")

    class _Forget(list):  # the fake records every call for tests; a long run must not
        def append(self, item: object) -> None:
            pass

    engine = ScriptedEngine(["thinking " * 40 + "</think><answer>7</answer><answer>4</answer>"])
    engine.calls = _Forget()
    start = time.perf_counter()
    r = evaluate(
        "judgelm", tmp / "judgelm_val_5k.jsonl", Judge(engine=engine, batch_size=64), tmp / "out"
    )
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "items": r["n_items"],
                "seconds": elapsed,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "verdicts_mb": (tmp / "out" / "verdicts.jsonl").stat().st_size / 2**20,
            }
        )
    )


def memory(sizes: list[int]) -> dict:
    out = {}
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[str(n)] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--child", type=int, default=None)
    ap.add_argument("--sizes", default="1000,10000,100000")
    args = ap.parse_args()
    if args.child is not None:
        _child(args.child)
        return
    # memory first: a child's peak RSS starts from the parent's at fork, so the parent stays small
    judged = memory([int(x) for x in args.sizes.split(",")])
    results = {
        "machine": "2-core CPU, 24 GiB (no GPU)",
        "judged_run_memory": judged,
        "load_and_score": load_and_score(),
    }
    print(json.dumps(results, indent=2))
    save_results(args.out, results)


if __name__ == "__main__":
    main()
