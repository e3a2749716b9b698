"""Loaders for the benchmarks' own published file formats.

Each loader returns plain frozen dataclasses. JSONL files are read lazily (``iter_*``, one line
at a time); the JSON-array and CSV files are small and returned as lists. Any problem - missing
file, malformed line, missing field, a label outside the benchmark's vocabulary - raises
:class:`~flexjudge.bench.errors.BenchmarkDataError` naming the file, the line or item, and the cause.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import GENAI_VOTES, PAIR_CHOICES

__all__ = [
    "GENAI_TASKS",
    "VLRB_CATEGORIES",
    "GenAIBenchRecord",
    "JudgeAnswer",
    "MLLMJudgeBatchItem",
    "MLLMJudgePairItem",
    "MLLMJudgeScoreItem",
    "PandaLMItem",
    "PandaLMJudgment",
    "SomosUtterance",
    "VLRewardBenchItem",
    "genai_bench_task",
    "iter_genai_bench",
    "iter_jsonl",
    "iter_mllm_judge_batch",
    "iter_mllm_judge_pair",
    "iter_mllm_judge_score",
    "iter_somos_mos_list",
    "iter_vl_rewardbench",
    "load_json_array",
    "load_pandalm_judgments",
    "load_pandalm_testset",
]

#: GenAI-Bench task names as used in its result paths (``image_edition`` = image editing).
GENAI_TASKS: tuple[str, ...] = ("image_generation", "image_edition", "video_generation")

# --------------------------------------------------------------------------------------------
# Generic reading helpers
# --------------------------------------------------------------------------------------------


def _open(path: Path) -> Any:
    try:
        return path.open("r", encoding="utf-8")
    except FileNotFoundError:
        raise BenchmarkDataError(path, "file not found") from None
    except IsADirectoryError:
        raise BenchmarkDataError(path, "is a directory, expected a file") from None


def iter_jsonl(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line (1-based line numbers).

    A line that is not JSON, or not a JSON object, raises with its line number.
    """
    path = Path(path)
    with _open(path) as fh:
        for lineno, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BenchmarkDataError(
                    path, f"malformed JSON ({exc.msg} at column {exc.colno})", line=lineno
                ) from None
            if not isinstance(obj, dict):
                raise BenchmarkDataError(
                    path, f"expected a JSON object, got {type(obj).__name__}", line=lineno
                )
            yield lineno, obj


def load_json_array(path: Path | str) -> list[dict[str, Any]]:
    """Read a file holding one JSON array of objects (the PandaLM files)."""
    path = Path(path)
    with _open(path) as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise BenchmarkDataError(path, f"malformed JSON ({exc.msg})", line=exc.lineno) from None
    if not isinstance(data, list):
        raise BenchmarkDataError(path, f"expected a JSON array, got {type(data).__name__}")
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise BenchmarkDataError(
                path, f"expected a JSON object, got {type(obj).__name__}", item=i
            )
    return data


class _Fields:
    """Typed access to one record's fields; every failure names the file and line/item."""

    def __init__(
        self,
        obj: dict[str, Any],
        path: Path,
        *,
        line: int | None = None,
        item: object | None = None,
    ):
        self.obj, self.path, self.line, self.item = obj, path, line, item

    def fail(self, cause: str) -> BenchmarkDataError:
        return BenchmarkDataError(self.path, cause, line=self.line, item=self.item)

    def get(self, key: str, *types: type, optional: bool = False) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise self.fail(f"missing field {key!r}")
        value = self.obj[key]
        if value is None and optional:
            return None
        # bool is an int subclass; a bool where an int is expected is a format error
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise self.fail(f"field {key!r} must be {names}, got {type(value).__name__} {value!r}")
        return value

    def text(self, key: str, *, optional: bool = False) -> Any:
        return self.get(key, str, optional=optional)

    def integer(self, key: str, *, optional: bool = False) -> Any:
        return self.get(key, int, optional=optional)


# --------------------------------------------------------------------------------------------
# PandaLM
# --------------------------------------------------------------------------------------------

_PANDALM_CLASSES = (0, 1, 2)


@dataclass(frozen=True)
class PandaLMItem:
    """One item of PandaLM's human-annotated test set (``testset-v1.json``).

    ``label`` is the majority of the three annotators: 0 = tie, 1 / 2 = that response is better.
    """

    idx: int
    instruction: str
    input: str
    response1: str
    response2: str
    annotators: tuple[int, int, int]
    label: int
    cmp_key: str | None = None
    motivation_app: str | None = None


@dataclass(frozen=True)
class PandaLMJudgment:
    """One line of a PandaLM judge result file; ``result`` is kept raw (``"1"``, ``2``, ``"Tie"``,
    ``"garbage"``...). How it is read is the scoring protocol's business (see predictions.py)."""

    idx: int
    result: str | int
    reason: str | None = None


