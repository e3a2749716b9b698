"""Parsing: model output -> reasoning and answers, or an invalid parse with a reason."""

from flexjudge.parsing.answers import REASONS, AnswerSpec, Parsed, parse_output

__all__ = ["REASONS", "AnswerSpec", "Parsed", "parse_output"]
