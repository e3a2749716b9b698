"""How to judge: one declaration of every judging setting, its default and its help. The
Python API (``Judge(..., votes=5)``), the CLI flags and the benchmark protocols all read it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from flexjudge.engines.base import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    SamplingParams,
)
from flexjudge.errors import ConfigError
from flexjudge.judge.voting import ScoreReduce
from flexjudge.options import option

Order = Literal["fixed", "swap", "random"]
ORDERS: tuple[str, ...] = ("fixed", "swap", "random")


@dataclass(frozen=True)
class JudgeConfig:
    """How to judge: votes, order control, sampling and batching."""

    votes: int = option(1, "Sampled reasoning paths per order (majority voting).", short="-k")
    order: Order = option(
        "fixed",
        "Position-bias control: fixed (as given), swap (both orders; reversed for batch), "
        "random (a seeded shuffle per item).",
    )
    temperature: float = option(DEFAULT_TEMPERATURE, "Sampling temperature (0 = greedy).")
    top_p: float = option(DEFAULT_TOP_P, "Nucleus sampling mass.")
    max_new_tokens: int = option(DEFAULT_MAX_NEW_TOKENS, "Token budget per sampled judgment.")
    seed: int = option(0, "Sampling seed (also seeds --order random).")
    budget_forcing: int = option(
        0, 'Times to replace </think> with "Wait" and continue (0-4, s1-style).'
    )
    score_reduce: ScoreReduce = option("mean", "How votes' scores aggregate.")
    batch_size: int = option(8, "Requests per engine call (each brings votes x orders sequences).")
    adaptive: bool = option(
        False,
        "Draw --votes in rounds and stop an item once the votes left cannot change its verdict "
        "(flexjudge.judge.adaptive).",
    )
    adaptive_tolerance: float = option(
        1.0,
        "With --adaptive: a score item stops once the votes left cannot move its score by more "
        "than this many scale points.",
    )
    prime_think: bool = option(
        True, "Start the assistant turn with <think> (as the checkpoints were trained).", cli=False
    )

    def __post_init__(self) -> None:
        for name in ("votes", "batch_size", "max_new_tokens", "seed", "budget_forcing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} must be an integer, got {value!r}")
        if self.votes < 1:
            raise ConfigError(f"votes must be at least 1, got {self.votes}")
        if self.order not in ORDERS:
            raise ConfigError(f"unknown order {self.order!r}: use one of {', '.join(ORDERS)}")
        if not 0 <= self.budget_forcing <= 4:
            raise ConfigError(f"budget_forcing must be 0 to 4, got {self.budget_forcing}")
        if self.score_reduce not in ("mean", "median"):
            raise ConfigError(
                f"unknown score aggregation {self.score_reduce!r}: use mean or median"
            )
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}")
        tol = self.adaptive_tolerance
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < math.inf:
            raise ConfigError(
                f"adaptive_tolerance must be a number >= 0, got {self.adaptive_tolerance!r}"
            )
        SamplingParams(
            temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens
        )  # validates the ranges
