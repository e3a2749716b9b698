"""MLLM-as-a-Judge (Chen et al., ICML 2024): score, pair and batch, each per source dataset
and macro-averaged over sources, as Table 1 reports.

Data: the benchmark's ``score.jsonl``, ``pair.jsonl`` (or ``pair_lite.jsonl``) and
``batch.jsonl``; images under ``--images`` (default: ``image/`` beside the data file's folder,
the repository's ``Dataset/`` layout). Item ids are the records' line numbers: the public
files' ``id`` repeats across records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from flexjudge.bench.metrics import (
    PAIR_CHOICES,
    Metric,
    by_source,
    macro_average,
    pairwise_accuracy,
    pearson,
    ranking_distance,
)
from flexjudge.bench.paper import raw
from flexjudge.bench.records import Fields, iter_jsonl, resolve_media
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, PaperNumbers, Protocol

__all__ = [
    "JudgeAnswer",
    "MLLMJudge",
    "MLLMJudgeBatchItem",
    "MLLMJudgePairItem",
    "MLLMJudgeScoreItem",
    "iter_mllm_judge_batch",
    "iter_mllm_judge_pair",
    "iter_mllm_judge_score",
]


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


def _human_label(f: Fields) -> Any:
    # The public pair_lite/batch files name the label `human_answer`, the others `human`.
    has_h, has_ha = "human" in f.obj, "human_answer" in f.obj
    if has_h and has_ha and f.obj["human"] != f.obj["human_answer"]:
        raise f.fail(
            f"'human' {f.obj['human']!r} and 'human_answer' {f.obj['human_answer']!r} disagree"
        )
    if not (has_h or has_ha):
        raise f.fail("missing field 'human' (or 'human_answer')")
    return f.obj["human"] if has_h else f.obj["human_answer"]


def _answer(f: Fields, value: Any, what: str) -> JudgeAnswer:
    if not (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and isinstance(value.get("answer"), str)
    ):
        raise f.fail(f"{what} must be an object with string 'name' and 'answer'")
    return JudgeAnswer(value["name"], value["answer"])


def _base(f: Fields) -> dict[str, Any]:
    return {
        "id": f.integer("id"),
        "image_path": f.text("image_path"),
        "original_dataset": f.text("original_dataset"),
        "instruction": f.text("instruction"),
        "line": f.line,
    }


def _human_score(f: Fields) -> int:
    value = _human_label(f)
    # ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() then rejects
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        human = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        human = value
    else:
        raise f.fail(f"human score {value!r} is not an integer")
    if human not in _MLLM_SCORES:
        raise f.fail(f"human score {human} is outside 1-5")
    return human


def iter_mllm_judge_score(path: Path | str) -> Iterator[MLLMJudgeScoreItem]:
    """Stream MLLM-as-a-Judge ``score.jsonl``. ``human`` may be an int or a digit string
    (both occur); it must be 1-5."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = Fields(obj, path, line=lineno)
        human = _human_score(f)
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
        f = Fields(obj, path, line=lineno)
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
        f = Fields(obj, path, line=lineno)
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


# Table 1, "Ave." column (macro over the 14 source datasets)
PAPER: dict[str, PaperNumbers] = {
    "score": raw(pearson=(0.332, 0.306)),
    "pair": raw(pair_with_tie=(0.538, 0.532), pair_without_tie=(0.655, 0.650)),
    "batch": raw(batch_distance=(0.426, 0.425)),
}


_PAIR = {"A": "A", "B": "B", "tie": "C"}
_OFFICIAL = (
    "paper Table 1: every judgment sampled 3 times and averaged (aggregate=mean); the "
    "official scorer instead takes a majority vote (pair), the median run (score) or the "
    "worst run (batch), all reported too; official sampling T=0.4, top-p 0.8; official "
    "images squashed to 448x448 (--resize 448 to match)"
)


class MLLMJudge(Benchmark):
    name = "mllm_judge"
    title = "MLLM-as-a-Judge"
    splits = ("pair", "score", "batch")
    media = "image"
    protocol = Protocol(
        samples=3,
        aggregate="mean",
        order="fixed",
        tie=True,
        temperature=0.4,
        top_p=0.8,
        note=_OFFICIAL,
    )
    metric_rules = (
        "score: Pearson r per original_dataset (invalid verdicts left out, undefined -> not "
        "averaged), macro average over datasets; pair: accuracy per original_dataset with tie "
        "(human C = tie) and without tie (human ties dropped; predicted ties wrong), invalid "
        "wrong, macro average; batch: normalised Levenshtein distance of the ranking string "
        "(lower better), invalid = 1.0, per dataset then macro average"
    )
    data_hint = "Dataset/Benchmark/{score,pair,batch}.jsonl with Dataset/image/"
    paper = PAPER

    def is_pairwise(self, split: str) -> bool:
        return split == "pair"

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        data = Path(data)
        root = media_root or data.parent.parent / "image"
        if split == "pair":
            for it in iter_mllm_judge_pair(data):
                yield self._item(
                    it,
                    root,
                    it.human,
                    {
                        "task": "pairwise",
                        "responses": [it.answer1.answer, it.answer2.answer],
                        "tie": protocol.tie,
                    },
                )
        elif split == "score":
            for scored in iter_mllm_judge_score(data):
                fields = {"task": "score", "responses": [scored.answer], "scale": "1-5"}
                yield self._item(scored, root, scored.human, fields)
        else:
            for batch in iter_mllm_judge_batch(data):
                fields = {"task": "batch", "responses": [a.answer for a in batch.answers]}
                yield self._item(batch, root, batch.human, fields)

    @staticmethod
    def _item(it: Any, root: Path, gold: Any, fields: dict[str, Any]) -> Item:
        image, problem = resolve_media(it.image_file, root, "image")
        request = {"instruction": it.instruction, "images": [image] if image else [], **fields}
        return Item(str(it.line), request, gold, it.original_dataset, problem=problem)

    def predict(self, decision: Decision, item: Item) -> Any:
        task = (item.request or {}).get("task")
        if task == "pairwise":
            return _PAIR.get(decision.winner or "")
        if task == "score":
            return decision.scores[0] if decision.scores else None
        return "".join(decision.ranking) if decision.ranking else None

    def gold_winner(self, item: Item) -> str | None:
        return {"A": "A", "B": "B", "C": "tie"}.get(item.gold)

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        if split == "pair":
            out: dict[str, Metric] = {}
            per_key = {}
            for with_tie, key in ((True, "pair_with_tie"), (False, "pair_without_tie")):
                per = by_source(
                    pairwise_accuracy, cols.groups, cols.preds, cols.golds, with_tie=with_tie
                )
                out[key] = macro_average(per, name=key)
                per_key[key] = per
            for key, per in per_key.items():
                out.update({f"{key}/{src}": m for src, m in per.items()})
            return out
        if split == "score":
            per = by_source(pearson, cols.groups, cols.preds, cols.golds)
            return {
                "pearson": macro_average(per, name="pearson"),
                **{f"pearson/{src}": m for src, m in per.items()},
            }
        per = by_source(ranking_distance, cols.groups, cols.preds, cols.golds)
        return {
            "batch_distance": macro_average(per, name="batch_distance"),
            **{f"batch_distance/{src}": m for src, m in per.items()},
        }
