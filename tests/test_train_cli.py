"""`flexjudge train` / `python -m flexjudge.train` end to end on tiny checkpoints: curated rows in,
a checkpoint that `Judge` loads out; LoRA (merged or not) and frozen media towers; and the
loss mask of the LLaMA-3 chat template, token by token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flexjudge import Judge
from flexjudge.curate import CorpusItem, CurateConfig, Trace, curate
from flexjudge.train import LoraSettings, effective_batch_size, train_sft, write_rows

COLOURS = ("red", "blue", "green", "yellow", "black", "white")


def curated_rows() -> list[dict]:
    """Eight short curated rows (pairwise and single, 1-10 and 1-5) from a synthetic corpus."""
    items, traces = [], []
    for i, colour in enumerate((*COLOURS, "pink", "grey")):
        other = COLOURS[(i + 1) % len(COLOURS)]
        ref = (8, 3) if i % 2 else (3, 8)
        items.append(CorpusItem(f"q{i}", f"Name the colour {colour}.", colour, other, ref, i))
        reasoning = (
            f"The question asks for {colour}. Assistant 1 says {colour}, which "
            f"{'matches' if ref[0] > ref[1] else 'does not match'}. Assistant 2 says "
            f"{other}."
        )
        answers = f"<answer>{ref[0]}</answer><answer>{ref[1]}</answer>"
        traces.append(Trace(f"q{i}", 13, f"{reasoning}\n</think>{answers}"))
    config = CurateConfig(n_single=4, single_min_tokens=0, n_pairwise=4, pairwise_min_tokens=0)
    return curate(items, traces, config).rows


@pytest.fixture(scope="module")
def rows_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rows") / "rows.jsonl"
    write_rows(path, curated_rows())
    return path


FAST = (
    "--lr",
    "3e-3",
    "--batch-size",
    "2",
    "--warmup-ratio",
    "0",
    "--lr-scheduler",
    "constant",
    "--max-grad-norm",
    "0",
)


def test_module_entry_trains_and_the_checkpoint_judges_an_image(tiny_vl, rows_file, tmp_path, png):
    out = tmp_path / "judge"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexjudge.train",
            "--model",
            str(tiny_vl),
            "--data",
            str(rows_file),
            "--output",
            str(out),
            "--max-steps",
            "8",
            *FAST,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "effective batch size: 2 = 2 per device x 1 accumulation x 1 process(es)" in proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (
        summary["examples"] == 8 and summary["steps"] == 8 and summary["effective_batch_size"] == 2
    )
    assert summary["last_loss"] < summary["first_loss"] - 1  # it learns
    record = json.loads((out / "flexjudge_train.json").read_text())
    assert record["recipe"]["learning_rate"] == 3e-3 and record["lora"] is None
    judge = Judge(str(out), max_new_tokens=8, device="cpu")
    verdict = judge.compare("Name the colour red.", "red", "blue", images=[str(png)])
    assert verdict.status in ("ok", "invalid") and verdict.n_votes == 1


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_lora_merged_into_a_full_checkpoint_leaves_the_vision_tower_alone(
    tiny_vl, rows_file, tmp_path
):
    from flexjudge.cli.main import cli

    out = tmp_path / "lora"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--model",
            str(tiny_vl),
            "--data",
            str(rows_file),
            "--output",
            str(out),
            "--max-steps",
            "2",
            *FAST,
            "--lora",
            "--lora-rank",
            "4",
            "--lora-alpha",
            "8",
            "--merge-lora",
            "--freeze-vision",
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (
        not summary["adapter_only"]
        and 0 < summary["trainable_parameters"] < summary["total_parameters"]
    )
    assert summary["frozen_media_parameters"] > 0
    assert not (out / "adapter_config.json").exists()
    base, tuned = _tensors(tiny_vl), _tensors(out)
    assert set(base) == set(tuned)  # a plain checkpoint: no lora_A/lora_B left
    changed = {k for k in base if not (base[k] == tuned[k]).all()}
    assert any(k.startswith("visual.") for k in base)
    assert changed and all(k.endswith("_proj.weight") and "visual" not in k for k in changed)
    record = json.loads((out / "flexjudge_train.json").read_text())
    assert record["lora"]["rank"] == 4 and record["lora"]["merge"] is True
    assert Judge(str(out), max_new_tokens=4, device="cpu").score("q", "a").status in (
        "ok",
        "invalid",
    )


def test_unmerged_lora_writes_an_adapter_on_language_layers_only(tiny_vl, tmp_path):
    result = train_sft(
        tiny_vl,
        curated_rows(),
        tmp_path / "adapter",
        lora=LoraSettings(rank=2, alpha=4),
        max_steps=1,
        per_device_train_batch_size=2,
    )
    assert result.adapter_only
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    targets = config["target_modules"]
    assert len(targets) == 14 and not any("visual" in t for t in targets)  # 2 layers x 7
    assert (tmp_path / "adapter" / "chat_template.jinja").is_file()


def test_bad_data_and_flags_exit_2(tiny_vl, tmp_path):
    from flexjudge.cli.main import cli

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(
            {
                "prompt": [{"role": "user", "content": "q"}],
                "completion": [{"role": "assistant", "content": "a"}],
            }
        )
        + "\n"
        + json.dumps({"prompt": "q", "completion": "a"})
        + "\n"
    )
    runner = CliRunner()
    args = ["train", "--model", str(tiny_vl), "--data", str(bad), "-o", str(tmp_path / "o")]
    out = runner.invoke(cli, args)
    assert (
        out.exit_code == 2
        and "1 of 2 rows are malformed (first: line 2: 'prompt' must be" in out.output
    )
    out = runner.invoke(cli, [*args, "--merge-lora"])
    assert out.exit_code == 2 and "need --lora" in out.output


def test_effective_batch_size_counts_processes(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert effective_batch_size(2, 4) == 32  # the official recipe on 4 GPUs
    monkeypatch.delenv("WORLD_SIZE")
    assert effective_batch_size(2, 1) == 2


# --------------------------------------------------------------------------- LLaMA-3 template


def test_llama3_loss_mask_covers_exactly_the_assistant_turn(tiny_llama: Path, tmp_path: Path):
    """Token by token, as the Qwen test: the mask is on from <think> through <|eot_id|> and off
    for BOS, the system header (with its date lines), the user turn and the assistant header."""
    from datasets import Dataset
    from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor
    from trl import SFTTrainer

    from flexjudge.demo.tasks import make_set
    from flexjudge.engines.model_classes import model_class_for
    from flexjudge.train import build_rows, sft_config

    assert model_class_for(AutoConfig.from_pretrained(tiny_llama))[0] == "AutoModelForCausalLM"
    tok = AutoProcessor.from_pretrained(tiny_llama)  # a text-only folder: the tokenizer
    rows = build_rows(it.example for it in make_set(4, seed=1)) + curated_rows()[:2]
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_llama),
        args=sft_config(tmp_path, max_steps=1, per_device_train_batch_size=1),
        train_dataset=Dataset.from_list(
            [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]
        ),
        processing_class=tok,
    )
    bos = tok.convert_tokens_to_ids("<|begin_of_text|>")
    for row, ex in zip(rows, trainer.train_dataset):
        ids = ex["input_ids"]
        mask = [int(label != -100) for label in ex["labels"]]
        on = [t for t, m in zip(ids, mask) if m]
        off = [t for t, m in zip(ids, mask) if not m]
        assert tok.decode(on) == row["completion"][0]["content"] + "<|eot_id|>"
        prompt = tok.decode(off)
        assert prompt.startswith(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        )
        assert prompt.endswith("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        assert ids.count(bos) == 1 and mask == sorted(mask)


def test_llama3_checkpoint_trains_through_train_sft(tiny_llama: Path, tmp_path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = train_sft(
        tiny_llama, curated_rows(), tmp_path / "llama", max_steps=1, per_device_train_batch_size=2
    )
    assert result.n_examples == 8 and result.losses
    assert AutoTokenizer.from_pretrained(tmp_path / "llama").eos_token == "<|eot_id|>"
    assert (
        type(AutoModelForCausalLM.from_pretrained(tmp_path / "llama")).__name__
        == "LlamaForCausalLM"
    )
    verdict = Judge(str(tmp_path / "llama"), max_new_tokens=4, device="cpu").score("q", "a")
    assert verdict.status in ("ok", "invalid")  # text-only judging through the same path
