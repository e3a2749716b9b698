"""Read a judge's output: the reasoning, then the answers.

The grammar, strict on purpose (the official scripts took the first digits found anywhere,
quotes of the prompt's example inside ``<think>`` included). This docstring is the one place it
is written down; the README points here.

1. **Reasoning ends at the last ``</think>``.** Everything before it is reasoning; only the
   text after it is read for answers, so an ``<answer>`` quoted while thinking never counts.
   When the prompt did not prime ``<think>``, the output must open with it.
2. **After ``</think>`` there are answers and nothing else**: exactly as many
   ``<answer>…</answer>`` blocks as the format needs (1 for score and label, 2 for pairwise,
   one per response for batch), separated only by ASCII white space (space, tab, CR, LF). A
   trailing end-of-turn token (``<|im_end|>``, ``<|endoftext|>``) is tolerated since some
   engines return it.
3. **A score** is ASCII digits with an optional ASCII ``.`` and digits: ``7``, ``3.8``,
   ``10.0``; no sign, no exponent, no other script's digits (``٧`` or ``1٠`` are not numbers),
   surrounded by nothing but ASCII white space inside its ``<answer>``. It must lie inside the
   scale, be an integer on an integer scale and have at most the scale's decimals otherwise.
4. **A label** is one of the four offered verdicts spelt exactly - ``[[A>B]]``, ``[[B>A]]``,
   ``[[A=B=Good]]``, ``[[A=B=Bad]]`` - or ``[[B<A]]`` / ``[[A<B]]``, the first two written the
   other way round. Case matters (``[[a>b]]`` is not a verdict), as in the prompt.
5. **Across answers**: a batch may not repeat a score (the prompt forbids it, and a ranking
   would not follow); a pairwise judgement without ties may not give equal scores.

Anything else is an invalid parse with a reason code from :data:`REASONS` and the raw text
kept by the caller. Nothing is ever defaulted to a tie, a middle score or a random pick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flexjudge.prompts import protocol
from flexjudge.request import JudgeRequest, Scale, Task

REASONS = {
    "empty": "the output is empty",
    "no_think_open": "the output does not open with <think>",
    "no_think_close": "the reasoning never closes with </think>",
    "no_answer": "no <answer> after </think>",
    "answer_count": "wrong number of <answer> blocks",
    "stray_text": "text other than <answer> blocks after </think>",
    "not_a_number": "an answer is not a number",
    "decimals": "an answer has more decimals than the scale allows",
    "out_of_scale": "a score lies outside the scale",
    "unknown_label": "the answer is not one of the offered verdicts",
    "equal_scores": "equal scores where the format forbids them",
}

_THINK_CLOSE = protocol.THINK_CLOSE
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_END_TOKENS = re.compile(r"(?:[ \t\r\n]*<\|(?:im_end|endoftext)\|>)+[ \t\r\n]*$")
_NUMBER = re.compile(r"^([0-9]+)(?:\.([0-9]+))?$")
#: White space the grammar allows around and between answers: ASCII only (str.strip would also
#: take U+001C, U+0085 and the like).
_ASCII_SPACE = " \t\r\n"
_LABEL_ALIASES = {"[[B<A]]": "[[A>B]]", "[[A<B]]": "[[B>A]]"}


@dataclass(frozen=True)
class AnswerSpec:
    """What a valid answer looks like for one request."""

    task: Task
    count: int
    scale: Scale
    tie: bool = True

    @classmethod
    def for_request(cls, request: JudgeRequest) -> AnswerSpec:
        count = 1 if request.task in (Task.SCORE, Task.LABEL) else len(request.responses)
        return cls(request.task, count, request.scale, request.tie)


@dataclass(frozen=True)
class Parsed:
    """One parsed output, in the order the responses were *shown* to the model."""

    valid: bool
    reasoning: str
    scores: tuple[float, ...] | None = None
    label: str | None = None
    reason: str | None = None
    detail: str | None = None

    @property
    def error(self) -> str | None:
        if self.valid:
            return None
        base = REASONS[self.reason or "empty"]
        return f"{base}: {self.detail}" if self.detail else base


def _invalid(reason: str, reasoning: str = "", detail: str | None = None) -> Parsed:
    return Parsed(False, reasoning, reason=reason, detail=detail)


def parse_output(text: str, spec: AnswerSpec, *, primed: bool = True) -> Parsed:
    """Parse one completion (the text generated after the assistant prefix)."""
    if not text.strip():
        return _invalid("empty")
    body = text
    if not primed:
        stripped = body.lstrip(_ASCII_SPACE)
        if not stripped.startswith("<think>"):
            return _invalid("no_think_open")
        body = stripped[len("<think>") :]
    cut = body.rfind(_THINK_CLOSE)
    if cut < 0:
        return _invalid("no_think_close", body.strip())
    reasoning = body[:cut].strip()
    tail = _END_TOKENS.sub("", body[cut + len(_THINK_CLOSE) :])
    answers = list(_ANSWER.finditer(tail))
    if not answers:
        return _invalid("no_answer", reasoning)
    leftover = _ANSWER.sub("", tail)
    if leftover.strip(_ASCII_SPACE):
        return _invalid("stray_text", reasoning, repr(leftover.strip()[:60]))
    if len(answers) != spec.count:
        return _invalid("answer_count", reasoning, f"expected {spec.count}, got {len(answers)}")
    values = [m.group(1).strip(_ASCII_SPACE) for m in answers]
    if spec.task is Task.LABEL:
        return _parse_label(values[0], reasoning)
    return _parse_scores(values, spec, reasoning)


def _parse_label(value: str, reasoning: str) -> Parsed:
    label = _LABEL_ALIASES.get(value, value)
    if label not in protocol.LABELS:
        return _invalid("unknown_label", reasoning, repr(value[:40]))
    return Parsed(True, reasoning, label=label)


def _parse_scores(values: list[str], spec: AnswerSpec, reasoning: str) -> Parsed:
    scores: list[float] = []
    for v in values:
        m = _NUMBER.match(v)
        if not m:
            return _invalid("not_a_number", reasoning, repr(v[:40]))
        if len(m.group(2) or "") > spec.scale.decimals:
            return _invalid("decimals", reasoning, f"{v} on scale {spec.scale}")
        score = float(v)
        if not spec.scale.contains(score):
            return _invalid("out_of_scale", reasoning, f"{v} not in {spec.scale}")
        scores.append(score)
    distinct = len(set(scores)) == len(scores)
    if not distinct and (spec.task is Task.BATCH or (spec.task is Task.PAIRWISE and not spec.tie)):
        return _invalid("equal_scores", reasoning, ", ".join(values))
    return Parsed(True, reasoning, scores=tuple(scores))
