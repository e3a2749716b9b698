"""The tiny Qwen2.5-Omni builders: the thinker alone, or the full model (a tiny talker and
token2wav beside it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flexjudge.testing.tiny._common import MAX_PIXELS, MIN_PIXELS, init_and_save
from flexjudge.testing.tiny.chat_templates import QWEN2_5_OMNI_STYLE_CHAT_TEMPLATE
from flexjudge.testing.tiny.qwen_vl import mrope_section, qwen2_text_config
from flexjudge.testing.tiny.vocab import qwen2_tokenizer, token_id

#: Qwen2.5-Omni's added tokens in id order (real ids 151643-151664): Qwen2.5's layout with the
#: object-ref slot become ``<|AUDIO|>``/``<|audio_bos|>``/``<|audio_eos|>``, the vision pair
#: renamed ``<|vision_bos|>``/``<|vision_eos|>`` and the image/video pads ``<|IMAGE|>``/``<|VIDEO|>``
#: (the thinker config's defaults: audio 151646, audio_bos 151647, audio_eos 151648,
#: vision_bos 151652, image 151655, video 151656).
QWEN2_5_OMNI_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|AUDIO|>", True),
    ("<|audio_bos|>", True),
    ("<|audio_eos|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_bos|>", True),
    ("<|vision_eos|>", True),
    ("<|vision_pad|>", True),
    ("<|IMAGE|>", True),
    ("<|VIDEO|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", True),
    ("<|fim_middle|>", True),
    ("<|fim_suffix|>", True),
    ("<|fim_pad|>", True),
    ("<|repo_name|>", True),
    ("<|file_sep|>", True),
)


#: The named special tokens Qwen2_5OmniProcessor reads from its tokenizer
#: (``tokenizer.image_token`` ...), as Qwen2.5-Omni's tokenizer_config names them.
QWEN2_5_OMNI_NAMED_TOKENS: dict[str, str] = {
    "image_token": "<|IMAGE|>",
    "audio_token": "<|AUDIO|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}


#: Longest clip the tiny Omni feature extractor takes (Whisper's 30 s window, as released).
OMNI_CHUNK_SECONDS = 30


def _omni_thinker_config(tokenizer: Any, hidden_size: int) -> Any:
    from transformers import Qwen2_5OmniThinkerConfig

    ids = {tok: token_id(tokenizer, tok) for tok, _ in QWEN2_5_OMNI_ADDED_TOKENS}
    endoftext, im_end = ids["<|endoftext|>"], ids["<|im_end|>"]
    text_config = qwen2_text_config(len(tokenizer), hidden_size, endoftext, im_end)
    vision_config = {
        "depth": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [1],
    }
    audio_config = {
        "num_mel_bins": 128,
        "encoder_layers": 2,
        "encoder_attention_heads": 2,
        "encoder_ffn_dim": 128,
        "d_model": 64,
        "output_dim": hidden_size,
        "n_window": 100,
        "max_source_positions": 1500,
    }
    return Qwen2_5OmniThinkerConfig(  # type: ignore[call-arg]  # vision_start_token_id is read
        text_config=text_config,
        vision_config=vision_config,
        audio_config=audio_config,
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"],
        # Not a declared field of the thinker config, but its rope-index code reads it.
        vision_start_token_id=ids["<|vision_bos|>"],
        user_token_id=token_id(tokenizer, "user") if "user" in tokenizer.get_vocab() else 872,
        tie_word_embeddings=True,
    )


def _omni_processor(vocab: str) -> Any:
    from transformers import (
        Qwen2_5OmniProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
        WhisperFeatureExtractor,
    )

    tokenizer = qwen2_tokenizer(
        vocab,
        QWEN2_5_OMNI_ADDED_TOKENS,
        QWEN2_5_OMNI_NAMED_TOKENS,
        QWEN2_5_OMNI_STYLE_CHAT_TEMPLATE,
    )
    size = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    return Qwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        video_processor=Qwen2VLVideoProcessor(size=size, cap_pixels_per_frame=True),
        feature_extractor=WhisperFeatureExtractor(
            feature_size=128, sampling_rate=16000, chunk_length=OMNI_CHUNK_SECONDS
        ),
        tokenizer=tokenizer,
        chat_template=QWEN2_5_OMNI_STYLE_CHAT_TEMPLATE,
    )


def _omni_generation_config(tokenizer: Any, out: Path) -> None:
    from transformers import GenerationConfig

    endoftext, im_end = token_id(tokenizer, "<|endoftext|>"), token_id(tokenizer, "<|im_end|>")
    GenerationConfig(
        bos_token_id=endoftext,
        eos_token_id=[im_end, endoftext],
        pad_token_id=endoftext,
        do_sample=True,
        temperature=1.0,
    ).save_pretrained(out)


def _build_qwen2_5_omni(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """Qwen2.5-Omni *thinker only* (text out): image, video and audio towers, all tiny."""
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    processor = _omni_processor(vocab)
    processor.save_pretrained(out)
    config = _omni_thinker_config(processor.tokenizer, hidden_size)
    num_parameters = init_and_save(Qwen2_5OmniThinkerForConditionalGeneration, config, out, seed)
    _omni_generation_config(processor.tokenizer, out)
    return {"num_parameters": num_parameters, "vocab_size": len(processor.tokenizer)}


def _build_qwen2_5_omni_full(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """The full Qwen2.5-Omni layout (``thinker.``, ``talker.``, ``token2wav.`` weights), with a
    tiny talker and token2wav; judging loads only the thinker."""
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    processor = _omni_processor(vocab)
    processor.save_pretrained(out)
    tok = processor.tokenizer
    thinker = _omni_thinker_config(tok, hidden_size)
    ids = {t: token_id(tok, t) for t, _ in QWEN2_5_OMNI_ADDED_TOKENS}
    config = Qwen2_5OmniConfig(
        thinker_config=thinker.to_dict(),
        talker_config=_talker_config(ids, hidden_size),
        token2wav_config=_TOKEN2WAV,
    )
    num_parameters = init_and_save(Qwen2_5OmniForConditionalGeneration, config, out, seed)
    _omni_generation_config(tok, out)
    # A full Omni folder carries the talker's speaker prompts; from_pretrained requires them.
    import torch

    torch.save(
        {
            "Chelsie": {
                "bos_token": 60,
                "cond": torch.zeros(1, 16),
                "ref_mel": torch.zeros(1, 30, 16),
            }
        },
        out / "spk_dict.pt",
    )
    return {"num_parameters": num_parameters, "vocab_size": len(tok)}


def _talker_config(ids: dict[str, int], hidden_size: int) -> dict[str, Any]:
    """A one-layer talker whose special ids point at the thinker vocabulary's tokens."""
    return {
        "vocab_size": 64,
        "embedding_size": hidden_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 32,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": mrope_section(32),
        },
        "tts_codec_start_token_id": 60,
        "tts_codec_end_token_id": 61,
        "tts_codec_pad_token_id": 62,
        "tts_codec_mask_token_id": 63,
        "tts_text_start_token_id": ids["<|fim_prefix|>"],
        "tts_text_end_token_id": ids["<|fim_middle|>"],
        "tts_text_pad_token_id": ids["<|fim_pad|>"],
        "audio_token_index": ids["<|AUDIO|>"],
        "image_token_index": ids["<|IMAGE|>"],
        "video_token_index": ids["<|VIDEO|>"],
        "vision_start_token_id": ids["<|vision_bos|>"],
        "vision_end_token_id": ids["<|vision_eos|>"],
        "audio_start_token_id": ids["<|audio_bos|>"],
        "audio_end_token_id": ids["<|audio_eos|>"],
    }


#: A tiny DiT and BigVGAN: enough for the full layout to build and load.
_TOKEN2WAV: dict[str, Any] = {
    "dit_config": {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "head_dim": 16,
        "emb_dim": 16,
        "num_embeds": 64,
        "mel_dim": 16,
        "enc_emb_dim": 16,
        "enc_dim": 16,
        "enc_channels": [16, 16, 16, 16, 48],
        "enc_attention_channels": 8,
        "enc_se_channels": 8,
        "look_ahead_layers": [1],
        "look_backward_layers": [0],
    },
    "bigvgan_config": {
        "mel_dim": 16,
        "upsample_initial_channel": 16,
        "resblock_kernel_sizes": [3],
        "resblock_dilation_sizes": [[1, 3, 5]],
        "upsample_rates": [5, 3, 2, 2, 2, 2],
        "upsample_kernel_sizes": [11, 7, 4, 4, 4, 4],
    },
}
