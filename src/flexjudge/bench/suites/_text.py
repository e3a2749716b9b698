"""What PandaLM and JudgeLM share: three classes (tie, first better, second better), scored
like PandaLM's README - accuracy ("agreement") micro over items, precision / recall / F1
one-vs-rest per class and averaged unweighted
(:func:`~flexjudge.bench.metrics.classification_metrics`)."""

from __future__ import annotations

from typing import Any

from flexjudge.bench.metrics import Metric, classification_metrics
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, Protocol

#: The classes (0 tie, 1 / 2 = that response better) in request terms.
CLASS_OF = {"tie": 0, "A": 1, "B": 2}
WINNER_OF = {v: k for k, v in CLASS_OF.items()}
CLASSES = (0, 1, 2)

RULES = (
    "accuracy: micro over items, invalid verdicts wrong; precision/recall/F1: one-vs-rest "
    "per class {tie, A, B}, 0 where the denominator is 0, unweighted mean over the 3 "
    "classes; an invalid verdict is a false negative of its true class"
)


class TextPairwise(Benchmark):
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
    metric_rules = RULES

    def predict(self, decision: Decision, item: Item) -> Any:
        return CLASS_OF.get(decision.winner or "")

    def gold_winner(self, item: Item) -> str | None:
        return WINNER_OF[item.gold]

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        return classification_metrics(cols.preds, cols.golds, classes=CLASSES)
