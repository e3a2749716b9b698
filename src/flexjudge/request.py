"""What a user asks the judge: tasks, scales, candidates and the request itself."""

from __future__ import annotations

import enum
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flexjudge.errors import ConfigError, InputError

#: An image is a path (str or Path) or a PIL image; videos, audio clips and molecules are
#: placed in requests now and given meaning by the modalities layer.
MediaItem = Any


class Task(str, enum.Enum):
    """The judging formats of Flex-Judge."""

    SCORE = "score"  #: one response, one score on a scale
    PAIRWISE = "pairwise"  #: two responses, a score each; the winner follows
    BATCH = "batch"  #: three or more responses, distinct scores; the ranking follows
    LABEL = "label"  #: two responses, one of the four GenAI-Bench verdicts

    @classmethod
    def parse(cls, value: str | Task) -> Task:
        if isinstance(value, Task):
            return value
        key = str(value).strip().lower()
        task = _TASK_ALIASES.get(key)
        if task is None:
            raise ConfigError(
                f"unknown task {value!r}: use one of score, pairwise (compare), batch (rank), label"
            )
        return task


_TASK_ALIASES = {
    "score": Task.SCORE,
    "single": Task.SCORE,
    "pairwise": Task.PAIRWISE,
    "pair": Task.PAIRWISE,
    "compare": Task.PAIRWISE,
    "batch": Task.BATCH,
    "rank": Task.BATCH,
    "ranking": Task.BATCH,
    "label": Task.LABEL,
    "labels": Task.LABEL,
    "verdict": Task.LABEL,
}

_SCALE_RE = re.compile(r"^\s*(\d+(?:\.(\d+))?)\s*-\s*(\d+(?:\.(\d+))?)\s*$", re.ASCII)


@dataclass(frozen=True)
class Scale:
    """A score range. ``decimals == 0`` means integer scores (``1-10``); ``1.0-5.0`` means one
    decimal (MOS style). Written and parsed as ``"LOW-HIGH"``."""

    low: float
    high: float
    decimals: int = 0

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"scale {name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"scale {name} must be a finite number >= 0, got {value!r}")
        if not self.low < self.high:
            raise ConfigError(f"scale {self.low}-{self.high}: LOW must be below HIGH")
        if isinstance(self.decimals, bool) or self.decimals not in (0, 1, 2):
            raise ConfigError(f"scale decimals must be 0, 1 or 2, got {self.decimals!r}")

    def distinct_values(self) -> int:
        """How many different scores the scale allows (a batch needs one per response)."""
        steps: int = round((self.high - self.low) * 10**self.decimals)
        return steps + 1

    @classmethod
    def parse(cls, value: str | Scale) -> Scale:
        if isinstance(value, Scale):
            return value
        m = _SCALE_RE.match(str(value))
        if not m:
            raise ConfigError(
                f"unknown scale {value!r}: write it as LOW-HIGH, e.g. 1-10, 1-5 or 1.0-5.0"
            )
        low, high = float(m.group(1)), float(m.group(3))
        decimals = max(len(m.group(2) or ""), len(m.group(4) or ""))
        if decimals > 2:
            raise ConfigError(f"scale {value!r}: at most two decimals are supported")
        if not low < high:
            raise ConfigError(f"scale {value!r}: LOW must be below HIGH")
        return cls(low, high, decimals)

    def __str__(self) -> str:
        return f"{self.fmt(self.low)}-{self.fmt(self.high)}"

    def fmt(self, value: float) -> str:
        return f"{value:.{self.decimals}f}"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


DEFAULT_SCALE = Scale(1, 10, 0)
#: System-prompt families (prompts.protocol), the task each takes and its default scale.
PROTOCOLS = ("default", "audio_mos", "voxsim", "pampa", "mol_pairwise")
PROTOCOL_SCALES = {
    "audio_mos": "1.0-5.0",
    "voxsim": "1.0-6.0",
    "pampa": "1.0-10.0",
    "mol_pairwise": "1.0-10.0",
}
PROTOCOL_TASKS = {
    "audio_mos": Task.SCORE,
    "voxsim": Task.SCORE,
    "pampa": Task.SCORE,
    "mol_pairwise": Task.PAIRWISE,
}
#: Flex-Mol-LLaMA's protocols: verbatim prompts that state their scale in words (so no other
#: scale is taken), with text responses and the molecules at the prompt's ``<mol>`` slots.
MOL_PROTOCOLS = frozenset({"pampa", "mol_pairwise"})


