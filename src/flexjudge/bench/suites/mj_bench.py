"""MJ-Bench (Chen et al. 2024): which of two generated images better serves a text-to-image
prompt, per perspective (alignment, safety, quality - the paper's "Artifact" column), scored
with and without predicted ties as the Flex-Judge paper's Table 2 (right) reports.

Data: a dataset folder or hub id (``MJ-Bench/MJ-Bench``; each perspective is a *split* there,
as in MJ-Bench's ``inference.py`` - ``dataset[perspective]`` - and Flex-Judge's
``test/mj_bench_vllm.py`` - ``split=args.split``), or a local JSONL / JSON / CSV file of one
perspective. Fields: ``caption``, ``image0``, ``image1`` (a path relative to ``--images``,
default the data file's folder, or a PIL image / dataset image cell) and ``label``.

Label semantics - what was found and what is assumed:

* Found: MJ-Bench's ``utils/rm_utils.py`` (``get_label``) maps its older ``label_0`` field to
  ``"0"`` when ``label_0 == 1`` (image0 preferred), ``"1"`` when 0, ``"tie"`` when 0.5; its
  ``inference.py`` stores ``example["label"]`` beside predictions ``"0"`` / ``"1"`` / ``"tie"``
  (image0 / image1 / tie). The current hub dataset card (huggingface.co/datasets/MJ-Bench/
  MJ-Bench) says ``image0`` is the positive image and ``label`` is "always 0, indicating that
  image0 is preferred".
* Assumed: ``label`` 0 = image0 better, 1 = image1 better (ints or the strings "0"/"1"); a
  record with only ``label_0`` is read with ``get_label``'s rule; a human tie (``label_0`` 0.5)
  or any other value is a data error, since neither metric defines a human tie.

Gold in request order (responses = [image0, image1]): label 0 -> ``"A"``, 1 -> ``"B"``. Item
ids are the 1-based row numbers. The ``bias`` perspective is not supported (MJ-Bench scores it
with ACC / NDS / GES over demographic groups; the paper does not report it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import Metric, accuracy_with_without_tie
from flexjudge.bench.sources import iter_records, resolve_media
from flexjudge.bench.spec import Benchmark, Columns, Item, Protocol
from flexjudge.errors import ConfigError
from flexjudge.prompts.protocol import MJ_BENCH_CRITERIA

_NOTE = (
    "paper Table 6: order reversal plus a tie option (order=swap: every item judged in "
    "both orders, the verdict is the majority of the two votes, a tie when they disagree "
    "with equal mean scores); one sample per order; official T=0.6, top-p 0.95; official "
    "images squashed to 336x336 (--resize 336 to match; not the default)"
)


class MJBench(Benchmark):
    name = "mj_bench"
    title = "MJ-Bench"
    splits = ("alignment", "safety", "quality")
    media = "image"
    pairwise = True
    protocol = Protocol(
        samples=1, aggregate="vote", order="swap", tie=True, temperature=0.6, top_p=0.95, note=_NOTE
    )
    metric_rules = (
        "accuracy_with_tie: micro over all items, a predicted tie is wrong; "
        "accuracy_without_tie: items predicted as tie excluded (count in details), micro over "
        "the rest; invalid verdicts wrong in both and never taken for ties; the headline is the "
        "verdict over both presentation orders"
    )
    data_hint = "MJ-Bench/MJ-Bench (split = perspective), a saved dataset folder, or one JSONL per perspective"

    def split_from(self, data: str | Path | None) -> str | None:
        if data is None:
            return None
        stem = Path(str(data)).stem.lower()
        return stem if stem in self.splits or stem == "bias" else None

    def check_split(self, split: str | None, data: str | Path | None = None) -> str:
        chosen = split or self.split_from(data) or self.splits[0]
        if chosen == "bias":
            raise ConfigError(
                "mj_bench: the bias perspective is not supported (MJ-Bench scores it "
                "with ACC/NDS/GES over demographic groups, not pairwise accuracy, "
                "and the Flex-Judge paper does not report it); use alignment, "
                "safety or quality"
            )
        return super().check_split(chosen, data)

    def items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        path = Path(data)
        root = media_root or (path.parent if path.is_file() else None)
        for row, rec in iter_records(data, split=split):
            caption = rec.get("caption")
            if not isinstance(caption, str) or not caption.strip():
                raise BenchmarkDataError(path, "record has no text 'caption'", item=row)
            gold = _gold(rec, path, row)
            images, problems = [], []
            for key in ("image0", "image1"):
                if key not in rec:
                    raise BenchmarkDataError(path, f"record has no {key!r} field", item=row)
                image, problem = resolve_media(rec[key], root, "image")
                images.append(image)
                if problem:
                    problems.append(f"{key}: {problem}")
            request = {
                "task": "pairwise",
                "instruction": caption,
                "responses": [
                    {"text": "", "images": [im]} if im is not None else {"text": key}
                    for im, key in zip(images, ("image0", "image1"))
                ],
                "criteria": MJ_BENCH_CRITERIA[split],
                "tie": protocol.tie,
            }
            yield Item(str(row), request, gold, split, problem="; ".join(problems) or None)

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        return accuracy_with_without_tie(cols.preds, cols.golds, choices=("A", "B"), tie="tie")


def _gold(rec: dict[str, Any], path: Path, row: int) -> str:
    if "label" in rec and rec["label"] is not None:
        value = rec["label"]
        key = str(value).strip()
        if key in ("0", "0.0"):
            return "A"
        if key in ("1", "1.0"):
            return "B"
        raise BenchmarkDataError(
            path, f"label {value!r} is not 0 (image0 better) or 1 (image1 better)", item=row
        )
    if "label_0" in rec:
        value = float(rec["label_0"])
        if value == 1:
            return "A"
        if value == 0:
            return "B"
        raise BenchmarkDataError(
            path, f"label_0 {rec['label_0']!r}: human ties are not scored", item=row
        )
    raise BenchmarkDataError(
        path, "record has no 'label' (0 = image0 better, 1 = image1 better)", item=row
    )
