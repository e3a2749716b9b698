"""`python -m flexjudge.train` as real 2-process data parallelism on CPU (gloo, under torchrun):
both ranks end with the same weights, each rank trains on its own half of the data, and the
run reports a world size of 2.

The ranks are observed from outside the package: a small driver wraps the trainer's
``training_step`` (which rows this rank saw) and ``save_model`` (a hash of this rank's weights)
and then runs the ordinary entry point."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from flexjudge.train import write_rows
from test_train_cli import curated_rows

DRIVER = r"""
import hashlib, json, os, sys
import trl

report, argv = sys.argv[1], sys.argv[2:]
rank = int(os.environ["RANK"])
seen = []


def row_key(ids, mask):
    kept = [int(t) for t, m in zip(ids, mask) if m]
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()


step = trl.SFTTrainer.training_step
def training_step(self, model, inputs, *args, **kwargs):
    ids, mask = inputs["input_ids"].tolist(), inputs["attention_mask"].tolist()
    seen.extend(row_key(i, m) for i, m in zip(ids, mask))
    return step(self, model, inputs, *args, **kwargs)


save = trl.SFTTrainer.save_model
def save_model(self, *args, **kwargs):
    state = self.accelerator.unwrap_model(self.model).state_dict()
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    with open(os.path.join(report, f"rank{rank}.json"), "w") as f:
        json.dump({"rank": rank, "world_size": self.args.world_size,
                   "process_index": self.args.process_index,
                   "wrapped": type(self.model_wrapped).__name__,
                   "weights": digest.hexdigest(), "seen": seen}, f)
    return save(self, *args, **kwargs)


trl.SFTTrainer.training_step = training_step
trl.SFTTrainer.save_model = save_model
from flexjudge.train.__main__ import main
main(argv)
"""


def _row_key(tokenizer, row: dict) -> str:
    ids = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True)
    if hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return hashlib.sha256(json.dumps([int(t) for t in ids]).encode()).hexdigest()


def test_two_cpu_processes_train_data_parallel_to_identical_weights(tiny_vl, tmp_path):
    from transformers import AutoProcessor

    rows = curated_rows()
    data, out, report = tmp_path / "rows.jsonl", tmp_path / "ddp", tmp_path / "report"
    write_rows(data, rows)
    report.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "CUDA_VISIBLE_DEVICES": "",
    }
    # 8 rows, 2 per device, 2 processes: 2 steps are one pass over the data, half per rank.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(driver),
            str(report),
            "--model",
            str(tiny_vl),
            "--data",
            str(data),
            "--output",
            str(out),
            "--max-steps",
            "2",
            "--batch-size",
            "2",
            "--lr",
            "3e-3",
            "--warmup-ratio",
            "0",
            "--lr-scheduler",
            "constant",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    assert "effective batch size: 4 = 2 per device x 1 accumulation x 2 process(es)" in proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["effective_batch_size"] == 4 and summary["steps"] == 2

    ranks = [json.loads((report / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["process_index"] for r in ranks] == [0, 1]
    assert all(r["world_size"] == 2 and r["wrapped"] == "DistributedDataParallel" for r in ranks)
    assert ranks[0]["weights"] == ranks[1]["weights"]  # gradients were all-reduced

    tokenizer = AutoProcessor.from_pretrained(tiny_vl).tokenizer
    everything = sorted(_row_key(tokenizer, r) for r in rows)
    halves = [set(r["seen"]) for r in ranks]
    assert all(len(r["seen"]) == 4 == len(h) for r, h in zip(ranks, halves))
    assert not halves[0] & halves[1] and sorted(halves[0] | halves[1]) == everything

    record = json.loads((out / "flexjudge_train.json").read_text())
    assert record["world_size"] == 2 and record["effective_batch_size"] == 4
    # The saved checkpoint is rank 0's trained model, not the base one.
    from safetensors.torch import load_file

    base, tuned = (
        load_file(str(tiny_vl / "model.safetensors")),
        load_file(str(out / "model.safetensors")),
    )
    assert any(not (base[k] == tuned[k]).all() for k in base)
