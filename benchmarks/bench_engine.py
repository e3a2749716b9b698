"""Engine and pipeline speed, measured side by side on one machine (not a timed test).

(a) k votes from one ``generate`` call (``num_return_sequences``) against k separate seeded
    calls, as the official scripts do (one run per seed);
(b) ``Judge.run`` over N requests, batched, against one request at a time;
(c) flexjudge's overhead (prompt building, processor, stop counter, parsing, voting) against
    bare ``model.generate`` on the same processed batch with the same generation arguments.

Use the demo-trained model (``flexjudge demo --out DIR`` then ``--model DIR/model``) so that
outputs have realistic lengths. Prints a Markdown table and writes JSON next to it.

    python benchmarks/bench_engine.py --model demo-out/model --out benchmarks/results/engine.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from _timing import save_results, timed


def machine() -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", required=True)
    ap.add_argument("--votes", type=int, default=8)
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from transformers import StoppingCriteriaList

    from flexjudge import Judge
    from flexjudge.demo.tasks import make_set
    from flexjudge.engines import SamplingParams
    from flexjudge.engines.hf import TransformersEngine, _eos_ids, _StopCounter
    from flexjudge.prompts import build_chat
    from flexjudge.request import Task

    engine = TransformersEngine(args.model, device=args.device)
    items = make_set(args.requests, seed=11, mix={Task.PAIRWISE: 1.0}, prefix="bench")
    requests = [it.request for it in items]
    chat = build_chat(requests[0])
    params = SamplingParams(
        n=args.votes, max_new_tokens=args.max_new_tokens, seed=0, stop=("</answer>",), stop_count=2
    )
    results: dict[str, Any] = {
        "machine": machine(),
        "model": args.model,
        "votes": args.votes,
        "requests": args.requests,
        "max_new_tokens": args.max_new_tokens,
    }

    # (a) k votes: one call against k seeded calls of n=1
    one_call, _ = timed(lambda: engine.generate([chat], params), args.repeat)
    single = SamplingParams(
        n=1, max_new_tokens=args.max_new_tokens, stop=("</answer>",), stop_count=2
    )
    seeded, _ = timed(
        lambda: [
            engine.generate([chat], SamplingParams(**{**single.__dict__, "seed": s}))
            for s in range(args.votes)
        ],
        args.repeat,
    )
    results["votes_one_call_s"], results["votes_separate_s"] = one_call, seeded
    results["votes_speedup"] = seeded / one_call

    # (b) run over N requests: batched against one at a time
    def run(batch_size: int) -> list:
        judge = Judge(
            engine=engine, votes=1, max_new_tokens=args.max_new_tokens, batch_size=batch_size
        )
        return list(judge.run(requests))

    batched, verdicts = timed(lambda: run(16), max(1, args.repeat - 2))
    serial, _ = timed(lambda: run(1), max(1, args.repeat - 2))
    results["run_batched_s"], results["run_serial_s"] = batched, serial
    results["run_speedup"] = serial / batched
    results["valid_rate"] = sum(v.ok for v in verdicts) / len(verdicts)

    # (c) overhead: the whole path for 16 requests against bare generate on the same inputs
    subset = requests[:16]
    texts = [engine.render(build_chat(r)) for r in subset]
    inputs = engine.processor(text=texts, padding=True, return_tensors="pt").to(engine.device)
    eos = _eos_ids(engine.model.generation_config, engine.tokenizer)

    def bare(with_stop: bool) -> Any:
        torch.manual_seed(0)
        stop = (
            StoppingCriteriaList([_StopCounter(engine.tokenizer, ("</answer>",), 2)])
            if with_stop
            else None
        )
        with torch.inference_mode():
            return engine.model.generate(
                **inputs,
                max_new_tokens=args.max_new_tokens,
                do_sample=True,
                temperature=0.6,
                top_p=0.95,
                top_k=0,
                eos_token_id=eos,
                pad_token_id=engine.tokenizer.pad_token_id,
                stopping_criteria=stop,
            )

    # Interleaved so that drift on a shared machine hits both sides alike.
    ours_t, stop_t, eos_t = [], [], []
    judge16 = Judge(engine=engine, max_new_tokens=args.max_new_tokens, batch_size=16)
    list(judge16.run(subset)), bare(True), bare(False)  # warm-up
    for _ in range(max(5, args.repeat)):
        t = time.perf_counter()
        list(judge16.run(subset))
        ours_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        out_stop = bare(True)
        stop_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare(False)
        eos_t.append(time.perf_counter() - t)
    ours_s, bare_stop_s, bare_eos_s = (statistics.median(x) for x in (ours_t, stop_t, eos_t))
    results["bare_generated_tokens"] = int(
        (out_stop[:, inputs["input_ids"].shape[1] :] != engine.tokenizer.pad_token_id).sum()
    )
    results["path_s"], results["bare_generate_s"], results["bare_generate_eos_only_s"] = (
        ours_s,
        bare_stop_s,
        bare_eos_s,
    )
    results["overhead_vs_bare"] = ours_s / bare_stop_s - 1

    table = [
        "| measure | flexjudge | baseline | ratio |",
        "|---|---:|---:|---:|",
        f"| (a) {args.votes} votes, 1 request | one call {one_call:.2f}s | {args.votes} seeded calls {seeded:.2f}s | {results['votes_speedup']:.2f}× faster |",
        f"| (b) `run`, {args.requests} pairwise requests | batched (16) {batched:.2f}s | one by one {serial:.2f}s | {results['run_speedup']:.2f}× faster |",
        f"| (c) whole path, 16 requests | {ours_s:.2f}s | bare `generate` {bare_stop_s:.2f}s (EOS-only {bare_eos_s:.2f}s) | overhead {results['overhead_vs_bare']:+.1%} |",
    ]
    print("\n".join(table))
    print(f"\nvalid verdicts in (b): {results['valid_rate']:.0%}; machine: {results['machine']}")
    save_results(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
