"""Which transformers class loads a checkpoint, chosen from its config (one map for judging
and training)."""

from __future__ import annotations

from typing import Any

# model_type -> (transformers class name, media the model can take besides text)
MODEL_CLASSES: dict[str, tuple[str, frozenset[str]]] = {
    "qwen2_5_vl": ("Qwen2_5_VLForConditionalGeneration", frozenset({"image", "video"})),
    "qwen2_vl": ("Qwen2VLForConditionalGeneration", frozenset({"image", "video"})),
    # Qwen2.5-Omni: text-out judging needs only the thinker. The thinker class loads from a
    # thinker-only folder and from a full Omni folder alike (it reads the ``thinker.`` weights
    # and skips the talker and token2wav ones, which are never materialised).
    "qwen2_5_omni_thinker": (
        "Qwen2_5OmniThinkerForConditionalGeneration",
        frozenset({"image", "video", "audio"}),
    ),
    "qwen2_5_omni": (
        "Qwen2_5OmniThinkerForConditionalGeneration",
        frozenset({"image", "video", "audio"}),
    ),
    # Mol-LLaMA / Flex-Mol-LLaMA: flexjudge's own class (a dotted path), molecules as graphs.
    "mol_llama": ("flexjudge.mol_llama.MolLLaMA", frozenset({"molecule"})),
}
TEXT_ONLY = ("AutoModelForCausalLM", frozenset[str]())


def model_class_for(config: Any) -> tuple[str, frozenset[str]]:
    """The class name to load ``config``'s checkpoint with, and its media modalities."""
    return MODEL_CLASSES.get(getattr(config, "model_type", ""), TEXT_ONLY)


def load_model_class(config: Any) -> Any:
    """The class itself: a transformers class by name, or one of ours by dotted path."""
    import importlib

    import transformers

    name = model_class_for(config)[0]
    if "." in name:
        module, _, attr = name.rpartition(".")
        return getattr(importlib.import_module(module), attr)
    return getattr(transformers, name)
