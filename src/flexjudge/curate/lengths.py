"""Token counts and length distributions for curation.

Lengths are counted with a tokenizer when one is given (the paper's thresholds, 375 and 750,
are model tokens), otherwise as white-space separated words (roughly 0.75 tokens each for
English with BPE vocabularies, so word thresholds select longer traces than token thresholds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flexjudge.errors import ModelLoadError


class TokenCounter(Protocol):
    @property
    def name(self) -> str: ...

    def __call__(self, text: str) -> int: ...


@dataclass(frozen=True)
class WhitespaceCounter:
    """Counts white-space separated words."""

    name: str = "whitespace"

    def __call__(self, text: str) -> int:
        return len(text.split())


class TokenizerCounter:
    """Counts tokens with a Hugging Face tokenizer (special tokens not added)."""

    def __init__(self, name_or_path: str) -> None:
        from transformers import AutoTokenizer

        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(str(name_or_path))
        except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ModelLoadError(f"cannot load tokenizer {str(name_or_path)!r}: {first}") from exc
        self.name = f"tokenizer:{name_or_path}"

    def __call__(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def length_summary(values: Sequence[int]) -> dict[str, float | int | None]:
    """n, min, quartiles (nearest rank), max and mean of ``values``; None fields when empty."""
    if not values:
        return {
            "n": 0,
            "min": None,
            "p25": None,
            "median": None,
            "p75": None,
            "max": None,
            "mean": None,
        }
    ordered = sorted(values)

    def rank(q: float) -> int:  # nearest-rank percentile: the ceil(q*n)-th smallest value
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "min": ordered[0],
        "p25": rank(0.25),
        "median": rank(0.5),
        "p75": rank(0.75),
        "max": ordered[-1],
        "mean": round(sum(ordered) / len(ordered), 1),
    }
