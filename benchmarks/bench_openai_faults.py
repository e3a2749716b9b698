"""The OpenAI-compatible engine against each fault of tests/faulty_server.py (a real HTTP server
on loopback): wall time, requests sent and verdict statuses for `Judge.run` over 8 pairwise
items with `timeout=2` and the engine's other defaults. Optionally side by side with a baseline
engine module, e.g. the engine before the hardening:

    git show 2d769db:src/flexjudge/engines/openai.py > /tmp/openai_old.py
    python benchmarks/bench_openai_faults.py --baseline /tmp/openai_old.py --cap 120

Each case runs in its own subprocess, killed after --cap seconds (a hung case shows as
"killed"); the server, in this process, counts the requests. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _timing import save_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from faulty_server import FaultyServer  # noqa: E402 - after the path it lives on

MODES = [
    "ok",
    "empty-choices",
    "string-choices",
    "int-content",
    "parts-content",
    "html:502",
    "echo:500",
    "storm:500",
    "throttle:1",
    "trickle:0.5",
    "silent",
]

# Runs in the subprocess: the engine module at argv[1], the server URL at argv[2].
CASE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("bench_engine", sys.argv[1])
mod = sys.modules["bench_engine"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
from flexjudge import Judge
engine = mod.OpenAIEngine("m", base_url=sys.argv[2], api_key_env=None, timeout=2.0)
items = [{"id": i, "task": "pairwise", "instruction": "q", "responses": ["a", "b"]}
         for i in range(8)]
print(json.dumps([v.status for v in Judge(engine=engine).run(items)]))
"""


def run_case(module: Path, url: str, cap: float) -> tuple[float, str]:
    t = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CASE, str(module), url],
            capture_output=True,
            text=True,
            timeout=cap,
        )
    except subprocess.TimeoutExpired:
        return time.monotonic() - t, "killed"
    elapsed = time.monotonic() - t
    if proc.returncode != 0:
        return elapsed, "crashed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:80]
    statuses = json.loads(proc.stdout.strip().splitlines()[-1])
    return elapsed, ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--baseline", type=Path, default=None, help="an older openai.py to compare")
    ap.add_argument("--cap", type=float, default=120.0, help="seconds before a case is killed")
    ap.add_argument("--modes", nargs="*", default=MODES)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    engines = {"current": ROOT / "src/flexjudge/engines/openai.py"}
    if args.baseline:
        engines["baseline"] = args.baseline
    results: dict[str, dict[str, dict[str, object]]] = {}
    with FaultyServer() as server:
        for spec in args.modes:
            mode, _, arg = spec.partition(":")
            for name, module in engines.items():
                server.reset()
                elapsed, outcome = run_case(module, server.url(mode, arg or None), args.cap)
                sent = len(server.requests_to(mode, arg or None))
                results.setdefault(spec, {})[name] = {
                    "seconds": round(elapsed, 2),
                    "requests": sent,
                    "verdicts": outcome,
                }
                print(f"{spec:16} {name:9} {elapsed:7.1f} s {sent:6d} requests   {outcome}")
    save_results(args.out, {"machine": _machine(), "cap_s": args.cap, "results": results})
    return 0


def _machine() -> str:
    import os
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(main())
