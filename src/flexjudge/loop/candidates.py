"""Candidate files: the policy's responses, one JSON object per line, grouped by prompt.

``flexjudge sample`` writes them; ``best-of-n`` and ``pairs`` read them. Schema:

* ``prompt_id`` (string or number; required) - candidates with the same ``prompt_id`` answer
  the same prompt and are judged against each other. ``prompt``, media (``images``,
  ``videos``, ``audios``, ``molecules``, ``molecule_view``) and the other prompt fields are
  those of the prompt file (:mod:`flexjudge.loop.prompts`), repeated on each candidate; the
  first candidate of a prompt defines them.
* ``response`` (required) - a string, or an object ``{"text": ..., "images": [...], ...}``
  like a judge request's response (a generated image, clip or molecule is judged as such).
* ``candidate_id`` (default ``"<prompt_id>#<index>"``), ``index`` (the sample's position in
  its prompt, default its order in the file), ``temperature``, ``seed``, ``n_tokens``,
  ``finish_reason`` - as ``sample`` writes them.
* ``correct`` (optional bool) - gold correctness, for ``best-of-n --eval``; or a ``--gold`` file
  of ``{"candidate_id": ..., "correct": true}`` lines.
* What the judge sees: ``instruction`` (default: the prompt's last user turn), the prompt's
  media, and ``judge_text`` in place of the response text when given (e.g. a PAMPA answer cut
  before "Final answer:"). ``criteria``, ``reference``, ``scale``, ``protocol`` are judge
  request fields, taken from the prompt's first candidate when present, else from the
  command's options.

Relative media paths are resolved against the file's folder. A bad line raises
:class:`~flexjudge.errors.InputError` naming the line, before any judge loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.errors import InputError
from flexjudge.io import iter_json_objects
from flexjudge.loop.prompts import PolicyPrompt, absolute_media
from flexjudge.request import Candidate, JudgeRequest, RequestId, Task, check_id
from flexjudge.verdict import Verdict

#: Judge request fields a candidate row may set for its prompt.
JUDGE_FIELDS = ("criteria", "reference", "scale", "protocol")
_CANDIDATE_KEYS = (
    "prompt_id",
    "candidate_id",
    "index",
    "response",
    "correct",
    "instruction",
    "judge_text",
    *JUDGE_FIELDS,
)


@dataclass(frozen=True)
class LoopCandidate:
    """One candidate response and the facts recorded with it."""

    id: str
    index: int
    response: Candidate
    row: Mapping[str, Any]
    """The line as read (media resolved): written back with selections and pairs."""
    correct: bool | None = None
    judge_text: str | None = None

    @property
    def text(self) -> str:
        return self.response.text

    def get(self, key: str) -> Any:
        return self.row.get(key)

    def judged(self) -> Candidate:
        """The response as the judge sees it."""
        if self.judge_text is None:
            return self.response
        return self.response.model_copy(update={"text": self.judge_text})


@dataclass
class CandidateGroup:
    """The candidates of one prompt, in file order."""

    prompt_id: RequestId
    prompt: PolicyPrompt
    candidates: list[LoopCandidate] = field(default_factory=list)
    instruction: str | None = None
    judge_fields: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.candidates)

    @property
    def question(self) -> str:
        return self.instruction if self.instruction is not None else self.prompt.question

    def request(
        self,
        request_id: str,
        task: Task,
        members: Sequence[int],
        defaults: Mapping[str, Any] | None = None,
    ) -> JudgeRequest | Verdict:
        """A judge request over ``members`` (indices into :attr:`candidates`), in that order,
        with the prompt's question and media; judge fields: this prompt's, else ``defaults``.
        A request that cannot be built (an empty response, a field out of range) is an
        ``"error"`` verdict naming the cause, which judging passes through in its place: its
        candidates get no valid verdict, and the run goes on."""
        fields = {k: v for k, v in (defaults or {}).items() if v is not None}
        fields.update(self.judge_fields)
        media: dict[str, Any] = self.prompt.media_fields()
        if self.prompt.molecules:
            media["molecule_view"] = self.prompt.molecule_view
        try:
            return JudgeRequest.build(
                id=request_id,
                task=task,
                instruction=self.question,
                responses=[self.candidates[i].judged() for i in members],
                **media,
                **fields,
            )
        except InputError as exc:
            return Verdict.failed(request_id, task.value, str(exc))


def _response(value: Any) -> Candidate:
    if isinstance(value, str):
        return Candidate(text=value)
    if isinstance(value, dict):
        return Candidate.model_validate(value)
    raise ValueError(
        f"response must be a string or an object with text and media, got {type(value).__name__}"
    )


def _correct(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"correct must be true, false or null, got {value!r:.40}")


def candidate_from_row(obj: Mapping[str, Any], position: int) -> tuple[RequestId, LoopCandidate]:
    """Validate one candidate line (media resolved); raises ``ValueError`` with the cause."""
    pid = check_id(obj.get("prompt_id"))
    if pid is None:
        raise ValueError("prompt_id is missing (candidates of one prompt share it)")
    if "response" not in obj:
        raise ValueError("response is missing")
    try:
        response = _response(obj["response"])
    except ValueError as exc:
        raise ValueError(f"response: {exc}") from None
    index = obj.get("index", position)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be a non-negative integer, got {index!r:.40}")
    cid = obj.get("candidate_id", f"{pid}#{index}")
    if not isinstance(cid, (str, int)) or isinstance(cid, bool):
        raise ValueError(f"candidate_id must be a string or an integer, got {cid!r:.40}")
    judge_text = obj.get("judge_text")
    if judge_text is not None and not isinstance(judge_text, str):
        raise ValueError("judge_text must be a string")
    cand = LoopCandidate(
        str(cid), index, response, dict(obj), _correct(obj.get("correct")), judge_text
    )
    return pid, cand


def _prompt_of(obj: Mapping[str, Any], pid: RequestId) -> PolicyPrompt:
    fields = {k: v for k, v in obj.items() if k not in _CANDIDATE_KEYS and k != "prompt_id"}
    fields["id"] = pid
    fields.setdefault("prompt", obj.get("instruction") or "")
    # Sampling facts are per candidate, not prompt fields.
    for key in ("temperature", "seed", "sample", "n_tokens", "finish_reason", "model"):
        fields.pop(key, None)
    return PolicyPrompt.from_row(fields, default_id=pid)


def group_candidates(
    rows: Iterable[tuple[int | None, Mapping[str, Any]]], *, where: str | os.PathLike[str] = ""
) -> list[CandidateGroup]:
    """Candidates grouped by prompt, in order of first appearance. ``rows`` are ``(line
    number, object)``; errors name ``where`` and the line."""
    groups: dict[RequestId, CandidateGroup] = {}
    ids: dict[str, int | None] = {}
    for number, obj in rows:
        try:
            pid = check_id(obj.get("prompt_id"))
            group = groups.get(pid) if pid is not None else None
            # the default index counts the prompt's candidates, not the file's lines
            pid, cand = candidate_from_row(obj, len(group.candidates) if group else 0)
            if group is None:
                group = groups[pid] = _new_group(obj, pid)
        except ValueError as exc:
            raise InputError(str(exc), path=where or None, line=number) from None
        if cand.id in ids:
            raise InputError(
                f"candidate_id {cand.id!r} repeats (first on line {ids[cand.id]})",
                path=where or None,
                line=number,
            )
        ids[cand.id] = number
        group.candidates.append(cand)
    if not groups:
        raise InputError("no candidates", path=where or None)
    return list(groups.values())


def _new_group(obj: Mapping[str, Any], pid: RequestId) -> CandidateGroup:
    instruction = obj.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise ValueError("instruction must be a string")
    judge_fields = {k: obj[k] for k in JUDGE_FIELDS if obj.get(k) is not None}
    return CandidateGroup(pid, _prompt_of(obj, pid), [], instruction, judge_fields)


def read_candidates(path: str | os.PathLike[str]) -> list[CandidateGroup]:
    """The groups of a candidate file (module rules)."""
    base = Path(path).parent
    rows = ((n, absolute_media(obj, base)) for n, obj in iter_json_objects(path, what="candidates"))
    return group_candidates(rows, where=path)


def apply_gold(groups: Sequence[CandidateGroup], path: str | os.PathLike[str]) -> int:
    """Set ``correct`` from a gold file (``{"candidate_id", "correct"}`` lines); returns how
    many candidates it covered. An unknown candidate id is an error, naming the line."""
    by_id = {c.id: (g, k) for g in groups for k, c in enumerate(g.candidates)}
    covered = 0
    for number, obj in iter_json_objects(path, what="gold file"):
        cid = obj.get("candidate_id")
        if str(cid) not in by_id:
            raise InputError(
                f"candidate_id {cid!r} is not in the candidates", path=path, line=number
            )
        try:
            value = _correct(obj.get("correct"))
        except ValueError as exc:
            raise InputError(str(exc), path=path, line=number) from None
        group, k = by_id[str(cid)]
        old = group.candidates[k]
        group.candidates[k] = LoopCandidate(
            old.id, old.index, old.response, old.row, value, old.judge_text
        )
        covered += 1
    return covered
