"""DPO on judge-labelled pairs: the pairs file as TRL reads it (datasets' JSON loader, then
DPOTrainer as is), `flexjudge dpo` training a tiny Qwen2.5-VL policy with images for a few
steps into a complete checkpoint, which the judge and the sampler then load. The pairs are
labelled by the scripted engine (a named fake judge) so that the file's content is known;
everything else is real: TRL, the tiny checkpoint, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.test_loop_select import shown

from flexjudge import ConfigError, InputError, Judge
from flexjudge.engines import ScriptedEngine
from flexjudge.loop import PairPolicy, PairSettings, group_candidates, pairs_into

EXE = shutil.which("flexjudge")


def prefers_short(req, k):
    """A scripted judge: the shorter response wins, in either order."""
    a, b = shown(req)
    s = (8, 3) if len(a) < len(b) else (3, 8)
    return f"r</think><answer>{s[0]}</answer><answer>{s[1]}</answer>"


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("pairs")
    Image.new("RGB", (56, 56), (200, 30, 30)).save(folder / "red.png")
    Image.new("RGB", (64, 48), (30, 30, 200)).save(folder / "blue.png")
    rows = []
    for i, (prompt, image) in enumerate(
        [("What colour is this?", "red.png"), ("Name a fruit.", None), ("Describe it.", "blue.png")]
    ):
        for _k, (text, temp) in enumerate([("red", 0.8), ("a long wrong answer", 1.2)]):
            row = {"prompt_id": f"p{i}", "prompt": prompt, "response": text, "temperature": temp}
            if image:
                row["images"] = [str(folder / image)]
            rows.append((None, row))
    out = folder / "pairs.jsonl"
    judge = Judge(engine=ScriptedEngine(prefers_short))
    stats = pairs_into(judge, group_candidates(rows), out, PairSettings(PairPolicy("both-orders")))
    assert stats.kept == 3 and stats.pairs_judged == 3
    return out


def test_pairs_rows_are_trl_conversational_with_images(pairs_file):
    rows = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    first = rows[0]
    assert first["prompt"] == [{"role": "user", "content": "What colour is this?"}]
    assert first["chosen"] == [{"role": "assistant", "content": "red"}]
    assert first["rejected"] == [{"role": "assistant", "content": "a long wrong answer"}]
    assert [len(r["images"]) for r in rows] == [1, 0, 1]  # a list on every row, [] without
    assert all(Path(p).is_absolute() for r in rows for p in r["images"])
    assert first["winner_forward"] == first["winner_reverse"] == first["chosen_id"] == "p0#0"
    assert (first["chosen_temperature"], first["rejected_temperature"]) == (0.8, 1.2)
    assert first["margin"] == 5.0 and first["agreement"] == 1.0
    stats = json.loads(pairs_file.with_name("pairs.stats.json").read_text())
    assert stats["kept"] == 3 and stats["dropped"]["tie"] == 0


def test_trl_reads_the_pairs_file_as_it_is(pairs_file, tiny_vl, tmp_path):
    from datasets import load_dataset
    from transformers import AutoProcessor
    from trl import DPOTrainer

    from flexjudge.engines.model_classes import load_model_class
    from flexjudge.train.dpo import dpo_config

    ds = load_dataset("json", data_files=str(pairs_file), split="train")
    processor = AutoProcessor.from_pretrained(tiny_vl)
    model_cls = load_model_class(__import__("transformers").AutoConfig.from_pretrained(tiny_vl))
    model = model_cls.from_pretrained(tiny_vl)
    args = dpo_config(tmp_path / "o", vision=True, max_steps=1, per_device_train_batch_size=3,
                      gradient_accumulation_steps=1, warmup_steps=0)  # fmt: skip
    assert args.max_length is None and args.bf16 is False and args.gradient_checkpointing is False
    trainer = DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=processor)
    trainer.train()
    assert trainer.state.global_step == 1 and "loss" in trainer.state.log_history[0]


@pytest.mark.slow
def test_flexjudge_dpo_trains_a_vl_policy_the_judge_and_sampler_load(pairs_file, tiny_vl, tmp_path):
    from flexjudge.loop.sample import Sampler, SampleSettings

    out = tmp_path / "policy-dpo"
    cmd = [EXE, "dpo", "--model", str(tiny_vl), "--data", str(pairs_file), "--output", str(out),
           "--max-steps", "3", "--batch-size", "3", "--grad-accum", "1", "--lr", "1e-3",
           "--warmup-ratio", "0", "--json"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["pairs"] == 3 and summary["steps"] == 3
    record = json.loads((out / "flexjudge_dpo.json").read_text())
    assert record["recipe"]["beta"] == 0.1 and record["recipe"]["max_length"] is None
    assert record["recipe"]["lr_scheduler_type"] == "cosine_with_min_lr"
    assert record["recipe"]["weight_decay"] == 0.05 and len(record["history"]["loss"]) == 3
    for name in (
        "config.json",
        "model.safetensors",
        "chat_template.jinja",
        "generation_config.json",
    ):
        assert (out / name).is_file(), name
    # the trained weights differ from the base ones
    from safetensors.torch import load_file

    new, old = load_file(out / "model.safetensors"), load_file(tiny_vl / "model.safetensors")
    changed = [k for k in new if not new[k].equal(old[k])]
    assert len(changed) > len(new) // 2
    # the judge and the sampler load the checkpoint
    v = Judge(str(out), max_new_tokens=8, device="cpu").score(
        "Q?", "A.", images=[str(pairs_file.parent / "red.png")]
    )
    assert v.status in ("ok", "invalid")
    with Sampler(str(out), device="cpu") as policy:
        rows = policy.sample(["Name a fruit."], SampleSettings(n=2, max_new_tokens=4))
    assert len(rows[0]) == 2 and rows[0][0]["model"] == str(out)


def test_bad_pair_rows_are_refused_naming_the_row(tmp_path):
    from flexjudge.train.dpo import pair_rows

    ok = {"prompt": "Q?", "chosen": "a", "rejected": "b"}
    assert pair_rows([ok])[0] == ok
    with pytest.raises(InputError, match="row 2.*chosen"):
        pair_rows([ok, {**ok, "chosen": [{"role": "user", "content": "x"}]}])
    with pytest.raises(InputError, match="videos"):
        pair_rows([{**ok, "videos": ["clip.mp4"]}])
    with pytest.raises(InputError, match="not a file"):
        pair_rows([{**ok, "images": [str(tmp_path / "missing.png")]}])
    with pytest.raises(InputError, match="no preference pairs"):
        pair_rows([])


def test_text_policy_refuses_image_pairs(pairs_file, tmp_path):
    from flexjudge.testing.tiny import build_tiny_model
    from flexjudge.train.dpo import read_pairs, train_dpo

    llama = build_tiny_model(tmp_path / "llama", arch="llama3")
    with pytest.raises(ConfigError, match="text-only"):
        train_dpo(llama, read_pairs(pairs_file), tmp_path / "o", max_steps=1)


def test_dpo_recipe_defaults_and_layering(tmp_path):
    from flexjudge.train.dpo import dpo_config
    from flexjudge.train.dpo_recipe import DPORecipe

    args = dpo_config(tmp_path, vision=False)
    assert (args.beta, args.learning_rate, args.num_train_epochs) == (0.1, 1e-5, 3)
    assert (args.weight_decay, args.warmup_steps, args.gradient_accumulation_steps) == (
        0.05,
        100,
        8,
    )
    assert args.lr_scheduler_kwargs == {"min_lr": 5e-6} and args.max_length == 1024
    recipe = DPORecipe(beta=0.3, min_lr=1e-6, lr_scheduler=None)
    over = recipe.trainer_overrides()
    assert over == {"beta": 0.3, "lr_scheduler_kwargs": {"min_lr": 1e-6}}
    assert DPORecipe(loss_type="sigmoid, sft").trainer_overrides() == {
        "loss_type": ["sigmoid", "sft"]
    }
    plain = dpo_config(tmp_path, vision=False, lr_scheduler_type="constant")
    assert not plain.lr_scheduler_kwargs  # the floor goes with cosine_with_min_lr only
    with pytest.raises(ConfigError, match="min-lr"):
        dpo_config(tmp_path, vision=False, lr_scheduler_type="constant", **over)
