"""``flexjudge serve``: the judge as an HTTP reward server for RL loops (FastAPI on uvicorn).

The app and the runner need the ``serve`` extra (fastapi, uvicorn, prometheus-client) and are
imported on first use; the batcher, the judge spec and the settings do not, so the in-process
reward adapters (:mod:`flexjudge.integrations`) use them without the server.
"""

from __future__ import annotations

from typing import Any

from flexjudge.run.batcher import Batcher, QueueFull, ShuttingDown
from flexjudge.run.judge_spec import JudgeSpec, MeteredEngine
from flexjudge.serve.config import ServeConfig

__all__ = [
    "Batcher",
    "JudgeSpec",
    "MeteredEngine",
    "QueueFull",
    "ServeConfig",
    "ShuttingDown",
    "create_app",
    "run_server",
]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "run_server"):
        from flexjudge.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'flexjudge.serve' has no attribute {name!r}")
