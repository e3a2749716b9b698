"""The two tokens Mol-LLaMA adds to the Llama-3.1 tokenizer (``stage2.py``): ``[PAD]`` as the
pad token, and ``<mol>``, one slot per Q-Former query token (the prompts' molecule placeholder,
:data:`flexjudge.prompts.protocol.MOL_PLACEHOLDER`)."""

from __future__ import annotations

from flexjudge.prompts.protocol import MOL_PLACEHOLDER

__all__ = ["MOL_TOKEN", "PAD_TOKEN"]

MOL_TOKEN = MOL_PLACEHOLDER
PAD_TOKEN = "[PAD]"
