"""Prompt files (``flexjudge sample``): what a policy is asked, one JSON object per line.

Schema (one object per line):

* ``id`` - a string or a number, unique in the file (default: ``line N``).
* ``prompt`` - a string (one user turn) or a list of messages ``{"role": "system" | "user" |
  "assistant", "content": "..."}`` whose last message is a user turn.
* ``images``, ``videos``, ``audios``, ``molecules`` - media lists, as in judge requests
  (relative paths are resolved against the file's folder). They are shown at the start of the
  first user turn, before its text: the place TRL puts image placeholders in plain-string
  prompt content, so a DPO row built from this prompt trains on the prompt the policy saw.
* ``molecule_view`` - how molecules are shown to a policy that does not read them itself:
  ``"text"`` (canonical SMILES, formula, descriptors), ``"image"`` (an RDKit depiction) or
  ``"both"`` (the default, as in judge requests; a text-only policy needs ``"text"``). A
  policy that reads molecules natively (a Mol-LLaMA engine) gets them as molecule parts. A
  molecule goes where the first user turn writes ``<mol>``, when it has one per molecule.
* Any other field (a gold answer, a category...) is carried onto every candidate as it is.

A bad line or a repeated id raises :class:`~flexjudge.errors.InputError` naming the line: a
sampling run checks its whole input before any weights load.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.chat import ChatRequest, Message, Part
from flexjudge.errors import InputError
from flexjudge.io import iter_json_objects
from flexjudge.prompts.protocol import MOL_PLACEHOLDER
from flexjudge.request import RequestId, check_id, strict_list
from flexjudge.run.requests import resolve_media_fields

#: The media lists a prompt may carry (the same names as in judge requests).
MEDIA_KEYS = ("images", "videos", "audios", "molecules")
#: Fields with a meaning here; any other field of a prompt line is carried along as data.
PROMPT_KEYS = ("id", "prompt", "molecule_view", *MEDIA_KEYS)
_ROLES = ("system", "user", "assistant")
_VIEWS = ("text", "image", "both")


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True)
class PolicyPrompt:
    """One prompt: its turns, shared media and carried fields (module rules)."""

    id: RequestId
    turns: tuple[Turn, ...]
    images: tuple[Any, ...] = ()
    videos: tuple[Any, ...] = ()
    audios: tuple[Any, ...] = ()
    molecules: tuple[str, ...] = ()
    molecule_view: str = "both"
    #: The prompt as given (a string or a list of message objects), written back as is.
    raw: str | list[dict[str, str]] = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    # -- reading ----------------------------------------------------------------------------
    @classmethod
    def from_row(cls, obj: Mapping[str, Any], *, default_id: RequestId) -> PolicyPrompt:
        """Validate one line's fields (media already resolved); raises ``ValueError`` with the
        cause (the reader adds the file and line)."""
        pid = check_id(obj.get("id"))
        raw = obj.get("prompt")
        turns = _turns(raw)
        media = {k: tuple(_media_list(obj.get(k), k)) for k in MEDIA_KEYS}
        view = obj.get("molecule_view", "both")
        if view not in _VIEWS:
            raise ValueError(f"unknown molecule_view {view!r}: use text, image or both")
        extra = {k: v for k, v in obj.items() if k not in PROMPT_KEYS}
        return cls(
            id=pid if pid is not None else default_id,
            turns=turns,
            molecule_view=view,
            raw=raw,  # type: ignore[arg-type]
            extra=extra,
            **media,
        )

    # -- views ------------------------------------------------------------------------------
    @property
    def question(self) -> str:
        """The last user turn: what a judge is told the responses answer."""
        return self.turns[-1].content

    def has_media(self) -> bool:
        return bool(self.images or self.videos or self.audios or self.molecules)

    def media_fields(self) -> dict[str, list[Any]]:
        """The media lists, as a judge request or a candidate row takes them."""
        return {k: list(getattr(self, k)) for k in MEDIA_KEYS if getattr(self, k)}

    def chat(self, *, native: bool = False) -> ChatRequest:
        """The chat the policy continues (rendered by the policy's own chat template). Media
        open the first user turn; a molecule goes where its turn writes ``<mol>`` when the
        turn has one per molecule. ``native``: the policy reads molecules itself (a
        Mol-LLaMA engine), so each is a molecule part holding its canonical SMILES."""
        first_user = next(i for i, t in enumerate(self.turns) if t.role == "user")
        messages = []
        for i, t in enumerate(self.turns):
            parts = _media_parts(self, native, t.content) if i == first_user else []
            if i != first_user or not _slotted(self, t.content):
                parts.append(Part("text", text=t.content))
            messages.append(Message(t.role, tuple(parts)))  # type: ignore[arg-type]
        return ChatRequest(tuple(messages))

    def conversation(self) -> list[dict[str, str]]:
        """The turns as TRL's conversational ``prompt`` column (plain-string content: TRL puts
        the image placeholders before the first user turn's text, where :meth:`chat` puts the
        images)."""
        return [{"role": t.role, "content": t.content} for t in self.turns]

    def row_fields(self) -> dict[str, Any]:
        """The prompt's part of a candidate row: the prompt as given, media, carried fields."""
        out: dict[str, Any] = {"prompt": self.raw, **self.media_fields()}
        if self.molecules and self.molecule_view != "both":
            out["molecule_view"] = self.molecule_view
        out.update(self.extra)
        return out


