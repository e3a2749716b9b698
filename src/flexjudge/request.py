"""What a user asks the judge: tasks, scales, candidates and the request itself."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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

_SCALE_RE = re.compile(r"^\s*(\d+(?:\.(\d+))?)\s*-\s*(\d+(?:\.(\d+))?)\s*$")


@dataclass(frozen=True)
class Scale:
    """A score range. ``decimals == 0`` means integer scores (``1-10``); ``1.0-5.0`` means one
    decimal (MOS style). Written and parsed as ``"LOW-HIGH"``."""

    low: float
    high: float
    decimals: int = 0

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
#: System-prompt families (prompts.protocol) and the default scale of the audio ones.
PROTOCOLS = ("default", "audio_mos", "voxsim")
PROTOCOL_SCALES = {"audio_mos": "1.0-5.0", "voxsim": "1.0-6.0"}


class Candidate(BaseModel):
    """One response under judgement: text, media, or both."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    text: str = ""
    images: list[MediaItem] = Field(default_factory=list)
    videos: list[MediaItem] = Field(default_factory=list)
    audios: list[MediaItem] = Field(default_factory=list)
    molecules: list[str] = Field(default_factory=list)

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


class JudgeRequest(BaseModel):
    """One judging request: the instruction, the candidate responses, shared media and format.

    This is also the JSONL schema of ``flexjudge run`` (one object per line).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    id: str | None = None
    """Caller's identifier, echoed on the verdict."""
    task: Task
    instruction: str
    """The question or instruction the responses answer."""
    responses: list[Candidate]
    """Candidates, in the caller's order; verdicts name them A, B, C, ..."""
    images: list[MediaItem] = Field(default_factory=list)
    """Media shared by all responses (e.g. the image a question is about)."""
    videos: list[MediaItem] = Field(default_factory=list)
    audios: list[MediaItem] = Field(default_factory=list)
    molecules: list[str] = Field(default_factory=list)
    criteria: str | None = None
    """Replaces the default criteria sentence of the prompt."""
    reference: str | None = None
    """A reference answer shown to the judge."""
    scale: Scale = DEFAULT_SCALE
    tie: bool = True
    """Pairwise only: whether equal scores are an acceptable verdict (a tie)."""
    protocol: str = "default"
    """System-prompt family: "default" (JudgeLRM's), or "audio_mos" / "voxsim" (Flex-Omni's
    audio prompts; score task only, scale 1.0-5.0 / 1.0-6.0 unless given)."""
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
    def _id(cls, v: Any) -> str | None:
        return None if v is None else str(v)

    @field_validator("responses", mode="before")
    @classmethod
    def _responses(cls, v: Any) -> Any:
        if not isinstance(v, (list, tuple)):
            raise ValueError("responses must be a list")
        return [Candidate(text=r) if isinstance(r, str) else r for r in v]

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
            if self.task is not Task.SCORE:
                raise ValueError(
                    f"protocol {self.protocol} takes task score, got {self.task.value}"
                )
            if self.scale == DEFAULT_SCALE:
                self.scale = Scale.parse(PROTOCOL_SCALES[self.protocol])
        for i, r in enumerate(self.responses):
            if r.is_empty():
                raise ValueError(f"response {letter(i)} is empty")
        return self

    @classmethod
    def build(cls, **fields: Any) -> JudgeRequest:
        """Validate fields into a request, raising :class:`InputError` naming the item."""
        try:
            return cls.model_validate(fields)
        except ConfigError:
            raise
        except Exception as exc:  # pydantic.ValidationError, with its field paths
            where = f"request {fields.get('id')!r}" if fields.get("id") is not None else "request"
            raise InputError(f"{where}: {_short(exc)}") from exc


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
