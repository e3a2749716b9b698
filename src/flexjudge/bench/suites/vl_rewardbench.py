"""VL-RewardBench (Li et al. 2024): pairwise preference between two answers about one image,
accuracy per category (general, hallucination, reasoning), overall and macro, as the Flex-Judge
paper's Table 2 (left) reports.

Data, either of:

* the published ``data.jsonl`` (vl-rewardbench/VL_RewardBench, ``data/data.jsonl``): ``query``,
  ``response`` (2), ``human_ranking``, ``image_path`` relative to ``--images`` (default: the
  data file's folder). The category comes from the image folder (:data:`VLRB_CATEGORIES`).
* a dataset folder or hub id (``MMInstruction/VL-RewardBench``, split ``test``) with an
  ``image`` column (PIL / image cell), ``query``, ``response``, ``human_ranking`` and ``id``.
  Without ``image_path`` the category comes from the ``id`` prefix (:func:`category_of_id`).

Item ids are the 1-based line / row numbers: the published ``id`` repeats (18 ids twice).
The gold is in request order (the file's order): ``"A"`` when ``human_ranking == [0, 1]``,
else ``"B"``. The file lists the better response first 1245 times out of 1250, which is why the
presentation order is randomised per item.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import Metric, accuracy_by_category, macro_average
from flexjudge.bench.paper import pct
from flexjudge.bench.records import Fields, iter_jsonl, iter_records, resolve_media
from flexjudge.bench.spec import Benchmark, Columns, Item, PaperNumbers, Protocol

#: Category by the image folder in ``image_path``. Inferred, not stated in the file: the folders
#: split 749 / 318 / 183, the Hallucination / Reasoning / General sizes of the VL-RewardBench paper.
VLRB_CATEGORIES: dict[str, str] = {
    "povid": "hallucination",
    "rlaif-v": "hallucination",
    "rlhf-v": "hallucination",
    "reasoning_tasks": "reasoning",
    "wildvision-battle": "general",
    "vlfeedback": "general",
}


@dataclass(frozen=True)
class VLRewardBenchItem:
    """One VL-RewardBench item (``data.jsonl``).

    ``human_ranking`` is a rank per response, 0 = better: ``(0, 1)`` means the first response is
    better. ``category`` comes from :data:`VLRB_CATEGORIES` (``None`` for an unknown folder).
    ``id`` is not unique in the published file, so ``line`` is the stable key.
    """

    id: str
    query: str
    responses: tuple[str, str]
    human_ranking: tuple[int, int]
    image_path: str
    models: tuple[str, ...]
    judge: str | None
    query_source: str | None
    category: str | None
    line: int

    @property
    def better(self) -> int:
        """Index (0 or 1) of the human-preferred response."""
        return self.human_ranking.index(0)


def iter_vl_rewardbench(path: Path | str) -> Iterator[VLRewardBenchItem]:
    """Stream VL-RewardBench ``data.jsonl``. Each item needs two responses and a
    ``human_ranking`` of ``[0, 1]`` or ``[1, 0]``."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = Fields(obj, path, line=lineno)
        responses = f.get("response", list)
        if len(responses) != 2 or not all(isinstance(r, str) for r in responses):
            raise f.fail(f"'response' must be a list of 2 strings, got {len(responses)} items")
        ranking = f.get("human_ranking", list)
        if ranking not in ([0, 1], [1, 0]):
            raise f.fail(f"human_ranking {ranking!r} is not [0, 1] or [1, 0]")
        image_path = f.text("image_path")
        parts = PurePosixPath(image_path).parts
        folder = parts[1] if len(parts) > 2 else None
        models = f.get("models", list, optional=True) or []
        yield VLRewardBenchItem(
            id=f.text("id"),
            query=f.text("query"),
            responses=(responses[0], responses[1]),
            human_ranking=(ranking[0], ranking[1]),
            image_path=image_path,
            models=tuple(str(m) for m in models),
            judge=f.text("judge", optional=True),
            query_source=f.text("query_source", optional=True),
            category=VLRB_CATEGORIES.get(folder) if folder else None,
            line=lineno,
        )


#: The three categories of the paper, in its column order; anything else is "unknown".
CATEGORIES = ("general", "hallucination", "reasoning")
UNKNOWN = "unknown"

#: ``id`` prefix (text before the first "-" or "_") -> category, for records without
#: ``image_path``. Derived from the published data.jsonl, where it agrees with the image folder
#: for all 1250 items: hallucination-* = povid, RLAIF-* = rlaif-v, RLHF-* = rlhf-v (all
#: hallucination); mathverse-*/mmmu-* = reasoning_tasks; wildvision-* = wildvision-battle; every
#: other prefix there (jailbreak, LRVInstruction, politics, svit) is vlfeedback (general).
_ID_PREFIX = {
    "hallucination": "hallucination",
    "RLAIF": "hallucination",
    "RLHF": "hallucination",
    "mathverse": "reasoning",
    "mmmu": "reasoning",
    "wildvision": "general",
}


