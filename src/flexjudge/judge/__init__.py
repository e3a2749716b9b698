"""Judging: the pipeline, voting, and the Python API."""

from flexjudge.judge.api import DEFAULT_MODEL, Judge
from flexjudge.judge.pipeline import JudgeConfig, judge_stream
from flexjudge.judge.voting import aggregate

__all__ = ["DEFAULT_MODEL", "Judge", "JudgeConfig", "aggregate", "judge_stream"]
