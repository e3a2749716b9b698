"""Pairwise judging corpora: JudgeLM-100K's JSONL, or any JSONL through a field mapping.

A row is one question, two answers and the reference score pair (JudgeLM-100K: GPT-4's
1-10 scores). Rules:

* Fields are read by name: ``question_id``, ``question_body``, ``answer1_body``,
  ``answer2_body`` and ``score`` (JudgeLM's names). ``fields`` maps any of these names to the
  key a generic corpus uses instead (``{"question_body": "prompt", "score": "scores"}``).
* A row is **malformed** when it is not a JSON object, a field is missing, the id is not a
  string or integer, a text is not a non-blank string, the score is not a list of two numbers,
  or its id repeats an earlier row's (ids key the teacher traces, so they must be unique).
  Malformed rows raise :class:`~flexjudge.errors.InputError` naming the first few and the
  count, or are left out and counted with ``skip_malformed=True``.
* A reference that is a number but not an integer in 1-10 is *not* malformed; no teacher trace
  can match it, and the curation report counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.errors import ConfigError, InputError
from flexjudge.io import read_jsonl

#: JudgeLM-100K's field names, which are also the canonical names of a mapping.
CORPUS_FIELDS = ("question_id", "question_body", "answer1_body", "answer2_body", "score")
_TEXT_FIELDS = ("question_body", "answer1_body", "answer2_body")
_SHOWN = 3  # malformed rows named in an error message


@dataclass(frozen=True)
class CorpusItem:
    """One pairwise item: the question, both answers, the reference scores, its line."""

    question_id: str
    question: str
    answer1: str
    answer2: str
    reference: tuple[float, float]
    line: int

    @property
    def reference_on_scale(self) -> bool:
        """Whether both reference scores are integers in 1-10 (the teacher's scale)."""
        return all(float(s).is_integer() and 1 <= s <= 10 for s in self.reference)


@dataclass
class Corpus:
    """The valid items of a corpus file, in file order, and what was left out."""

    path: Path
    items: list[CorpusItem]
    n_rows: int
    malformed: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, int]:
        return {
            "rows": self.n_rows,
            "items": len(self.items),
            "malformed_skipped": len(self.malformed),
            "reference_off_scale": sum(not it.reference_on_scale for it in self.items),
        }


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _item(row: Any, names: Mapping[str, str], line: int) -> CorpusItem:
    """One row as an item; raises ValueError with the cause."""
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    missing = [names[f] for f in CORPUS_FIELDS if names[f] not in row]
    if missing:
        raise ValueError(f"missing {', '.join(repr(m) for m in missing)}")
    qid = row[names["question_id"]]
    if isinstance(qid, bool) or not isinstance(qid, (str, int)) or not str(qid).strip():
        raise ValueError(f"{names['question_id']!r} must be a non-empty string or an integer")
    texts = []
    for f in _TEXT_FIELDS:
        value = row[names[f]]
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{names[f]!r} must be a non-blank string")
        texts.append(value)
    score = row[names["score"]]
    if not isinstance(score, (list, tuple)) or len(score) != 2 or not all(map(_number, score)):
        raise ValueError(f"{names['score']!r} must be a list of two numbers, got {score!r:.40}")
    return CorpusItem(
        str(qid), texts[0], texts[1], texts[2], (float(score[0]), float(score[1])), line
    )


def field_names(fields: Mapping[str, str] | None) -> dict[str, str]:
    """The corpus key of each canonical field (identity unless mapped)."""
    names = {f: f for f in CORPUS_FIELDS}
    for canonical, source in (fields or {}).items():
        if canonical not in names:
            raise ConfigError(
                f"unknown corpus field {canonical!r}: map one of {', '.join(CORPUS_FIELDS)}"
            )
        names[canonical] = source
    return names


def read_corpus(
    path: str | Path,
    *,
    fields: Mapping[str, str] | None = None,
    limit: int | None = None,
    skip_malformed: bool = False,
) -> Corpus:
    """Read a pairwise corpus (JSONL, blank lines skipped; the first ``limit`` rows only)."""
    path = Path(path)
    names = field_names(fields)
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    items: list[CorpusItem] = []
    malformed: list[str] = []
    first_line: dict[str, int] = {}
    n_rows = 0
    for line in read_jsonl(path, what="corpus"):
        if limit is not None and n_rows >= limit:
            break
        n_rows += 1
        if line.error is not None:
            malformed.append(f"line {line.number}: {line.error.cause}")
            continue
        try:
            item = _item(line.value, names, line.number)
            if item.question_id in first_line:
                raise ValueError(
                    f"duplicate {names['question_id']!r} {item.question_id!r} "
                    f"(first on line {first_line[item.question_id]})"
                )
        except ValueError as exc:
            malformed.append(f"line {line.number}: {exc}")
            continue
        first_line[item.question_id] = line.number
        items.append(item)
    if malformed and not skip_malformed:
        shown = "; ".join(malformed[:_SHOWN]) + ("; ..." if len(malformed) > _SHOWN else "")
        raise InputError(
            f"corpus {path}: {len(malformed)} of {n_rows} rows are malformed ({shown}); "
            "fix them, map the fields, or skip them (--skip-malformed)"
        )
    if not items:
        raise InputError(
            f"corpus {path}: no usable rows ({n_rows} read, {len(malformed)} malformed)"
        )
    return Corpus(path, items, n_rows, malformed)
