"""The tiny Qwen2.5-VL builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flexjudge.testing.tiny._common import MAX_PIXELS, MIN_PIXELS, init_and_save
from flexjudge.testing.tiny.chat_templates import QWEN2_VL_CHAT_TEMPLATE
from flexjudge.testing.tiny.vocab import (
    _QWEN2_5_VL_EXTRA_SPECIAL,
    QWEN2_5_VL_ADDED_TOKENS,
    qwen2_tokenizer,
    token_id,
)


def mrope_section(head_dim: int) -> list[int]:
    """Qwen2.5-VL's [16, 24, 24] (t, h, w) split of head_dim/2=64, scaled to ``head_dim``."""
    half = head_dim // 2
    return [half // 4, half * 3 // 8, half * 3 // 8]


def qwen2_text_config(
    vocab_size: int, hidden_size: int, endoftext: int, im_end: int
) -> dict[str, Any]:
    """The tiny Qwen2 text stack shared by the Qwen2.5-VL and Omni-thinker builders."""
    head_dim = hidden_size // 2  # >= 64 at the default size (vLLM's CPU kernels need it)
    return {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": 2 * hidden_size,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 32768,
        "max_window_layers": 2,
        "use_sliding_window": False,
        "rms_norm_eps": 1e-6,
        # transformers 5 reads `rope_parameters`; a legacy {"type": "mrope"} rope_scaling is
        # converted to rope_type "default" plus mrope_section, which is what is written here.
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": mrope_section(head_dim),
        },
        "bos_token_id": endoftext,
        "eos_token_id": im_end,
        "pad_token_id": endoftext,
    }


def _build_qwen2_5_vl(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """Qwen2.5-VL: tokenizer + processor + tiny config + random weights; returns provenance."""
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = qwen2_tokenizer(
        vocab, QWEN2_5_VL_ADDED_TOKENS, _QWEN2_5_VL_EXTRA_SPECIAL, QWEN2_VL_CHAT_TEMPLATE
    )
    ids = {tok: token_id(tokenizer, tok) for tok, _ in QWEN2_5_VL_ADDED_TOKENS}
    endoftext, im_end = ids["<|endoftext|>"], ids["<|im_end|>"]

    size = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        # Unset, transformers 5.24 warns on every video call; True (qwen-vl-utils' total-video
        # pixel budget) is its announced future default.
        video_processor=Qwen2VLVideoProcessor(size=size, cap_pixels_per_frame=True),
        tokenizer=tokenizer,
        chat_template=QWEN2_VL_CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)

    vision_hidden = 64
    text_config = qwen2_text_config(len(tokenizer), hidden_size, endoftext, im_end)
    vision_config = {
        "depth": 2,
        "hidden_size": vision_hidden,
        "intermediate_size": 2 * vision_hidden,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        # Block 0 uses window attention and block 1 full attention, so both paths run.
        "fullatt_block_indexes": [1],
        "tokens_per_second": 2,
    }
    config = Qwen2_5_VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    num_parameters = init_and_save(Qwen2_5_VLForConditionalGeneration, config, out, seed)
    GenerationConfig(
        bos_token_id=endoftext,
        eos_token_id=[im_end, endoftext],
        pad_token_id=endoftext,
        do_sample=True,
        temperature=1.0,
    ).save_pretrained(out)
    return {"num_parameters": num_parameters, "vocab_size": len(tokenizer)}