#: Request fields that hold lists of media. A string there is an error, never a list of its
#: characters ("images": "good.png" used to become the images "g", "o", ...).
MEDIA_FIELDS = ("images", "videos", "audios", "molecules")

#: A request id: a string or a number, kept as given (JSON ``7`` stays ``7``, ``"7"`` stays
#: ``"7"``); booleans, objects and lists are refused.
RequestId = str | int | float


def strict_list(value: Any, name: str) -> list[Any]:
    """``value`` as a list, refusing a string (or bytes) where a list belongs, and anything
    else that is not a list or tuple. ``None`` is an empty list."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        shown = value if isinstance(value, str) else value.decode("utf-8", "replace")
        raise ValueError(
            f"{name} must be a list, got the string {shown[:60]!r} (write it as [{shown[:60]!r}])"
        )
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list, got {type(value).__name__} {value!r:.60}")
    return list(value)


def check_id(value: Any) -> RequestId | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"id must be a string or a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"id must be a finite number, got {value!r}")
    return value


def _check_media_item(value: Any, name: str) -> Any:
    if isinstance(value, (bool, int, float)) or value is None:
        raise ValueError(f"{name} items must be paths (or media objects), got {value!r}")
    if isinstance(value, (dict, list)):
        raise ValueError(
            f"{name} items must be paths (or media objects), got a JSON {type(value).__name__}"
        )
    return value


class _MediaLists(BaseModel):
    """The media lists shared by a request and a candidate, validated strictly."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    images: list[MediaItem] = Field(default_factory=list)
    videos: list[MediaItem] = Field(default_factory=list)
    audios: list[MediaItem] = Field(default_factory=list)
    molecules: list[str] = Field(default_factory=list)

    @field_validator("images", "videos", "audios", mode="before")
    @classmethod
    def _media_list(cls, v: Any, info: ValidationInfo) -> list[Any]:
        name = str(info.field_name)
        return [_check_media_item(x, name) for x in strict_list(v, name)]

    @field_validator("molecules", mode="before")
    @classmethod
    def _molecule_list(cls, v: Any) -> list[Any]:
        items = strict_list(v, "molecules")
        for x in items:
            if not isinstance(x, (str, os.PathLike)):
                raise ValueError(f"molecules items must be SMILES strings or paths, got {x!r:.60}")
        return [os.fspath(x) for x in items]


class Candidate(_MediaLists):
    """One response under judgement: text, media, or both."""

    text: str = ""

    def has_media(self) -> bool:
        return bool(self.images or self.videos or self.audios or self.molecules)

    def is_empty(self) -> bool:
        return not self.text.strip() and not self.has_media()


#: How many responses each task takes (low, high).
RESPONSE_COUNTS = {
    Task.SCORE: (1, 1),
    Task.PAIRWISE: (2, 2),
    Task.LABEL: (2, 2),
    Task.BATCH: (3, 26),  # letters A..Z name the responses
}