_NOTE = (
    "paper Table 6: 5 samples averaged (aggregate=mean), the two responses in random "
    "order (a seeded shuffle per item, shared by its 5 samples; the official script "
    "re-draws the swap per sample with seed k); no tie in the prompt (tie=False): the "
    "official parser turns equal scores into [0,0], which never matches a label, so a tie "
    "is always wrong - here equal scores are an invalid vote, also wrong; official T=0.6, "
    "top-p 0.95, native image resolution"
)


def category_of_id(record_id: str) -> str:
    """The category of a VL-RewardBench id without its image path (see :data:`_ID_PREFIX`)."""
    prefix = re.split(r"[-_]", record_id, maxsplit=1)[0]
    return _ID_PREFIX.get(prefix, "general")


# Table 2 (left)
PAPER: dict[str, PaperNumbers] = {
    "test": pct(
        general=(46.11, 47.01),
        hallucination=(43.39, 42.72),
        reasoning=(62.87, 61.08),
        overall=(48.60, 48.02),
        macro=(50.79, 50.27),
    )
}


class VLRewardBench(Benchmark):
    name = "vl_rewardbench"
    title = "VL-RewardBench"
    splits = ("test",)
    media = "image"
    pairwise = True
    protocol = Protocol(
        samples=5,
        aggregate="mean",
        order="random",
        tie=False,
        temperature=0.6,
        top_p=0.95,
        note=_NOTE,
    )
    metric_rules = (
        "accuracy against the human preference; invalid verdicts (equal scores included, tie "
        "not allowed) and predicted ties count as wrong; overall: micro over all items; general "
        "/ hallucination / reasoning: micro within the category; macro: unweighted mean of those "
        "three (a category without items is left out and named); items of an unknown category "
        "count in overall only and are reported as 'unknown'; with 5 samples, run i = sample i "
        "of every item and the headline is the mean over runs"
    )
    data_hint = (
        "data.jsonl with images/ beside it, or a dataset folder / MMInstruction/VL-RewardBench"
    )
    paper = PAPER

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        path = Path(data)
        if path.is_file():
            root = media_root or path.parent
            for it in iter_vl_rewardbench(path):
                image, problem = resolve_media(it.image_path, root, "image")
                yield self._item(
                    it.line,
                    it.query,
                    it.responses,
                    it.better,
                    image,
                    problem,
                    it.category or UNKNOWN,
                    it.id,
                    protocol,
                )
            return
        for row, rec in iter_records(data, split=split):
            for key in ("query", "response", "human_ranking"):
                if key not in rec:
                    raise BenchmarkDataError(path, f"record has no {key!r} field", item=row)
            responses = rec["response"]
            if not (
                isinstance(responses, (list, tuple))
                and len(responses) == 2
                and all(isinstance(r, str) for r in responses)
            ):
                raise BenchmarkDataError(path, "'response' must be a list of 2 strings", item=row)
            ranking = list(rec["human_ranking"])
            if ranking not in ([0, 1], [1, 0]):
                raise BenchmarkDataError(
                    path, f"human_ranking {ranking!r} is not [0, 1] or [1, 0]", item=row
                )
            record_id = str(rec.get("id", ""))
            if rec.get("image_path"):
                parts = Path(str(rec["image_path"])).parts
                category = VLRB_CATEGORIES.get(parts[1]) if len(parts) > 2 else None
            else:
                category = category_of_id(record_id) if record_id else None
            value = rec.get("image") if rec.get("image") is not None else rec.get("image_path")
            image, problem = resolve_media(value, media_root, "image")
            yield self._item(
                row,
                str(rec["query"]),
                tuple(responses),
                ranking.index(0),
                image,
                problem,
                category or UNKNOWN,
                record_id,
                protocol,
            )

    @staticmethod
    def _item(
        row: int,
        query: str,
        responses: tuple[str, ...],
        better: int,
        image: Any,
        problem: str | None,
        category: str,
        record_id: str,
        protocol: Protocol,
    ) -> Item:
        request = {
            "task": "pairwise",
            "instruction": query,
            "responses": list(responses),
            "images": [image] if image is not None else [],
            "tie": protocol.tie,
        }
        return Item(
            str(row),
            request,
            "A" if better == 0 else "B",
            category,
            {"source_id": record_id},
            problem=problem,
        )

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        out = accuracy_by_category(cols.preds, cols.golds, cols.groups, CATEGORIES, unknown=UNKNOWN)
        out["macro"] = macro_average({c: out[c] for c in CATEGORIES if out[c].n}, name="macro")
        return out
