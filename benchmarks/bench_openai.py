"""The OpenAI-compatible engine at concurrency 1, 4 and 16 against a local `transformers serve`,
side by side with the in-process transformers engine on the same model (not a timed test).

    python benchmarks/bench_openai.py --model demo-out/model
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from _timing import free_port, save_results, start_server, stop_server, timed


def serve(model: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    return start_server(
        [
            shutil.which("transformers") or "transformers",
            "serve",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        port,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", required=True)
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from flexjudge import Judge
    from flexjudge.demo.tasks import make_set
    from flexjudge.engines.hf import TransformersEngine
    from flexjudge.engines.openai import OpenAIEngine
    from flexjudge.request import Task

    reqs = [it.request for it in make_set(args.requests, seed=21, mix={Task.PAIRWISE: 1.0})]
    results: dict = {"requests": args.requests, "model": args.model}
    local = TransformersEngine(args.model, device="cpu")
    results["local_batched_s"], _ = timed(
        lambda: list(Judge(engine=local, max_new_tokens=96, batch_size=16).run(reqs)), args.repeat
    )
    proc, url = serve(args.model)
    try:
        for c in (1, 4, 16):
            engine = OpenAIEngine(args.model, base_url=url, concurrency=c)
            results[f"http_c{c}_s"], verdicts = timed(
                lambda engine=engine: list(
                    Judge(engine=engine, max_new_tokens=96, batch_size=16).run(reqs)
                ),
                args.repeat,
            )
            results[f"http_c{c}_valid"] = sum(v.ok for v in verdicts) / len(verdicts)
    finally:
        stop_server(proc)
    base = results["http_c1_s"]
    print("| engine | wall time | vs HTTP concurrency 1 |\n|---|---:|---:|")
    for c in (1, 4, 16):
        t = results[f"http_c{c}_s"]
        print(f"| openai → transformers serve, concurrency {c} | {t:.2f} s | {base / t:.2f}× |")
    print(
        f"| transformers in process, batched 16 | {results['local_batched_s']:.2f} s | "
        f"{base / results['local_batched_s']:.2f}× |"
    )
    save_results(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
