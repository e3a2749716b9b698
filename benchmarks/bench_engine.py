"""Engine and pipeline speed, measured side by side on one machine (not a timed test).

(a) k votes from one ``generate`` call against k separate seeded calls, as the official
    scripts do (one run per seed);
(b) ``Judge.run`` over N requests under each batch schedule of the transformers engine,
    interleaved round by round (medians), with the distribution of output lengths:
      one-by-one      batch_size 1;
      static          batch_size 16, one ``model.generate`` per call: every row waits for the
                      longest of its call;
      refill          batch_size 16, the refill schedule: a stopped row leaves the batch;
      refill, queued  batch_size N (one call), at most 16 x votes rows decoding at once:
                      stopped rows are replaced from the queue, so the batch stays full;
(c) flexjudge's overhead (prompt building, processor, stop counter, parsing, voting) against
    bare ``model.generate`` on the same processed batch with the same generation arguments;
(d) transformers' own continuous batching (``model.generate_batch``, paged attention; token
    ids in, so text-only, and no stop strings: rows run to EOS) against the engine's refill
    schedule on the same prompts, both with at most 16 x votes rows at once.

Use the demo-trained model (``flexjudge demo --out DIR`` then ``--model DIR/model``) so that
outputs have realistic lengths; ``--temperature`` above the default makes them vary more.
Prints Markdown tables and writes JSON next to them.

    python benchmarks/bench_engine.py --model demo-out/model --out benchmarks/results/engine.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from _timing import save_results, timed

SCHEDULES = ("one-by-one", "static", "refill", "refill, queued")


def machine() -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def lengths(engine: Any, chats: list, params: Any) -> dict[str, Any]:
    """Generated tokens per completion (the stop rule's cut), and finish reasons."""
    comps = [
        c
        for i in range(0, len(chats), 16)
        for cs in engine.generate(chats[i : i + 16], params)
        for c in cs
    ]
    toks = sorted(c.n_tokens for c in comps)
    q = statistics.quantiles(toks, n=10)
    reasons: dict[str, int] = {}
    for c in comps:
        reasons[c.finish_reason] = reasons.get(c.finish_reason, 0) + 1
    return {
        "min": toks[0],
        "p10": q[0],
        "median": statistics.median(toks),
        "p90": q[-1],
        "max": toks[-1],
        "mean": statistics.fmean(toks),
        "finish": reasons,
    }


def schedules(engine: Any, requests: list, args: argparse.Namespace) -> dict[str, Any]:
    """(b): the four schedules, interleaved over ``args.rounds`` rounds; medians."""
    from flexjudge import Judge

    def judge(batch_size: int) -> Any:
        return Judge(
            engine=engine,
            votes=args.run_votes,
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            batch_size=batch_size,
        )

    def run(schedule: str) -> list:
        engine.max_batch_rows = 16 * args.run_votes if schedule == "refill, queued" else None
        if schedule == "static":  # benchmark switch: the schedule media calls take
            engine._refills = lambda requests: False
        try:
            size = {"one-by-one": 1, "refill, queued": len(requests)}.get(schedule, 16)
            return list(judge(size).run(requests))
        finally:
            engine.__dict__.pop("_refills", None)
            engine.max_batch_rows = None

    times: dict[str, list[float]] = {s: [] for s in SCHEDULES}
    valid: dict[str, float] = {}
    for s in SCHEDULES:
        run(s)  # warm-up
    for r in range(args.rounds):
        order = SCHEDULES if r % 2 == 0 else SCHEDULES[::-1]
        for s in order:
            t = time.perf_counter()
            verdicts = run(s)
            times[s].append(time.perf_counter() - t)
            valid[s] = sum(v.ok for v in verdicts) / len(verdicts)
    med = {s: statistics.median(t) for s, t in times.items()}
    return {"seconds": med, "all_seconds": times, "valid_rate": valid}


def overhead(engine: Any, requests: list, args: argparse.Namespace) -> dict[str, Any]:
    """(c): the whole path for 16 requests against bare generate, interleaved."""
    from transformers import StoppingCriteriaList

    from flexjudge import Judge
    from flexjudge.engines import SamplingParams
    from flexjudge.engines.hf import StopCounter
    from flexjudge.prompts import build_chat

    subset = requests[:16]
    texts = [engine.render(build_chat(r)) for r in subset]
    inputs = engine.processor(
        text=texts, padding=True, add_special_tokens=False, return_tensors="pt"
    ).to(engine.device)
    eos = engine.chat.eos_ids(engine.model.generation_config)
    stop = SamplingParams(stop=("</answer>",), stop_count=2, stop_after="</think>")

    def bare(with_stop: bool) -> Any:
        torch.manual_seed(0)
        criteria = (
            StoppingCriteriaList([StopCounter(engine.tokenizer, stop)]) if with_stop else None
        )
        with torch.inference_mode():
            return engine.model.generate(
                **inputs,
                max_new_tokens=args.max_new_tokens,
                do_sample=True,
                temperature=args.temperature,
                top_p=0.95,
                top_k=0,
                eos_token_id=eos,
                pad_token_id=engine.tokenizer.pad_token_id,
                stopping_criteria=criteria,
            )

    judge16 = Judge(
        engine=engine,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        batch_size=16,
    )
    sides: dict[str, Callable[[], Any]] = {
        "path": lambda: list(judge16.run(subset)),
        "bare_stop": lambda: bare(True),
        "bare_eos": lambda: bare(False),
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    for fn in sides.values():
        fn()  # warm-up
    for _ in range(max(5, args.repeat)):  # interleaved: drift hits every side alike
        for name, fn in sides.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {**med, "overhead_vs_bare": med["path"] / med["bare_stop"] - 1}


def continuous(engine: Any, chats: list, params: Any, args: argparse.Namespace) -> dict[str, Any]:
    """(d): ``generate_batch`` against the refill schedule, interleaved; medians."""
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    model = engine.model
    enc = engine._inputs(chats)
    ids = [row[m.bool()].tolist() for row, m in zip(enc["input_ids"], enc["attention_mask"])]
    width = 16 * params.n
    gen = GenerationConfig(
        do_sample=True,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=0,
        max_new_tokens=params.max_new_tokens,
        num_return_sequences=params.n,
        eos_token_id=engine.chat.eos_ids(model.generation_config),
        pad_token_id=engine.tokenizer.pad_token_id,
    )
    cb = ContinuousBatchingConfig(
        page_size=32, num_blocks=1024, max_batch_tokens=1024, max_requests_per_batch=width, seed=0
    )

    def hf() -> Any:
        return model.generate_batch(
            ids, generation_config=gen, continuous_batching_config=cb, warmup=False
        )

    def refill() -> Any:
        engine.max_batch_rows = width
        try:
            return engine.generate(chats, params)
        finally:
            engine.max_batch_rows = None

    times: dict[str, list[float]] = {"generate_batch": [], "refill": []}
    outputs: dict[str, Any] = {}
    for _ in range(args.rounds):
        for name, fn in (("generate_batch", hf), ("refill", refill)):
            t = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - t)
    tokens = {
        "generate_batch": sum(len(o.generated_tokens) for o in outputs["generate_batch"].values()),
        "refill": sum(c.n_tokens for cs in outputs["refill"] for c in cs),
    }
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"seconds": med, "all_seconds": times, "generated_tokens": tokens}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", required=True)
    ap.add_argument("--votes", type=int, default=8, help="votes in (a)")
    ap.add_argument("--run-votes", type=int, default=1, help="votes per request in (b)")
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--temperature", type=float, default=0.6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds in (b)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: a,b,c,d")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from flexjudge.demo.tasks import make_set
    from flexjudge.engines import SamplingParams
    from flexjudge.engines.hf import TransformersEngine
    from flexjudge.prompts import build_chat
    from flexjudge.request import Task

    engine = TransformersEngine(args.model, device=args.device)
    items = make_set(args.requests, seed=11, mix={Task.PAIRWISE: 1.0}, prefix="bench")
    requests = [it.request for it in items]
    chat = build_chat(requests[0])
    params = SamplingParams(
        n=args.votes,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        seed=0,
        stop=("</answer>",),
        stop_count=2,
        stop_after="</think>",
    )
    skip = set(args.skip.split(","))
    results: dict[str, Any] = {
        "machine": machine(),
        "model": args.model,
        "votes": args.votes,
        "run_votes": args.run_votes,
        "requests": args.requests,
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
    }
    tables = []
    if "a" not in skip:  # k votes: one call against k seeded calls of n=1
        one_call, _ = timed(lambda: engine.generate([chat], params), args.repeat)
        seeded, _ = timed(
            lambda: [
                engine.generate([chat], SamplingParams(**{**params.__dict__, "n": 1, "seed": s}))
                for s in range(args.votes)
            ],
            args.repeat,
        )
        results.update(votes_one_call_s=one_call, votes_separate_s=seeded)
        results["votes_speedup"] = seeded / one_call
        tables.append(
            f"(a) {args.votes} votes, 1 request: one call {one_call:.2f}s, {args.votes} seeded "
            f"calls {seeded:.2f}s: {seeded / one_call:.2f}x"
        )
    if "b" not in skip:
        chats = [build_chat(r) for r in requests]
        dist = lengths(engine, chats, SamplingParams(**{**params.__dict__, "n": args.run_votes}))
        results["output_tokens"] = dist
        sched = schedules(engine, requests, args)
        results["schedules"] = sched
        base = sched["seconds"]["one-by-one"]
        rows = [
            "| schedule | seconds | vs one-by-one | vs static | valid |",
            "|---|---:|---:|---:|---:|",
        ]
        for s in SCHEDULES:
            sec = sched["seconds"][s]
            rows.append(
                f"| {s} | {sec:.2f} | {base / sec:.2f}x | {sched['seconds']['static'] / sec:.2f}x "
                f"| {sched['valid_rate'][s]:.0%} |"
            )
        tables.append(
            f"(b) {args.requests} pairwise requests x {args.run_votes} votes, output tokens "
            f"min {dist['min']} p10 {dist['p10']:.0f} median {dist['median']:.0f} p90 "
            f"{dist['p90']:.0f} max {dist['max']} (finish {dist['finish']})\n" + "\n".join(rows)
        )
    if "c" not in skip:
        oh = overhead(engine, requests, args)
        results["overhead"] = oh
        tables.append(
            f"(c) whole path, 16 requests: {oh['path']:.2f}s against bare generate "
            f"{oh['bare_stop']:.2f}s (EOS-only {oh['bare_eos']:.2f}s): "
            f"{oh['overhead_vs_bare']:+.1%}"
        )
    if "d" not in skip:
        chats = [build_chat(r) for r in requests]
        run_params = SamplingParams(**{**params.__dict__, "n": args.run_votes})
        cont = continuous(engine, chats, run_params, args)
        results["continuous_batching"] = cont
        sec, tok = cont["seconds"], cont["generated_tokens"]
        tables.append(
            f"(d) {args.requests} requests x {args.run_votes} votes, raw generation: transformers "
            f"generate_batch {sec['generate_batch']:.2f}s ({tok['generate_batch']} tokens, to "
            f"EOS) against refill {sec['refill']:.2f}s ({tok['refill']} tokens, stop rule): "
            f"{sec['generate_batch'] / sec['refill']:.2f}x"
        )
    print("\n\n".join(tables))
    print(f"\nmachine: {results['machine']}")
    save_results(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
