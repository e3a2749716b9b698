"""Teacher traces: generate them with any flexjudge engine (resumable), or import the official
``{prompt, text}`` files.

The teacher prompt is flexjudge's pairwise prompt at scale 1-10 with the default criteria, built
by :func:`~flexjudge.prompts.build_chat`: its system prompt is JudgeLRM-7B's, verbatim, and the
assistant turn is primed with ``<think>\\n``, as in the official ``judgelrm_generation.py``.
The paper's settings are the defaults: temperature 0.1, top-p 0.95, at most 4096 new tokens,
seeds 13 and 79.

**Trace files** are append-only JSONL, one ``{"question_id", "seed", "text", "finish_reason",
"n_tokens"}`` row per (question id, seed). Resuming rules:

* rows already in the file are never generated again; only missing (id, seed) keys are;
* rows are written and flushed after every engine call, so a killed run loses at most the
  batch in flight; a last line cut off mid-write (no final newline) is removed on resume;
* a sidecar ``<file>.settings.json`` holds the sampling settings and the engine's model; a
  resume with different ones raises :class:`~flexjudge.errors.ConfigError` (mixed settings
  would make one data set out of two recipes). Adding seeds is allowed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from flexjudge.curate.corpus import CorpusItem
from flexjudge.engines.base import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TOP_P,
    Engine,
    SamplingParams,
)
from flexjudge.errors import ConfigError, EngineError, InputError
from flexjudge.io import read_jsonl
from flexjudge.parsing import AnswerSpec
from flexjudge.prompts import build_chat
from flexjudge.request import JudgeRequest, Scale, Task

#: The teacher's scale and answer format: two integer scores in 1-10, ties allowed.
TEACHER_SCALE = Scale(1, 10, 0)
TEACHER_SPEC = AnswerSpec(Task.PAIRWISE, 2, TEACHER_SCALE, tie=True)


def teacher_request(item: CorpusItem) -> JudgeRequest:
    """The pairwise 1-10 request of a corpus item (JudgeLRM's prompt once built)."""
    return JudgeRequest.build(
        id=item.question_id,
        task=Task.PAIRWISE,
        instruction=item.question,
        responses=[item.answer1, item.answer2],
        scale=TEACHER_SCALE,
    )


@dataclass(frozen=True)
class TeacherSettings:
    """Sampling settings of the teacher (the paper's by default)."""

    seeds: tuple[int, ...] = (13, 79)
    temperature: float = 0.1
    top_p: float = DEFAULT_TOP_P
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    batch_size: int = 8

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct and at least one, got {self.seeds}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}")
        self.sampling(self.seeds[0])  # validates temperature, top_p, max_new_tokens

    def sampling(self, seed: int) -> SamplingParams:
        return SamplingParams(
            n=1,
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=self.max_new_tokens,
            seed=seed,
        )


@dataclass(frozen=True)
class Trace:
    """One teacher output: the text generated after the primed ``<think>\\n``."""

    question_id: str
    seed: int
    text: str
    finish_reason: str = ""
    n_tokens: int = 0


@dataclass(frozen=True)
class GenerationReport:
    existing: int
    """Traces already in the file when the run started."""
    generated: int
    total: int
    """Traces the corpus and seeds call for."""
    repaired_tail: bool = False
    """Whether a last line cut off mid-write was removed."""


def _settings_path(path: Path) -> Path:
    return path.with_name(path.name + ".settings.json")


def _repair_tail(path: Path) -> bool:
    """Remove a last line with no final newline (a write cut off by a kill)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return False
    with path.open("r+b") as fh:
        fh.truncate(data.rfind(b"\n") + 1)
    return True


def _ends_mid_line(path: Path) -> bool:
    """Whether the file's last line lacks its newline (a write cut off by a kill)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return False
        with path.open("rb") as fh:
            fh.seek(size - 1)
            return fh.read(1) != b"\n"
    except OSError:
        return False  # read_jsonl names the problem


