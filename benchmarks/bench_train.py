"""SFT throughput of ``flexjudge.train.train_sft`` against a bare TRL ``SFTTrainer`` on the same
tiny checkpoint, rows and ``SFTConfig``, plus the share of padding tokens in training batches.

    python benchmarks/bench_train.py [--rows 96] [--repeat 3] [--hidden 128] [--threads 1]
                                     [--out FILE.json]

Tokens are the non-padding tokens of every row trained on (one epoch). Two rates are reported:
``loop`` (inside ``trainer.train()`` only) and ``end_to_end`` (loading the checkpoint,
tokenising, training and saving, as a user runs it). The ratio is flexjudge / bare; the target is
>= 0.95. The runs alternate and the median of ``--repeat`` runs is kept. On a tiny model the
fixed per-step costs dominate, so this is the worst case for any overhead flexjudge adds.
One torch thread by default: on a shared machine, OpenMP threads competing with other work
make run times swing several-fold, which would drown the ratio.

Padding share: padding tokens / all tokens in the batches of the trainer's own dataloader, with
the default random sampler and with ``train_sampling_strategy="group_by_length"`` (transformers
5's name for ``group_by_length``). TRL's ``padding_free`` has no padding by construction but needs
a flash-attention kernel to keep rows apart, so on CPU it is reported, not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

ARGS = dict(
    per_device_train_batch_size=4,
    learning_rate=1e-4,
    warmup_steps=0.0,
    lr_scheduler_type="constant",
    num_train_epochs=1,
    max_length=4096,
)


def make_rows(n: int) -> list[dict]:
    from flexjudge.demo.tasks import make_set
    from flexjudge.train import build_rows

    rows = build_rows(it.example for it in make_set(n, seed=7))
    # Vary the lengths as curated seeds do (short single-score rows, long pairwise ones).
    for i, row in enumerate(rows):
        reps = 1 + (i * 7) % 9
        text = row["completion"][0]["content"]
        head, sep, tail = text.partition("</think>")
        row["completion"] = [
            {"role": "assistant", "content": (head + " Checked again.") * reps + sep + tail}
        ]
    return [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]


def bare_trl(model_dir: Path, rows: list[dict], out: Path) -> tuple[float, float, int]:
    """The same work as ``train_sft`` with nothing but transformers and TRL."""
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTTrainer

    from flexjudge.train import sft_config

    start = time.perf_counter()
    processor = AutoProcessor.from_pretrained(str(model_dir))
    model = AutoModelForImageTextToText.from_pretrained(str(model_dir), dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=sft_config(out, **ARGS),
        train_dataset=Dataset.from_list(rows),
        processing_class=processor.tokenizer,
    )
    t = time.perf_counter()
    trainer.train()
    loop = time.perf_counter() - t
    trainer.save_model(str(out))
    processor.save_pretrained(str(out))
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    return loop, time.perf_counter() - start, tokens


def flexjudge_run(model_dir: Path, rows: list[dict], out: Path) -> tuple[float, float, int]:
    from flexjudge.train import train_sft

    start = time.perf_counter()
    result = train_sft(model_dir, rows, out, **ARGS)
    return result.seconds, time.perf_counter() - start, result.train_tokens


def padding_share(model_dir: Path, rows: list[dict], out: Path, **extra) -> float:
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTTrainer

    from flexjudge.train import sft_config

    processor = AutoProcessor.from_pretrained(str(model_dir))
    model = AutoModelForImageTextToText.from_pretrained(str(model_dir), dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=sft_config(out, **ARGS, **extra),
        train_dataset=Dataset.from_list(rows),
        processing_class=processor.tokenizer,
    )
    pad = total = 0
    for batch in trainer.get_train_dataloader():
        mask = batch["attention_mask"]
        pad += int((mask == 0).sum())
        total += mask.numel()
    return pad / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--out", type=Path, default=None)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)

    from flexjudge.testing.tiny import build_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="bench_train_"))
    model_dir = build_tiny_model(tmp / "tiny", hidden_size=opts.hidden)
    rows = make_rows(opts.rows)
    runs: dict[str, list[tuple[float, float, int]]] = {"flexjudge": [], "bare_trl": []}
    flexjudge_run(model_dir, rows, tmp / "warmup")  # imports, kernels, file cache
    pair = (("flexjudge", flexjudge_run), ("bare_trl", bare_trl))
    for i in range(opts.repeat):
        for name, fn in pair if i % 2 == 0 else pair[::-1]:  # alternate who goes first
            runs[name].append(fn(model_dir, rows, tmp / f"{name}{i}"))
            loop, wall, tokens = runs[name][-1]
            print(
                f"{name:9s} run {i}: {tokens} tokens, loop {loop:.2f}s "
                f"({tokens / loop:.0f} tok/s), end to end {wall:.2f}s ({tokens / wall:.0f} tok/s)",
                flush=True,
            )
    rates = {}
    for name, values in runs.items():
        tokens = values[0][2]
        rates[name] = {
            "tokens": tokens,
            "loop_tok_s": tokens / statistics.median(v[0] for v in values),
            "end_to_end_tok_s": tokens / statistics.median(v[1] for v in values),
        }
    assert rates["flexjudge"]["tokens"] == rates["bare_trl"]["tokens"], rates
    ratio = {
        k: rates["flexjudge"][k] / rates["bare_trl"][k] for k in ("loop_tok_s", "end_to_end_tok_s")
    }
    padding = {
        "random": padding_share(model_dir, rows, tmp / "pad"),
        "group_by_length": padding_share(
            model_dir, rows, tmp / "pad", train_sampling_strategy="group_by_length"
        ),
        "padding_free": 0.0,
    }
    report = {
        "rows": len(rows),
        "per_device_batch": ARGS["per_device_train_batch_size"],
        "hidden_size": opts.hidden,
        "repeat": opts.repeat,
        "rates": rates,
        "ratio_flexjudge_over_bare": ratio,
        "target_ratio": 0.95,
        "padding_share": padding,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    print(json.dumps(report, indent=2))
    if opts.out:
        opts.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