def _response_text(f: _Fields, key: str) -> str:
    # testset-v1.json holds six responses as JSON `true` (idx 157-164), not strings.
    value = f.get(key, str, bool, int, float)
    return value if isinstance(value, str) else str(value)


def load_pandalm_testset(path: Path | str) -> list[PandaLMItem]:
    """Load ``testset-v1.json``. Annotations must be 0, 1 or 2 and have a majority (no three-way
    split); ``idx`` must be unique. A response stored as a JSON boolean or number (six in the
    published file are ``true``) is kept as its Python text (``"True"``)."""
    path = Path(path)
    items: list[PandaLMItem] = []
    seen: set[int] = set()
    for i, obj in enumerate(load_json_array(path)):
        f = _Fields(obj, path, item=obj.get("idx", i))
        idx = f.integer("idx")
        votes = tuple(f.integer(f"annotator{k}") for k in (1, 2, 3))
        for v in votes:
            if v not in _PANDALM_CLASSES:
                raise f.fail(f"annotation {v!r} is not one of {list(_PANDALM_CLASSES)}")
        label, count = Counter(votes).most_common(1)[0]
        if count < 2:
            raise f.fail(f"annotators disagree three ways {votes}: no majority label")
        if idx in seen:
            raise f.fail("duplicate idx")
        seen.add(idx)
        items.append(
            PandaLMItem(
                idx=idx,
                instruction=f.text("instruction"),
                input=f.text("input"),
                response1=_response_text(f, "response1"),
                response2=_response_text(f, "response2"),
                annotators=votes,  # type: ignore[arg-type]
                label=label,
                cmp_key=f.text("cmp_key", optional=True),
                motivation_app=f.text("motivation_app", optional=True),
            )
        )
    return items


def load_pandalm_judgments(path: Path | str) -> list[PandaLMJudgment]:
    """Load a PandaLM judge result file (``gpt-3.5-turbo-testset-v1.json``,
    ``pandalm-7b-testset-v1.json``...): a JSON array whose objects hold ``idx`` and exactly one
    ``<judge>_result`` field (str or int), optionally ``<judge>_reason``."""
    path = Path(path)
    out: list[PandaLMJudgment] = []
    for i, obj in enumerate(load_json_array(path)):
        f = _Fields(obj, path, item=obj.get("idx", i))
        keys = [k for k in obj if k.endswith("_result")]
        if len(keys) != 1:
            raise f.fail(f"expected exactly one '<judge>_result' field, found {keys or 'none'}")
        result = f.get(keys[0], str, int)
        reason_key = keys[0][: -len("_result")] + "_reason"
        out.append(PandaLMJudgment(f.integer("idx"), result, f.text(reason_key, optional=True)))
    return out


# --------------------------------------------------------------------------------------------
# GenAI-Bench
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenAIBenchRecord:
    """One record of a GenAI-Bench judge result file (``results/<task>/<judge>/pairwise.jsonl``).

    ``model_vote`` is kept raw (a ``[[...]]`` string, free text, or ``None`` for a refusal);
    ``prompt`` is ``prompt``, or ``instruct_prompt`` for image editing. The judge's long
    ``response`` text is not kept.
    """

    idx: int
    human_vote: str
    model_vote: str | None
    correct: bool | None
    prompt: str | None
    line: int


def genai_bench_task(path: Path | str) -> str | None:
    """The GenAI-Bench task named by a path component (``image_generation``...), else None."""
    for part in reversed(Path(path).parts):
        if part in GENAI_TASKS:
            return part
    return None


