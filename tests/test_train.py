"""Text-only SFT through TRL on a real tiny checkpoint, and the demo built on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexjudge import InputError
from flexjudge.demo.tasks import make_set
from flexjudge.parsing import AnswerSpec, parse_output
from flexjudge.train import build_rows, sft_config
from flexjudge.train.data import to_prompt_completion


def test_rows_reuse_the_judging_prompt_and_parse_back():
    item = make_set(1, seed=5)[0]
    row = to_prompt_completion(item.example)
    assert (
        row["prompt"][0]["role"] == "system" and "Score assistants" in row["prompt"][0]["content"]
    )
    target = row["completion"][0]["content"]
    assert target.startswith("<think>\n")
    parsed = parse_output(target[len("<think>\n") :], AnswerSpec.for_request(item.request))
    assert parsed.valid and [str(int(s)) for s in parsed.scores] == list(item.example.answers)


def test_answer_first_layout_for_the_ablation():
    item = make_set(1, seed=5)[0]
    target = to_prompt_completion(item.example, answer_first=True)["completion"][0]["content"]
    assert target.startswith("<answer>") and target.endswith("</think>")


def test_media_requests_are_refused_for_text_only_training(png):
    item = make_set(1, seed=5)[0]
    example = type(item.example)(
        item.request.model_copy(update={"images": [str(png)]}),
        item.example.reasoning,
        item.example.answers,
    )
    with pytest.raises(InputError, match="text-only"):
        to_prompt_completion(example)


def test_loss_mask_covers_exactly_the_assistant_turn(tiny_vl: Path, tmp_path: Path):
    """Token by token: the completion mask is on for the assistant turn (from <think> through
    the end-of-turn token) and off for system, user and the assistant header."""
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTTrainer

    tok = AutoProcessor.from_pretrained(tiny_vl).tokenizer
    rows = build_rows(it.example for it in make_set(4, seed=1))
    trainer = SFTTrainer(
        model=AutoModelForImageTextToText.from_pretrained(tiny_vl),
        args=sft_config(tmp_path, max_steps=1, per_device_train_batch_size=1),
        train_dataset=Dataset.from_list(rows),
        processing_class=tok,
    )
    for row, ex in zip(rows, trainer.train_dataset):
        ids = ex["input_ids"]
        mask = [int(label != -100) for label in ex["labels"]]  # TRL 1.x masks with -100 labels
        on = [t for t, m in zip(ids, mask) if m]
        off = [t for t, m in zip(ids, mask) if not m]
        assert tok.decode(on) == row["completion"][0]["content"] + "<|im_end|>\n"
        assert tok.decode(off).endswith("<|im_start|>assistant\n")
        assert mask == sorted(mask)  # one contiguous block at the end


def test_quick_demo_training_raises_valid_output_rate(demo_run: dict):
    before, after = demo_run["before"], demo_run["after"]
    assert before["text"]["valid_rate"] <= 0.1  # a random model does not write the format
    assert after["text"]["valid_rate"] >= 0.8
    assert after["text"]["valid_rate"] > before["text"]["valid_rate"]
    t = demo_run["training"]
    assert t["last_loss"] < t["first_loss"] / 4
    model = Path(demo_run["model"])
    for name in (
        "config.json",
        "model.safetensors",
        "processor_config.json",
        "tokenizer.json",
        "chat_template.jinja",
        "generation_config.json",
        "flexjudge_train.json",
    ):
        assert (model / name).is_file(), name
    record = json.loads((model / "flexjudge_train.json").read_text())
    assert record["n_examples"] == 320 and len(record["data_sha256"]) == 64
