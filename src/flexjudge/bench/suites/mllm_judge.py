"""MLLM-as-a-Judge (Chen et al., ICML 2024): score, pair and batch, each per source dataset
and macro-averaged over sources, as Table 1 reports.

Data: the benchmark's ``score.jsonl``, ``pair.jsonl`` (or ``pair_lite.jsonl``) and
``batch.jsonl``; images under ``--images`` (default: ``image/`` beside the data file's folder,
the repository's ``Dataset/`` layout). Item ids are the records' line numbers: the public
files' ``id`` repeats across records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flexjudge.bench.loaders import (
    iter_mllm_judge_batch,
    iter_mllm_judge_pair,
    iter_mllm_judge_score,
)
from flexjudge.bench.metrics import (
    Metric,
    by_source,
    macro_average,
    pairwise_accuracy,
    pearson,
    ranking_distance,
)
from flexjudge.bench.sources import resolve_media
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, Protocol

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

    def is_pairwise(self, split: str) -> bool:
        return split == "pair"

    def items(
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
            for it in iter_mllm_judge_score(data):
                yield self._item(
                    it, root, it.human, {"task": "score", "responses": [it.answer], "scale": "1-5"}
                )
        else:
            for it in iter_mllm_judge_batch(data):
                yield self._item(
                    it,
                    root,
                    it.human,
                    {"task": "batch", "responses": [a.answer for a in it.answers]},
                )

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