def iter_genai_bench(path: Path | str) -> Iterator[GenAIBenchRecord]:
    """Stream a GenAI-Bench ``pairwise.jsonl``. ``human_vote`` must be one of the four votes."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = _Fields(obj, path, line=lineno)
        human = f.text("human_vote")
        if human not in GENAI_VOTES:
            raise f.fail(f"human_vote {human!r} is not one of {list(GENAI_VOTES)}")
        prompt = f.text("prompt", optional=True)
        if prompt is None:
            prompt = f.text("instruct_prompt", optional=True)
        yield GenAIBenchRecord(
            idx=f.integer("idx"),
            human_vote=human,
            model_vote=f.text("model_vote", optional=True),
            correct=f.get("correct", bool, optional=True),
            prompt=prompt,
            line=lineno,
        )


# --------------------------------------------------------------------------------------------
# VL-RewardBench
# --------------------------------------------------------------------------------------------

#: Category by the image folder in ``image_path``. Inferred, not stated in the file: the folders
#: split 749 / 318 / 183, the Hallucination / Reasoning / General sizes of the VL-RewardBench paper.
VLRB_CATEGORIES: dict[str, str] = {
    "povid": "hallucination",
    "rlaif-v": "hallucination",
    "rlhf-v": "hallucination",
    "reasoning_tasks": "reasoning",
    "wildvision-battle": "general",
    "vlfeedback": "general",
}


@dataclass(frozen=True)
class VLRewardBenchItem:
    """One VL-RewardBench item (``data.jsonl``).

    ``human_ranking`` is a rank per response, 0 = better: ``(0, 1)`` means the first response is
    better. ``category`` comes from :data:`VLRB_CATEGORIES` (``None`` for an unknown folder).
    ``id`` is not unique in the published file, so ``line`` is the stable key.
    """

    id: str
    query: str
    responses: tuple[str, str]
    human_ranking: tuple[int, int]
    image_path: str
    models: tuple[str, ...]
    judge: str | None
    query_source: str | None
    category: str | None
    line: int

    @property
    def better(self) -> int:
        """Index (0 or 1) of the human-preferred response."""
        return self.human_ranking.index(0)


def iter_vl_rewardbench(path: Path | str) -> Iterator[VLRewardBenchItem]:
    """Stream VL-RewardBench ``data.jsonl``. Each item needs two responses and a
    ``human_ranking`` of ``[0, 1]`` or ``[1, 0]``."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = _Fields(obj, path, line=lineno)
        responses = f.get("response", list)
        if len(responses) != 2 or not all(isinstance(r, str) for r in responses):
            raise f.fail(f"'response' must be a list of 2 strings, got {len(responses)} items")
        ranking = f.get("human_ranking", list)
        if ranking not in ([0, 1], [1, 0]):
            raise f.fail(f"human_ranking {ranking!r} is not [0, 1] or [1, 0]")
        image_path = f.text("image_path")
        parts = PurePosixPath(image_path).parts
        folder = parts[1] if len(parts) > 2 else None
        models = f.get("models", list, optional=True) or []
        yield VLRewardBenchItem(
            id=f.text("id"),
            query=f.text("query"),
            responses=(responses[0], responses[1]),
            human_ranking=(ranking[0], ranking[1]),
            image_path=image_path,
            models=tuple(str(m) for m in models),
            judge=f.text("judge", optional=True),
            query_source=f.text("query_source", optional=True),
            category=VLRB_CATEGORIES.get(folder) if folder else None,
            line=lineno,
        )


# --------------------------------------------------------------------------------------------
# SOMOS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SomosUtterance:
    """One row of SOMOS ``test_mos_list``: utterance id, its sentence and system, mean MOS.

    Per SOMOS's readme the utterance id is ``<sentenceId>_<systemId>`` and systemId is
    ``000``-``200`` (000 = natural speech); e.g. ``LJ002-0181_110.wav`` -> system ``110``.
    """

    utterance_id: str
    sentence_id: str
    system_id: str
    mos: float
    line: int


def iter_somos_mos_list(path: Path | str) -> Iterator[SomosUtterance]:
    """Stream a SOMOS ``test_mos_list.csv`` / ``.txt`` (``utteranceId,mean``; header optional).
    The system id must be 000-200 and the MOS within [1, 5]."""
    path = Path(path)
    with _open(path) as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if not row or not "".join(row).strip():
                continue
            if lineno == 1 and row[0].strip() == "utteranceId":
                continue
            if len(row) != 2:
                raise BenchmarkDataError(
                    path, f"expected 2 columns, got {len(row)}: {row!r}", line=lineno
                )
            utt = row[0].strip()
            stem = utt[:-4] if utt.endswith(".wav") else utt
            sentence, sep, system = stem.rpartition("_")
            if not sep or not (len(system) == 3 and system.isdigit() and int(system) <= 200):
                raise BenchmarkDataError(
                    path, f"utterance id {utt!r} does not end in _<systemId 000-200>", line=lineno
                )
            try:
                mos = float(row[1])
            except ValueError:
                raise BenchmarkDataError(
                    path, f"MOS {row[1]!r} is not a number", line=lineno
                ) from None
            if not 1.0 <= mos <= 5.0:
                raise BenchmarkDataError(path, f"MOS {mos} is outside [1, 5]", line=lineno)
            yield SomosUtterance(utt, sentence, system, mos, lineno)


# --------------------------------------------------------------------------------------------
# MLLM-as-a-Judge
# --------------------------------------------------------------------------------------------

_MLLM_SCORES = range(1, 6)


@dataclass(frozen=True)
class JudgeAnswer:
    """One candidate answer: the model that wrote it and its text."""

    name: str
    answer: str