def _turns(raw: Any) -> tuple[Turn, ...]:
    if isinstance(raw, str):
        if not raw.strip():
            raise ValueError("prompt is empty")
        return (Turn("user", raw),)
    if not isinstance(raw, list) or not raw:
        raise ValueError(
            "prompt must be a string or a non-empty list of {role, content} messages, got "
            f"{type(raw).__name__}"
        )
    turns = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or set(m) - {"role", "content"}:
            raise ValueError(f"prompt message {i + 1} must be an object with role and content")
        role, content = m.get("role"), m.get("content")
        if role not in _ROLES:
            raise ValueError(f"prompt message {i + 1}: role must be one of {', '.join(_ROLES)}")
        if not isinstance(content, str):
            raise ValueError(f"prompt message {i + 1}: content must be a string")
        turns.append(Turn(role, content))
    if turns[-1].role != "user":
        raise ValueError("the last prompt message must be a user turn (the policy answers it)")
    if not turns[-1].content.strip():
        raise ValueError("the last user turn is empty")
    return tuple(turns)


def _media_list(value: Any, name: str) -> list[Any]:
    items = strict_list(value, name)
    for x in items:
        if not isinstance(x, (str, os.PathLike)):
            raise ValueError(f"{name} items must be paths (SMILES for molecules), got {x!r:.60}")
    return [os.fspath(x) for x in items]


def _slotted(prompt: PolicyPrompt, text: str) -> bool:
    """Whether ``text`` has a ``<mol>`` slot for each of the prompt's molecules."""
    return bool(prompt.molecules) and text.count(MOL_PLACEHOLDER) == len(prompt.molecules)


def _molecule_parts(prompt: PolicyPrompt, k: int, native: bool) -> list[Part]:
    from flexjudge.media.molecules import canonical_smiles, render_molecule  # RDKit when used

    mol = prompt.molecules[k]
    if native:
        return [Part("molecule", media=canonical_smiles(mol))]
    many = len(prompt.molecules) > 1
    view = render_molecule(
        mol, f"Molecule {k + 1}" if many else "Molecule", mode=prompt.molecule_view
    )
    parts = [Part("image", media=view.image)] if view.image is not None else []
    return parts + ([Part("text", text=view.text + "\n")] if view.text else [])


def _media_parts(prompt: PolicyPrompt, native: bool, text: str) -> list[Part]:
    """The first user turn's media; with ``<mol>`` slots, the turn's text around them too."""
    parts = [Part("image", media=m) for m in prompt.images]
    parts += [Part("video", media=m) for m in prompt.videos]
    parts += [Part("audio", media=m) for m in prompt.audios]
    if not _slotted(prompt, text):
        for k in range(len(prompt.molecules)):
            parts += _molecule_parts(prompt, k, native)
        return parts
    pieces = text.split(MOL_PLACEHOLDER)
    for k, piece in enumerate(pieces):
        if piece:
            parts.append(Part("text", text=piece))
        if k < len(prompt.molecules):
            parts += _molecule_parts(prompt, k, native)
    return parts


def absolute_media(fields: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``fields`` with relative media paths joined to ``base`` made absolute, so that files
    written from them (candidates, DPO rows) work from any folder."""
    return resolve_media_fields(fields, base.resolve())


def read_prompts(path: str | os.PathLike[str]) -> list[PolicyPrompt]:
    """Every prompt of a prompt file (module rules)."""
    out: list[PolicyPrompt] = []
    seen: dict[RequestId, int] = {}
    for number, obj in iter_json_objects(path, what="prompt file"):
        try:
            prompt = PolicyPrompt.from_row(
                absolute_media(obj, Path(path).parent), default_id=f"line {number}"
            )
        except ValueError as exc:
            raise InputError(str(exc), path=path, line=number) from None
        if prompt.id in seen:
            raise InputError(
                f"id {prompt.id!r} is also the id of line {seen[prompt.id]}; ids must be unique",
                path=path,
                line=number,
            )
        seen[prompt.id] = number
        out.append(prompt)
    if not out:
        raise InputError("no prompts", path=path)
    return out


def iter_prompts(rows: Sequence[Mapping[str, Any]]) -> Iterator[PolicyPrompt]:
    """Prompts from in-memory rows (Python callers), validated like a file's lines."""
    for i, row in enumerate(rows):
        try:
            yield PolicyPrompt.from_row(row, default_id=i)
        except ValueError as exc:
            raise InputError(str(exc), item=row.get("id", i)) from None
