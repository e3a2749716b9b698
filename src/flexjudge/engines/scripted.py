"""A scripted engine: returns outputs given in advance, registered like a real engine.

It is a *fake*, named as such: it lets parser, voting, order-control and CLI tests run the
real pipeline on exact outputs. It never replaces the tests of real engines on real tiny
checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flexjudge.engines.base import (
    ChatRequest,
    Completion,
    Engine,
    EngineInfo,
    SamplingParams,
)
from flexjudge.engines.chatml import render_chatml

Script = Sequence[str] | Callable[[ChatRequest, int], str]


class ScriptedEngine(Engine):
    """Answers each request with the next scripted output (cycling), or with
    ``script(request, sample_index)`` when the script is a function. Stop strings are applied
    exactly as real engines apply them. ``calls`` records every generate call."""

    def __init__(self, script: Script, modalities: Sequence[str] = ("image", "video", "audio")):
        self.script = script
        self.modalities = frozenset(modalities)
        self.calls: list[tuple[list[ChatRequest], SamplingParams]] = []
        self._next = 0

    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        self.calls.append((list(requests), params))
        out = []
        for req in requests:
            comps = []
            for k in range(params.n):
                text = self._text(req, k)
                text, stopped = params.truncate(text)
                comps.append(Completion(text, "stop" if stopped else "eos", len(text.split())))
            out.append(comps)
        return out

    def _text(self, req: ChatRequest, k: int) -> str:
        if callable(self.script):
            return self.script(req, k)
        text = self.script[self._next % len(self.script)]
        self._next += 1
        return text

    def render(self, request: ChatRequest) -> str:
        return render_chatml(request)

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(engine="scripted", model="scripted")
