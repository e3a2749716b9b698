"""Model helpers: tiny random checkpoints for tests, demos and benchmarks."""

from __future__ import annotations

from flexjudge.models.tiny import build_tiny_model

__all__ = ["build_tiny_model"]
