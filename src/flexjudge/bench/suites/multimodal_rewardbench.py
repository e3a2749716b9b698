"""Multimodal RewardBench (Yasunaga, Zettlemoyer and Ghazvininejad, 2025): which of two answers
to a question about one image is better, accuracy per category and overall, as the Flex-Judge
paper's Table 7 reports.

Data: the benchmark's ``data/all_data.json`` (a JSON array written by the repository's
``scripts/0_download_data.py``), or any JSONL / dataset with the same fields. Format, from
facebookresearch/multimodal_rewardbench (README; ``scripts/1_run_model_as_judge_gpt4o.py``;
``scripts/2_get_accuracy.py``; ``outputs/example.jsonl``):

* ``ID`` - e.g. ``nocaps_13062``; the source dataset is its prefix;
* ``Text`` - the prompt; ``Image`` - a path relative to the ``data/`` folder
  (``images/nocaps/13062.jpg``), so ``--images`` defaults to the data file's folder;
* ``Output1``, ``Output2`` - the two responses; ``Better`` - ``"Output1"`` or ``"Output2"``
  (the official judge script's label is ``"B"`` if ``Better == "Output2"`` else ``"A"``);
* ``Category`` - ``open_generation/correctness_task`` (seen in ``outputs/example.jsonl``),
  ``reasoning`` and ``safety`` (named by ``2_get_accuracy.py``); ``open_generation/
  preference_task``, ``knowledge`` and ``vqa`` are the remaining names as a third-party scorer
  of this file lists them (the official repository does not spell them out).

Categories scored, as the official scorer splits them: ``reasoning`` into ``reasoning_math``
(``ID`` starting with "math", i.e. MathVista) and ``reasoning_coding`` (the rest: EMMA-Coding,
image2struct); ``safety`` stays one column as in the paper, with ``safety/bias`` (``ID`` starting
with "pairs") and ``safety/toxicity`` reported beside it. An unknown category is scored in
``overall`` only and reported as ``unknown``. Item ids are the records' ``ID`` s (unique in the
benchmark; a repeated ID is a data error).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import Metric, accuracy_by_category, pairwise_accuracy
from flexjudge.bench.paper import raw
from flexjudge.bench.records import iter_records, resolve_media
from flexjudge.bench.spec import Benchmark, Columns, Item, PaperNumbers, Protocol

#: Table 7's columns, in its order; ``overall`` (first in metrics.json) is micro over all items.
CATEGORIES = (
    "general_correctness",
    "general_preference",
    "knowledge",
    "reasoning_math",
    "reasoning_coding",
    "safety",
    "vqa",
)
UNKNOWN = "unknown"

_CATEGORY = {
    "open_generation/correctness_task": "general_correctness",
    "open_generation/preference_task": "general_preference",
    "knowledge": "knowledge",
    "safety": "safety",
    "vqa": "vqa",
}

_PAIR = ("A", "B", "tie")

_NOTE = (
    "protocol not stated by the paper or the official Flex-Judge code (no script for this "
    "benchmark): one sample, the file's order, no tie (the official judge prompt asks for "
    "[[A]] or [[B]] only), T=0.6 and top-p 0.95 as the other pairwise image benchmarks; "
    "the official scorer draws a random verdict for an unparsable output, flexjudge counts "
    "it invalid and wrong"
)


def category_of(category: str, record_id: str) -> str:
    """The Table 7 column of a record (see the module doc)."""
    if category == "reasoning":
        return "reasoning_math" if record_id.lower().startswith("math") else "reasoning_coding"
    return _CATEGORY.get(category, UNKNOWN)


# Table 7
PAPER: dict[str, PaperNumbers] = {
    "test": raw(
        general_correctness=(0.620, 0.616),
        general_preference=(0.618, 0.612),
        knowledge=(0.630, 0.657),
        reasoning_math=(0.677, 0.625),
        reasoning_coding=(0.550, 0.582),
        safety=(0.732, 0.362),
        vqa=(0.837, 0.777),
        overall=(0.686, 0.631),
    )
}


class MultimodalRewardBench(Benchmark):
    name = "multimodal_rewardbench"
    title = "Multimodal RewardBench"
    splits = ("test",)
    media = "image"
    pairwise = True
    protocol = Protocol(
        samples=1,
        aggregate="vote",
        order="fixed",
        tie=False,
        temperature=0.6,
        top_p=0.95,
        note=_NOTE,
    )
    metric_rules = (
        "accuracy against the 'Better' label; invalid verdicts and predicted ties count as "
        "wrong; overall: micro over all items (the paper's Overall is not the mean of its "
        "columns); each category: micro within it; reasoning split by ID prefix (math -> "
        "reasoning_math, else reasoning_coding); safety/bias (ID pairs*) and safety/toxicity "
        "reported beside safety; unknown categories in overall only"
    )
    data_hint = "data/all_data.json of facebookresearch/multimodal_rewardbench, images under data/"
    paper = PAPER

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        path = Path(data)
        root = media_root or (path.parent if path.is_file() else None)
        seen: set[str] = set()
        for row, rec in iter_records(data, split=split):
            for key in ("ID", "Text", "Output1", "Output2", "Better"):
                if not isinstance(rec.get(key), str):
                    raise BenchmarkDataError(path, f"record has no text field {key!r}", item=row)
            record_id = rec["ID"]
            if record_id in seen:
                raise BenchmarkDataError(path, f"ID {record_id!r} repeats", item=row)
            seen.add(record_id)
            if rec["Better"] not in ("Output1", "Output2"):
                raise BenchmarkDataError(
                    path, f"Better {rec['Better']!r} is not Output1 or Output2", item=record_id
                )
            category = rec.get("Category")
            if category is None and isinstance(rec.get("Meta"), dict):
                category = rec["Meta"].get("Category")
            group = category_of(str(category or ""), record_id)
            image, problem = resolve_media(rec.get("Image"), root, "image")
            request = {
                "task": "pairwise",
                "instruction": rec["Text"],
                "responses": [rec["Output1"], rec["Output2"]],
                "images": [image] if image is not None else [],
                "tie": protocol.tie,
            }
            meta = {"category": str(category)} if group == UNKNOWN else {}
            if group == "safety":
                meta = {"safety": "bias" if record_id.lower().startswith("pairs") else "toxicity"}
            yield Item(
                record_id,
                request,
                "B" if rec["Better"] == "Output2" else "A",
                group,
                meta,
                problem=problem,
            )

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        out = accuracy_by_category(cols.preds, cols.golds, cols.groups, CATEGORIES, unknown=UNKNOWN)
        for kind in ("bias", "toxicity"):  # the two halves of safety, beside it
            idx = [i for i, meta in enumerate(cols.metas) if meta.get("safety") == kind]
            if idx:
                out[f"safety/{kind}"] = pairwise_accuracy(
                    [cols.preds[i] for i in idx],
                    [cols.golds[i] for i in idx],
                    choices=_PAIR,
                    tie="tie",
                    name=f"safety/{kind}",
                )
        return out
