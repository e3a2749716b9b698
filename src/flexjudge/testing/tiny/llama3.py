"""The tiny LLaMA-3.1-style causal LM builder (the backbone of Flex-Mol-LLaMA)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flexjudge.testing.tiny._common import init_and_save
from flexjudge.testing.tiny.vocab import LLAMA3_ADDED_TOKENS, llama3_tokenizer, token_id


def _build_llama3(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """A text-only LLaMA-3.1-style causal LM (the backbone of Flex-Mol-LLaMA): tokenizer with
    LLaMA-3 special tokens and chat template, tiny ``LlamaForCausalLM``, random weights."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = llama3_tokenizer(vocab)
    tokenizer.save_pretrained(out)
    ids = {tok: token_id(tokenizer, tok) for tok in LLAMA3_ADDED_TOKENS}
    eos = [ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]]
    num_heads = 2
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=num_heads,
        num_key_value_heads=1,
        head_dim=hidden_size // num_heads,
        max_position_embeddings=131072,
        rms_norm_eps=1e-5,
        # LLaMA-3.1's long-context rotary scaling, as in its config.json.
        rope_parameters={
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
            "rope_theta": 500000.0,
        },
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=eos,
        pad_token_id=ids["<|finetune_right_pad_id|>"],
        tie_word_embeddings=True,
    )
    num_parameters = init_and_save(LlamaForCausalLM, config, out, seed)
    GenerationConfig(
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=eos,
        pad_token_id=ids["<|finetune_right_pad_id|>"],
        do_sample=True,
        temperature=1.0,
    ).save_pretrained(out)
    return {"num_parameters": num_parameters, "vocab_size": len(tokenizer)}