def read_traces(path: str | Path) -> list[Trace]:
    """Read a trace file. Repeated (id, seed) keys keep the first row. A last line without a
    final newline (a killed write) is ignored; any other bad line raises InputError."""
    path = Path(path)
    cut_off = _ends_mid_line(path)
    lines = list(read_jsonl(path, what="trace file"))
    if cut_off and lines:
        lines = lines[:-1]  # a write cut off by a kill
    traces: list[Trace] = []
    seen: set[tuple[str, int]] = set()
    for line in lines:
        if line.error is not None:
            raise line.error
        row = line.value
        try:
            trace = Trace(
                str(row["question_id"]),
                int(row["seed"]),
                str(row["text"]),
                str(row.get("finish_reason", "")),
                int(row.get("n_tokens", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not a trace row ({exc!s:.80})", path=path, line=line.number) from exc
        key = (trace.question_id, trace.seed)
        if key not in seen:
            seen.add(key)
            traces.append(trace)
    return traces


def _check_settings(path: Path, settings: TeacherSettings, model: str) -> None:
    """Write the sidecar on first use; on resume, refuse different sampling settings."""
    record = {
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "max_new_tokens": settings.max_new_tokens,
        "model": model,
        "prompt": "flexjudge pairwise 1-10 (JudgeLRM system prompt), <think> primed",
    }
    side = _settings_path(path)
    if side.exists():
        old = json.loads(side.read_text(encoding="utf-8"))
        diff = [f"{k}={old.get(k)!r} (now {v!r})" for k, v in record.items() if old.get(k) != v]
        if diff:
            raise ConfigError(
                f"{path} was generated with other settings: {', '.join(diff)}; "
                "resume with the same settings or write to another traces file"
            )
    else:
        side.write_text(
            json.dumps({**record, "seeds": list(settings.seeds)}, indent=2) + "\n", encoding="utf-8"
        )


def generate_traces(
    items: Sequence[CorpusItem],
    engine: Engine,
    path: str | Path,
    settings: TeacherSettings = TeacherSettings(),
    *,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationReport:
    """Generate every missing (question id, seed) trace into ``path``, resuming a partial file.

    Items go to the engine ``batch_size`` at a time, once per seed (one engine call per batch
    and seed, since a call has one seed). An engine failure raises
    :class:`~flexjudge.errors.EngineError` after everything finished before it is on disk.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    repaired = _repair_tail(path)
    _check_settings(path, settings, engine.info.model)
    known = {it.question_id for it in items}
    done: set[tuple[str, int]] = set()
    if path.exists():
        for trace in read_traces(path):
            if trace.question_id not in known:
                raise InputError(
                    f"{path} holds traces for question id {trace.question_id!r}, "
                    "which is not in the corpus: was it made from another corpus?"
                )
            done.add((trace.question_id, trace.seed))
    total = len(items) * len(settings.seeds)
    existing = sum((it.question_id, s) in done for it in items for s in settings.seeds)
    generated = 0
    if progress:
        progress(existing, total)
    with path.open("a", encoding="utf-8") as fh:
        for start in range(0, len(items), settings.batch_size):
            chunk = items[start : start + settings.batch_size]
            for seed in settings.seeds:
                todo = [it for it in chunk if (it.question_id, seed) not in done]
                if not todo:
                    continue
                chats = [build_chat(teacher_request(it)) for it in todo]
                try:
                    outputs = engine.generate(chats, settings.sampling(seed))
                except Exception as exc:
                    raise EngineError(
                        f"teacher generation stopped after {generated} new traces "
                        f"({existing + generated} of {total} in {path}); rerun to resume: "
                        f"{exc}"
                    ) from exc
                for it, completions in zip(todo, outputs):
                    c = completions[0]
                    row = asdict(Trace(it.question_id, seed, c.text, c.finish_reason, c.n_tokens))
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                    done.add((it.question_id, seed))
                fh.flush()
                os.fsync(fh.fileno())  # a kill or power loss keeps every finished batch
                generated += len(todo)
                if progress:
                    progress(existing + generated, total)
    return GenerationReport(existing, generated, total, repaired)


def import_official(items: Sequence[CorpusItem], path: str | Path, seed: int = 0) -> list[Trace]:
    """Traces from an official ``judgelrm_generation.py`` file (``{"prompt", "text", ...}``
    JSONL, one row per corpus row, in corpus order), tagged with ``seed``.

    Alignment check: the file has exactly one row per corpus item, and each row's ``prompt``
    contains its item's question and both answers (white space at their ends aside).
    """
    path = Path(path)
    rows = []
    for line in read_jsonl(path, what="teacher outputs"):
        if line.error is not None:
            raise line.error
        row = line.value
        if not isinstance(row.get("prompt"), str) or not isinstance(row.get("text"), str):
            raise InputError("lacks string 'prompt' and 'text'", path=path, line=line.number)
        rows.append(row)
    if len(rows) != len(items):
        raise InputError(
            f"teacher outputs {path} have {len(rows)} rows but the corpus has "
            f"{len(items)}: they must align row by row (cut the corpus with --limit)"
        )
    misaligned = [
        (n, it)
        for n, (row, it) in enumerate(zip(rows, items), 1)
        if not all(part.strip() in row["prompt"] for part in (it.question, it.answer1, it.answer2))
    ]
    if misaligned:
        n, it = misaligned[0]
        raise InputError(
            f"teacher outputs {path} do not align with the corpus: {len(misaligned)} of "
            f"{len(rows)} rows hold another item's prompt (first: row {n}, expected "
            f"question_id {it.question_id!r})"
        )
    return [
        Trace(it.question_id, seed, row["text"], "imported", len(row.get("tokens") or ()))
        for row, it in zip(rows, items)
    ]
