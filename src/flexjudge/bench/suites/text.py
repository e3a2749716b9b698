"""Text-only pairwise benchmarks: PandaLM (human labels) and JudgeLM (GPT-4 labels).

Both are scored like PandaLM's README: three classes (tie, first better, second better),
accuracy ("agreement") micro over items, precision / recall / F1 one-vs-rest per class and
averaged unweighted (:func:`~flexjudge.bench.metrics.classification_metrics`).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.loaders import iter_jsonl, load_pandalm_testset
from flexjudge.bench.metrics import Metric, classification_metrics
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, Protocol

#: PandaLM's classes (0 tie, 1 / 2 = that response better) in request terms.
_CLASS_OF = {"tie": 0, "A": 1, "B": 2}
_WINNER_OF = {v: k for k, v in _CLASS_OF.items()}

_RULES = (
    "accuracy: micro over items, invalid verdicts wrong; precision/recall/F1: one-vs-rest "
    "per class {tie, A, B}, 0 where the denominator is 0, unweighted mean over the 3 "
    "classes; an invalid verdict is a false negative of its true class"
)


class _TextPairwise(Benchmark):
    splits = ("test",)
    pairwise = True
    protocol = Protocol(
        samples=1,
        order="fixed",
        tie=True,
        temperature=0.6,
        top_p=0.95,
        note="official text scripts: T=0.6, top-p 0.95, one run, no swapping",
    )
    metric_rules = _RULES

    def predict(self, decision: Decision, item: Item) -> Any:
        return _CLASS_OF.get(decision.winner or "")

    def gold_winner(self, item: Item) -> str | None:
        return _WINNER_OF[item.gold]

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        return classification_metrics(cols.preds, cols.golds, classes=(0, 1, 2))


class PandaLM(_TextPairwise):
    name = "pandalm"
    title = "PandaLM test set (human labels)"
    data_hint = "testset-v1.json from WeOpenML/PandaLM"

    def items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        for it in load_pandalm_testset(data):
            question = it.instruction + (f"\n\n{it.input}" if it.input.strip() else "")
            yield Item(
                str(it.idx),
                {
                    "task": "pairwise",
                    "instruction": question,
                    "responses": [it.response1, it.response2],
                    "tie": protocol.tie,
                },
                it.label,
            )


class JudgeLM(_TextPairwise):
    """JudgeLM's ``judgelm_val_5k.jsonl``; labels from ``judgelm_val_5k_gpt4.jsonl`` beside
    it (line-aligned, ``score: [s1, s2]``: s1 > s2 -> first better, equal -> tie). Items whose
    GPT-4 score is ``[-1, -1]`` (no judgment) are left out, as JudgeLM's own scorer does, and
    counted in the item's absence (the report's ``n``)."""

    name = "judgelm"
    title = "JudgeLM val 5k (GPT-4 labels)"
    data_hint = "judgelm_val_5k.jsonl with judgelm_val_5k_gpt4.jsonl in the same folder"

    def items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        data = Path(data)
        labels_path = data.with_name(data.stem + "_gpt4" + data.suffix)
        if not labels_path.is_file():
            raise BenchmarkDataError(
                labels_path, "GPT-4 label file missing (expected beside the data file)"
            )
        questions, labels = iter_jsonl(data), iter_jsonl(labels_path)
        for pair in zip_longest(questions, labels):
            if None in pair:
                raise BenchmarkDataError(
                    labels_path, f"has a different number of records than {data}"
                )
            (line, q), (lline, lab) = pair
            if q.get("question_id") != lab.get("question_id"):
                raise BenchmarkDataError(
                    labels_path,
                    f"question_id {lab.get('question_id')!r} does not "
                    f"match line {line} of {data.name} "
                    f"({q.get('question_id')!r})",
                    line=lline,
                )
            score = lab.get("score")
            if not (
                isinstance(score, list)
                and len(score) == 2
                and all(isinstance(s, (int, float)) for s in score)
            ):
                raise BenchmarkDataError(
                    labels_path, f"score must be [s1, s2], got {score!r}", line=lline
                )
            if score == [-1, -1]:
                continue
            gold = 1 if score[0] > score[1] else 2 if score[0] < score[1] else 0
            for key in ("question_body", "answer1_body", "answer2_body"):
                if not isinstance(q.get(key), str):
                    raise BenchmarkDataError(data, f"missing text field {key!r}", line=line)
            yield Item(
                str(q["question_id"]),
                {
                    "task": "pairwise",
                    "instruction": q["question_body"],
                    "responses": [q["answer1_body"], q["answer2_body"]],
                    "tie": protocol.tie,
                },
                gold,
            )
