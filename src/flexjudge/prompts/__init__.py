"""Prompts: the protocol texts (verbatim) and the one builder that renders requests."""

from flexjudge.prompts.build import build_chat, format_target, neutralize, system_prompt

__all__ = ["build_chat", "format_target", "neutralize", "system_prompt"]
