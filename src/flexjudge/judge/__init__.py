"""Judging: the settings, the pipeline, voting, and the Python API."""

from flexjudge.judge.api import DEFAULT_MODEL, Judge
from flexjudge.judge.config import ORDERS, JudgeConfig, Order
from flexjudge.judge.pipeline import judge_stream
from flexjudge.judge.voting import aggregate

__all__ = ["DEFAULT_MODEL", "ORDERS", "Judge", "JudgeConfig", "Order", "aggregate", "judge_stream"]
