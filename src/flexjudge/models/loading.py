"""Which transformers class loads a checkpoint, chosen from its config (one map for judging
and training)."""

from __future__ import annotations

from typing import Any

# model_type -> (transformers class name, media the model can take besides text)
MODEL_CLASSES: dict[str, tuple[str, frozenset[str]]] = {
    "qwen2_5_vl": ("Qwen2_5_VLForConditionalGeneration", frozenset({"image", "video"})),
    "qwen2_vl": ("Qwen2VLForConditionalGeneration", frozenset({"image", "video"})),
}
TEXT_ONLY = ("AutoModelForCausalLM", frozenset[str]())


def model_class_for(config: Any) -> tuple[str, frozenset[str]]:
    """The class name to load ``config``'s checkpoint with, and its media modalities."""
    return MODEL_CLASSES.get(getattr(config, "model_type", ""), TEXT_ONLY)


def load_model_class(config: Any) -> Any:
    import transformers

    return getattr(transformers, model_class_for(config)[0])
