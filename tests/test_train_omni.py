"""Training the thinker of a full Qwen2.5-Omni checkpoint puts it back into the full model."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from flexjudge import Judge
from flexjudge.demo.tasks import make_set
from flexjudge.testing.tiny import build_tiny_model
from flexjudge.train import build_rows, train_sft


def _tensors(folder):
    out = {}
    for f in sorted(folder.glob("model*.safetensors")):
        out.update(load_file(f))
    return out


def test_full_omni_base_gives_a_full_trained_checkpoint(tmp_path):
    base = build_tiny_model(tmp_path / "omni-full", arch="qwen2_5_omni_full")
    rows = build_rows(it.example for it in make_set(8, seed=3))
    out = tmp_path / "trained"
    train_sft(
        base,
        rows,
        out,
        max_steps=2,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        max_length=1024,
    )
    assert json.loads((out / "config.json").read_text())["model_type"] == "qwen2_5_omni"
    before, after = _tensors(base), _tensors(out)
    talker = [k for k in before if k.startswith("talker.")]
    thinker = [k for k in before if k.startswith("thinker.model.")]
    assert talker and thinker and set(before) == set(after)
    assert all(torch.equal(before[k], after[k]) for k in talker)  # untouched
    assert any(not torch.equal(before[k], after[k]) for k in thinker)  # trained
    v = Judge(str(out), max_new_tokens=4, device="cpu").score("Name a fruit.", "apple")
    assert v.n_votes == 1