@dataclass(frozen=True)
class _MLLMJudgeBase:
    id: int
    image_path: str
    original_dataset: str
    instruction: str

    @property
    def image_file(self) -> str:
        """``image_path`` with the ``image/`` prefix that some files carry removed (the public
        files mix ``"100.jpg"`` and ``"image/100.jpg"``)."""
        p = PurePosixPath(self.image_path)
        return (
            str(PurePosixPath(*p.parts[1:]))
            if len(p.parts) > 1 and p.parts[0] == "image"
            else self.image_path
        )


@dataclass(frozen=True)
class MLLMJudgeScoreItem(_MLLMJudgeBase):
    """A ``score.jsonl`` record; ``human`` is the 1-5 human score (int or digit string in the file)."""

    score_id: int
    name: str
    answer: str
    human: int
    line: int


@dataclass(frozen=True)
class MLLMJudgePairItem(_MLLMJudgeBase):
    """A ``pair.jsonl`` / ``pair_lite.jsonl`` record; ``human`` is ``A``, ``B`` or ``C`` (tie)."""

    pair_id: int
    answer1: JudgeAnswer
    answer2: JudgeAnswer
    human: str
    line: int


@dataclass(frozen=True)
class MLLMJudgeBatchItem(_MLLMJudgeBase):
    """A ``batch.jsonl`` record; ``human`` is the ranking string, best first (e.g. ``"CDAB"``)."""

    answers: tuple[JudgeAnswer, ...]
    human: str
    line: int


def _human_label(f: _Fields) -> Any:
    # The public pair_lite/batch files name the label `human_answer`, the others `human`.
    has_h, has_ha = "human" in f.obj, "human_answer" in f.obj
    if has_h and has_ha and f.obj["human"] != f.obj["human_answer"]:
        raise f.fail(
            f"'human' {f.obj['human']!r} and 'human_answer' {f.obj['human_answer']!r} disagree"
        )
    if not (has_h or has_ha):
        raise f.fail("missing field 'human' (or 'human_answer')")
    return f.obj["human"] if has_h else f.obj["human_answer"]


def _answer(f: _Fields, value: Any, what: str) -> JudgeAnswer:
    if not (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and isinstance(value.get("answer"), str)
    ):
        raise f.fail(f"{what} must be an object with string 'name' and 'answer'")
    return JudgeAnswer(value["name"], value["answer"])


def _base(f: _Fields) -> dict[str, Any]:
    return {
        "id": f.integer("id"),
        "image_path": f.text("image_path"),
        "original_dataset": f.text("original_dataset"),
        "instruction": f.text("instruction"),
        "line": f.line,
    }


def iter_mllm_judge_score(path: Path | str) -> Iterator[MLLMJudgeScoreItem]:
    """Stream MLLM-as-a-Judge ``score.jsonl``. ``human`` may be an int or a digit string
    (both occur); it must be 1-5."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = _Fields(obj, path, line=lineno)
        raw = _human_label(f)
        if isinstance(raw, str) and raw.strip().isdigit():
            human = int(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            human = raw
        else:
            raise f.fail(f"human score {raw!r} is not an integer")
        if human not in _MLLM_SCORES:
            raise f.fail(f"human score {human} is outside 1-5")
        yield MLLMJudgeScoreItem(
            **_base(f),
            score_id=f.integer("score_id"),
            name=f.text("name"),
            answer=f.text("answer"),
            human=human,
        )


def iter_mllm_judge_pair(path: Path | str) -> Iterator[MLLMJudgePairItem]:
    """Stream MLLM-as-a-Judge ``pair.jsonl`` or ``pair_lite.jsonl`` (label in ``human`` or
    ``human_answer``); the label must be ``A``, ``B`` or ``C``."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = _Fields(obj, path, line=lineno)
        human = _human_label(f)
        if human not in PAIR_CHOICES:
            raise f.fail(f"human label {human!r} is not one of {list(PAIR_CHOICES)}")
        yield MLLMJudgePairItem(
            **_base(f),
            pair_id=f.integer("pair_id"),
            answer1=_answer(f, f.get("answer1", dict), "answer1"),
            answer2=_answer(f, f.get("answer2", dict), "answer2"),
            human=human,
        )


def iter_mllm_judge_batch(path: Path | str) -> Iterator[MLLMJudgeBatchItem]:
    """Stream MLLM-as-a-Judge ``batch.jsonl`` (label in ``human_answer`` in the public file, or
    ``human``). The ranking must use distinct letters naming existing answers (A = first)."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = _Fields(obj, path, line=lineno)
        answers = tuple(
            _answer(f, a, f"answers[{i}]") for i, a in enumerate(f.get("answers", list))
        )
        human = _human_label(f)
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(answers)]
        if not (
            isinstance(human, str)
            and human
            and set(human) <= set(letters)
            and len(set(human)) == len(human)
        ):
            raise f.fail(f"ranking {human!r} is not distinct letters from {letters!r}")
        yield MLLMJudgeBatchItem(**_base(f), answers=answers, human=human)
