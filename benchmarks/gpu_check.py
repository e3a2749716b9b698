"""What only a GPU can show, in one short run: the demo trained and judged on CUDA (bf16,
gradient checkpointing), seeded sampling reproducible on CUDA, and the engine benchmarks on
the GPU. Writes everything under OUT_DIR.

    python benchmarks/gpu_check.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch


def main(out: Path) -> int:
    import transformers

    from flexjudge.demo.run import DemoSettings, run_demo
    from flexjudge.engines import ChatRequest, Message, Part, SamplingParams
    from flexjudge.engines.hf import TransformersEngine

    out.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    print(report, flush=True)
    t = time.perf_counter()
    summary = run_demo(
        out / "demo", DemoSettings(), progress=lambda m: print("demo:", m, flush=True)
    )
    report["demo_seconds"] = time.perf_counter() - t
    report["demo"] = {k: summary[k] for k in ("before", "after", "training")}
    print(json.dumps(report["demo"], indent=1), flush=True)

    engine = TransformersEngine(summary["model"])
    chat = ChatRequest((Message("user", (Part("text", text="Name a fruit."),)),), "<think>\n")
    p = SamplingParams(n=4, max_new_tokens=48, seed=3)
    a, b = engine.generate([chat], p), engine.generate([chat], p)
    report["engine_dtype"] = str(engine.dtype)
    report["engine_device"] = str(engine.device)
    report["seeded_reproducible"] = [c.text for c in a[0]] == [c.text for c in b[0]]
    print(
        {k: report[k] for k in ("engine_dtype", "engine_device", "seeded_reproducible")}, flush=True
    )
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str))

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_engine import main as bench

    bench(["--model", summary["model"], "--out", str(out / "engine_gpu.json"), "--repeat", "3"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
