"""``flexjudge sample``: candidate responses from a policy, through any engine and the store.

Rules:

* **Engines.** Sampling goes through :meth:`Engine.generate <flexjudge.engines.Engine.generate>`
  with :class:`~flexjudge.engines.SamplingParams`: no stop strings (a policy answers until its
  end of turn), ``max_new_tokens`` always set. Prompts are rendered by the policy's own chat
  template (:meth:`PolicyPrompt.chat <flexjudge.loop.prompts.PolicyPrompt.chat>`).
* **Candidates per prompt.** ``n`` in all, spread over the temperatures in the order given
  (round robin: ``n=16`` over ``0.8, 1.2`` is 8 at each; the paper's DPO recipe is ``n=2``
  over ``0.8, 1.2``). Candidate ``index`` counts 0..n-1 through the temperatures in that
  order; its id is ``"<prompt id>#<index>"``.
* **Seeds.** One generate call takes one :class:`SamplingParams`, so the prompts of a call
  share a seed: ``seed + k + SEED_STRIDE * j`` for the ``k``-th repetition of a prompt (same
  turns and media; 0 for its first occurrence) at the ``j``-th temperature. Without the
  ``k``, the store would answer a repeated prompt with the first one's candidates; without
  the ``j``, the candidates at two temperatures would share their random draws and come out
  nearly alike. Each candidate records its temperature, seed, position among the request's
  ``n`` samples (``sample``), token count and finish reason.
* **Resuming.** With a store, every call's completions are cached under their prompt and
  parameters before the next call starts; running the same command again after a kill
  generates only what is missing, and writes the output whole, in prompt order (through
  ``OUT.partial``). As with judging, a resumed run reproduces an uninterrupted one exactly
  only where the batches are the same (``batch_size=1``); nothing is ever generated twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.engines.base import ChatRequest, Completion, Engine, SamplingParams
from flexjudge.errors import ConfigError
from flexjudge.io import AtomicWriter, dump_json_line
from flexjudge.loop.prompts import PolicyPrompt, iter_prompts
from flexjudge.run.progress import RunProgress
from flexjudge.store import CachedEngine
from flexjudge.store.keys import MediaHasher, describe, keyed

#: Seed distance between temperatures (a prime above any realistic count of repetitions).
SEED_STRIDE = 1_000_003


@dataclass(frozen=True)
class SampleSettings:
    """How to sample (module rules)."""

    n: int = 16
    temperatures: tuple[float, ...] = (1.0,)
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0
    batch_size: int = 8

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ConfigError(f"n must be a positive integer, got {self.n!r}")
        if not self.temperatures:
            raise ConfigError("give at least one temperature")
        if len(set(self.temperatures)) != len(self.temperatures):
            raise ConfigError(f"temperatures repeat: {list(self.temperatures)}")
        if len(self.temperatures) > self.n:
            raise ConfigError(
                f"{len(self.temperatures)} temperatures for n={self.n} candidates: each "
                "temperature needs at least one"
            )
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}")
        for t in self.temperatures:
            self.params(t, 1, self.seed)  # validates every range once, before any loading

    def counts(self) -> list[tuple[float, int]]:
        """(temperature, candidates at it) in order (round robin over the temperatures)."""
        k = len(self.temperatures)
        return [
            (t, self.n // k + (1 if j < self.n % k else 0)) for j, t in enumerate(self.temperatures)
        ]

    def seed_for(self, temperature_index: int, repetition: int) -> int:
        return self.seed + repetition + SEED_STRIDE * temperature_index

    def params(self, temperature: float, n: int, seed: int) -> SamplingParams:
        return SamplingParams(
            n=n,
            temperature=temperature,
            top_p=self.top_p,
            max_new_tokens=self.max_new_tokens,
            seed=seed,
        )


@dataclass
class SampleSummary:
    output: Path
    prompts: int = 0
    candidates: int = 0
    finish_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    from_store: int = 0
    generated: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "prompts": self.prompts,
            "candidates": self.candidates,
            "finish_reasons": dict(self.finish_reasons),
            "seconds": round(self.seconds, 3),
            "from_store": self.from_store,
            "generated": self.generated,
        }


def repetition_rounds(chats: Sequence[ChatRequest]) -> list[int]:
    """For each chat, how many earlier chats have the same turns and media (by content)."""
    hasher = MediaHasher()
    probe = SamplingParams()
    seen: dict[str, int] = {}
    rounds = []
    for ((key, _),) in (keyed([describe(c, probe, {}, hasher)]) for c in chats):
        rounds.append(seen.get(key, 0))
        seen[key] = rounds[-1] + 1
    return rounds


def sample_prompts(
    engine: Engine,
    prompts: Sequence[PolicyPrompt],
    settings: SampleSettings,
    *,
    progress: RunProgress | None = None,
) -> list[list[dict[str, Any]]]:
    """The candidate rows of every prompt (module rules), in prompt order: one generate call
    per (temperature, seed round, batch of ``batch_size`` prompts). ``progress`` advances
    once per prompt and temperature."""
    native = "molecule" in engine.modalities
    chats = [p.chat(native=native) for p in prompts]
    for chat in chats:  # media problems raise here, named, before anything is generated
        engine.check(chat)
    rounds = repetition_rounds(chats)
    got: list[dict[float, list[Completion]]] = [{} for _ in prompts]
    for j, (temperature, count) in enumerate(settings.counts()):
        for r in sorted(set(rounds)):
            todo = [i for i, k in enumerate(rounds) if k == r]
            params = settings.params(temperature, count, settings.seed_for(j, r))
            for start in range(0, len(todo), settings.batch_size):
                batch = todo[start : start + settings.batch_size]
                for i, comps in zip(batch, engine.generate([chats[i] for i in batch], params)):
                    got[i][temperature] = comps
                    if progress is not None:
                        progress.advance()
    return [_rows(prompt, got[i], settings, rounds[i]) for i, prompt in enumerate(prompts)]


def _rows(
    prompt: PolicyPrompt,
    got: dict[float, list[Completion]],
    settings: SampleSettings,
    repetition: int,
) -> list[dict[str, Any]]:
    rows = []
    index = 0
    for j, (temperature, _) in enumerate(settings.counts()):
        seed = settings.seed_for(j, repetition)
        for k, c in enumerate(got[temperature]):
            rows.append(
                {
                    "prompt_id": prompt.id,
                    **prompt.row_fields(),
                    "candidate_id": f"{prompt.id}#{index}",
                    "index": index,
                    "response": c.text,
                    "temperature": temperature,
                    "seed": seed,
                    "sample": k,
                    "n_tokens": c.n_tokens,
                    "finish_reason": c.finish_reason,
                }
            )
            index += 1
    return rows


def sample_into(
    engine: Engine,
    prompts: Sequence[PolicyPrompt],
    output: Path,
    settings: SampleSettings,
    *,
    model: str = "",
    progress: RunProgress | None = None,
) -> SampleSummary:
    """Sample every prompt into ``output`` (one candidate per line, written atomically)."""
    summary = SampleSummary(output, prompts=len(prompts))
    stats = engine.stats if isinstance(engine, CachedEngine) else None
    hits0, gen0 = (stats.hits, stats.generated) if stats else (0, 0)
    start = time.perf_counter()
    groups = sample_prompts(engine, prompts, settings, progress=progress)
    with AtomicWriter(output) as out:
        for row in _flatten(groups):
            if model:
                row["model"] = model
            out.write(dump_json_line(row))
            summary.candidates += 1
            reason = str(row["finish_reason"])
            summary.finish_reasons[reason] = summary.finish_reasons.get(reason, 0) + 1
    summary.seconds = time.perf_counter() - start
    if stats:
        summary.from_store, summary.generated = stats.hits - hits0, stats.generated - gen0
    return summary


def _flatten(groups: Sequence[Sequence[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for rows in groups:
        yield from rows


class Sampler:
    """A policy to sample from: ``Sampler(model, engine="transformers", store=PATH,
    **engine_options)``, the sampling twin of :class:`~flexjudge.Judge` (same engines, same
    store). ``sample(prompts, settings)`` returns each prompt's candidate rows;
    :meth:`sample_into` writes them to a file. ``prompts`` are :class:`PolicyPrompt` objects
    or prompt-file rows (dicts)."""

    def __init__(
        self,
        model: str,
        *,
        engine: str | Engine = "transformers",
        store: str | os.PathLike[str] | None = None,
        cache: bool = True,
        **options: Any,
    ) -> None:
        from flexjudge.engines.registry import create_engine
        from flexjudge.store import Store

        self.model = str(model)
        self.base_engine = (
            engine if isinstance(engine, Engine) else create_engine(engine, model, **options)
        )
        self._owns_engine = not isinstance(engine, Engine)
        try:
            self.store = Store(Path(store), lock=True) if store is not None else None
        except BaseException:
            self.close()
            raise
        self.engine: Engine = (
            CachedEngine(self.base_engine, self.store, read=cache)
            if self.store
            else self.base_engine
        )

    @staticmethod
    def _prompts(prompts: Sequence[PolicyPrompt | Mapping[str, Any]]) -> list[PolicyPrompt]:
        if all(isinstance(p, PolicyPrompt) for p in prompts):
            return list(prompts)  # type: ignore[arg-type]
        rows = [p if isinstance(p, Mapping) else {"prompt": p} for p in prompts]
        return list(iter_prompts(rows))

    def sample(
        self,
        prompts: Sequence[PolicyPrompt | Mapping[str, Any]],
        settings: SampleSettings | None = None,
        *,
        progress: RunProgress | None = None,
    ) -> list[list[dict[str, Any]]]:
        rows = sample_prompts(
            self.engine, self._prompts(prompts), settings or SampleSettings(), progress=progress
        )
        for group in rows:
            for row in group:
                row["model"] = self.model
        return rows

    def sample_into(
        self,
        prompts: Sequence[PolicyPrompt | Mapping[str, Any]],
        output: str | os.PathLike[str],
        settings: SampleSettings | None = None,
        *,
        progress: RunProgress | None = None,
    ) -> SampleSummary:
        return sample_into(
            self.engine,
            self._prompts(prompts),
            Path(output),
            settings or SampleSettings(),
            model=self.model,
            progress=progress,
        )

    def close(self) -> None:
        try:
            if self._owns_engine:
                self.base_engine.close()
        finally:
            store, self.store = getattr(self, "store", None), None
            if store is not None:
                store.close()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
