"""The judge a server (or an in-process reward adapter) runs: built from a :class:`JudgeSpec`
inside the thread that will use it, with its store, and with its engine metered.

The judge is built in its worker thread because the store's SQLite connection belongs to the
thread that opened it; nothing else touches the judge.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flexjudge.engines.base import ChatRequest, Completion, Engine, EngineInfo, SamplingParams
from flexjudge.engines.registry import create_engine
from flexjudge.judge.api import Judge
from flexjudge.judge.config import JudgeConfig


class MeteredEngine(Engine):
    """``engine``, reporting the completion tokens it generates to ``on_tokens``. Everything
    else (info, rendering, checks, modalities) is the wrapped engine's, so store keys are the
    same as those of ``flexjudge run`` with the same engine: a run's store serves the server
    and the other way round. Inside a store, only generated completions are counted."""

    def __init__(self, engine: Engine, on_tokens: Callable[[int], None]) -> None:
        self.engine = engine
        self.on_tokens = on_tokens

    @property
    def modalities(self) -> frozenset[str]:  # type: ignore[override]
        return self.engine.modalities

    @property
    def info(self) -> EngineInfo:
        return self.engine.info

    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        out = self.engine.generate(requests, params)
        self.on_tokens(sum(c.n_tokens for comps in out for c in comps))
        return out

    def render(self, request: ChatRequest) -> str:
        return self.engine.render(request)

    def check(self, request: ChatRequest) -> None:
        self.engine.check(request)

    def close(self) -> None:
        self.engine.close()


def load_weights(engine: Engine) -> None:
    """Load ``engine``'s weights now instead of on its first request, so that readiness means
    the weights are in memory. Engines without weights of their own (a server behind the openai
    engine) are ready as built.

    (An ``Engine.load()`` hook on the base class would replace this; the two local-weight
    engines are named here, looked up only if their modules are already imported.)"""
    inner = engine.engine if isinstance(engine, MeteredEngine) else engine
    hf = sys.modules.get("flexjudge.engines.hf")
    if hf is not None and isinstance(inner, hf.TransformersEngine):
        inner.model  # noqa: B018 - the property loads the weights
        return
    vllm = sys.modules.get("flexjudge.engines.vllm")
    if vllm is not None and isinstance(inner, vllm.VLLMEngine):
        inner.llm  # noqa: B018 - the property starts vLLM


@dataclass(frozen=True)
class JudgeSpec:
    """What to build: ``Judge(model, engine=..., store=..., config=..., **engine_options)``,
    with the engine metered. ``engine`` may also be a factory returning an engine instance
    (for callers that bring their own)."""

    model: str
    engine: str | Callable[[], Engine] = "transformers"
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    config: JudgeConfig = field(default_factory=JudgeConfig)
    store: str | os.PathLike[str] | None = None
    cache: bool = True

    def build(self, on_tokens: Callable[[int], None] = lambda n: None) -> Judge:
        if callable(self.engine):
            base = self.engine()
        else:
            base = create_engine(self.engine, self.model, **dict(self.engine_options))
        try:
            return Judge(
                engine=MeteredEngine(base, on_tokens),
                store=self.store,
                cache=self.cache,
                config=self.config,
            )
        except BaseException:
            base.close()
            raise

    @property
    def engine_name(self) -> str:
        return self.engine if isinstance(self.engine, str) else "custom"