class JudgeRequest(_MediaLists):
    """One judging request: the instruction, the candidate responses, shared media and format.

    This is also the JSONL schema of ``flexjudge run`` (one object per line). ``images``,
    ``videos``, ``audios`` and ``molecules`` are media shared by all responses (e.g. the image
    a question is about).
    """

    id: RequestId | None = None
    """Caller's identifier, echoed on the verdict as given (string or number)."""
    task: Task
    instruction: str
    """The question or instruction the responses answer."""
    responses: list[Candidate]
    """Candidates, in the caller's order; verdicts name them A, B, C, ..."""
    criteria: str | None = None
    """Replaces the default criteria sentence of the prompt."""
    reference: str | None = None
    """A reference answer shown to the judge."""
    scale: Scale = DEFAULT_SCALE
    tie: bool = True
    """Pairwise only: whether equal scores are an acceptable verdict (a tie)."""
    protocol: str = "default"
    """System-prompt family: "default" (JudgeLRM's), "audio_mos" / "voxsim" (Flex-Omni's
    audio prompts; score task only, scale 1.0-5.0 / 1.0-6.0 unless given), or Flex-Mol-LLaMA's
    "pampa" (score, exactly one molecule) / "mol_pairwise" (pairwise; the instruction marks
    each molecule's place with ``<mol>``), both on 1.0-10.0 with text responses."""
    molecule_view: str = "both"
    """How molecules are shown: "image" (RDKit depiction), "text" (canonical SMILES, formula,
    descriptors) or "both"."""

    @field_validator("task", mode="before")
    @classmethod
    def _task(cls, v: Any) -> Task:
        return Task.parse(v)

    @field_validator("scale", mode="before")
    @classmethod
    def _scale(cls, v: Any) -> Scale:
        return DEFAULT_SCALE if v is None else Scale.parse(v)

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, v: str) -> str:
        if v not in PROTOCOLS:
            raise ValueError(f"unknown protocol {v!r}: use {', '.join(PROTOCOLS)}")
        return v

    @field_validator("molecule_view")
    @classmethod
    def _molecule_view(cls, v: str) -> str:
        if v not in ("image", "text", "both"):
            raise ValueError(f"unknown molecule_view {v!r}: use image, text or both")
        return v

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> RequestId | None:
        return check_id(v)

    @field_validator("responses", mode="before")
    @classmethod
    def _responses(cls, v: Any) -> Any:
        items = strict_list(v, "responses")
        out: list[Candidate | dict[str, Any]] = []
        for i, r in enumerate(items):
            if isinstance(r, str):
                out.append(Candidate(text=r))
            elif isinstance(r, (dict, Candidate)):
                out.append(r)
            else:
                raise ValueError(
                    f"response {letter(i) if i < 26 else i + 1} must be a string or an object "
                    f"with text and media, got {type(r).__name__}"
                )
        return out

    @model_validator(mode="after")
    def _check(self) -> JudgeRequest:
        low, high = RESPONSE_COUNTS[self.task]
        n = len(self.responses)
        if not low <= n <= high:
            want = str(low) if low == high else f"{low} to {high}"
            raise ValueError(f"task {self.task.value} takes {want} responses, got {n}")
        if not self.instruction.strip():
            raise ValueError("instruction is empty")
        if self.protocol != "default":
            want = PROTOCOL_TASKS[self.protocol]
            if self.task is not want:
                raise ValueError(
                    f"protocol {self.protocol} takes task {want.value}, got {self.task.value}"
                )
            if self.scale == DEFAULT_SCALE:
                self.scale = Scale.parse(PROTOCOL_SCALES[self.protocol])
            if self.protocol in MOL_PROTOCOLS:
                self._check_mol_protocol()
        for i, r in enumerate(self.responses):
            if r.is_empty():
                raise ValueError(f"response {letter(i)} is empty")
        if self.task is Task.BATCH and n > self.scale.distinct_values():
            raise ValueError(
                f"{n} responses cannot get distinct scores on the scale {self.scale} "
                f"({self.scale.distinct_values()} values): use a finer scale (e.g. 1-100) or "
                "fewer responses"
            )
        return self

    def _check_mol_protocol(self) -> None:
        """What Flex-Mol-LLaMA's verbatim prompts have room for (see :data:`MOL_PROTOCOLS`)."""
        from flexjudge.prompts.protocol import MOL_PLACEHOLDER  # lazy: prompts imports us

        name, fixed = self.protocol, Scale.parse(PROTOCOL_SCALES[self.protocol])
        if self.scale != fixed:
            raise ValueError(
                f"protocol {name} scores on {fixed} (its prompt says so), got {self.scale}"
            )
        if self.criteria or self.reference:
            raise ValueError(f"protocol {name} has no place for criteria or a reference answer")
        if self.images or self.videos or self.audios or any(r.has_media() for r in self.responses):
            raise ValueError(
                f"protocol {name} takes text responses and molecules only (in molecules)"
            )
        if name == "pampa" and len(self.molecules) != 1:
            raise ValueError(
                f"protocol pampa takes exactly one molecule, got {len(self.molecules)}"
            )
        slots = self.instruction.count(MOL_PLACEHOLDER)
        if name == "mol_pairwise" and slots != len(self.molecules):
            raise ValueError(
                f"protocol mol_pairwise: the instruction has {slots} {MOL_PLACEHOLDER} slots for "
                f"{len(self.molecules)} molecules; write {MOL_PLACEHOLDER} where each molecule goes"
            )

    @classmethod
    def build(cls, **fields: Any) -> JudgeRequest:
        """Validate fields into a request, raising :class:`InputError` naming the item."""
        try:
            return cls.model_validate(fields)
        except ConfigError:
            raise
        except Exception as exc:  # pydantic.ValidationError, with its field paths
            rid = fields.get("id")
            where = f"request {rid!r}: " if rid is not None else ""
            raise InputError(f"{where}{_short(exc)}") from exc


def letter(index: int) -> str:
    """Responses are named A, B, C, ... in the caller's order."""
    return chr(ord("A") + index)


def _short(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in errors():
            loc = ".".join(str(x) for x in e.get("loc", ()))
            msg = str(e.get("msg", "")).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
        return "; ".join(parts)
    return str(exc)
