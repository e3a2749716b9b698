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

Published judge outputs (format ``mj_bench_results``): MJ-Bench's closed-source results,
``closesource_result/<perspective>/<subset>/<judge>_<perspective>_number10.json`` (a JSON list
of ``{"id", "caption", "image_0_uid", "image_1_uid", "score_0", "score_1", "label",
"vlm_pred", "output", "pred"}``), one file per subset, read by :func:`read_closed_results`
with MJ-Bench's rules: a record is right when ``vlm_pred == label``, a ``"tie"`` is wrong
("with tie") or dropped from the denominator ("without tie"), and the perspective's number is
micro over all its records (sample-weighted), not the mean of the subsets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import Metric, accuracy_with_without_tie
from flexjudge.bench.paper import OMNI, VL
from flexjudge.bench.records import Fields, iter_records, load_json_array, resolve_media
from flexjudge.bench.spec import (
    Benchmark,
    Columns,
    Item,
    PaperNumbers,
    PredictionFormat,
    Protocol,
    Published,
)
from flexjudge.errors import ConfigError
from flexjudge.prompts.protocol import MJ_BENCH_CRITERIA

__all__ = ["FORMATS", "MJBench", "read_closed_results"]

PERSPECTIVES = ("alignment", "safety", "quality", "bias")
#: The alignment subsets in MJ-Bench's table order; "spatial" is the tables' "Location" column.
ALIGNMENT_SUBSETS = ("object", "attribute", "action", "spatial", "count")
_CHOICES = ("A", "B")
_GOLD_OF = {0: "A", 1: "B"}
_PRED_OF: dict[object, str] = {0: "A", 1: "B", "tie": "tie"}

_NOTE = (
    "paper Table 6: order reversal plus a tie option (order=swap: every item judged in "
    "both orders, the verdict is the majority of the two votes, a tie when they disagree "
    "with equal mean scores); one sample per order; official T=0.6, top-p 0.95; official "
    "images squashed to 336x336 (--resize 336 to match; not the default)"
)


def _table2(vl: float, omni: float, gpt4o: float, gemini: float, claude: float) -> dict[str, float]:
    models = (VL, OMNI, "GPT-4o", "Gemini Ultra", "Claude 3 Opus")
    return {m: round(v / 100, 6) for m, v in zip(models, (vl, omni, gpt4o, gemini, claude))}


# Table 2 (right), with the closed-model judges it prints beside Flex (MJ-Bench's own numbers);
# MJ-Bench's "quality" perspective is the paper's "Artifact" column
PAPER: dict[str, PaperNumbers] = {
    "alignment": {
        "accuracy_with_tie": _table2(58.16, 60.84, 61.5, 67.2, 57.1),
        "accuracy_without_tie": _table2(59.13, 62.46, 62.5, 69.0, 55.9),
    },
    "safety": {
        "accuracy_with_tie": _table2(57.51, 47.69, 35.3, 13.1, 13.4),
        "accuracy_without_tie": _table2(66.88, 65.21, 100.0, 95.1, 78.9),
    },
    "quality": {
        "accuracy_with_tie": _table2(82.32, 75.80, 97.6, 55.7, 11.9),
        "accuracy_without_tie": _table2(89.08, 91.66, 98.7, 96.7, 70.4),
    },
}


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
    paper = PAPER

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

    def load_items(
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
        """Both accuracies over all items; with several groups (the subsets of a published
        result folder) each group's too, as ``accuracy_with_tie/<group>``."""
        out = accuracy_with_without_tie(cols.preds, cols.golds, choices=_CHOICES, tie="tie")
        groups = list(dict.fromkeys(cols.groups))
        if len(groups) < 2:
            return out
        micro = "micro over all records of the perspective (sample-weighted), not the mean of "
        out = {
            k: replace(m, note=f"{micro}{len(groups)} subsets; {m.note}") for k, m in out.items()
        }
        for g in groups:
            idx = [i for i, x in enumerate(cols.groups) if x == g]
            per = accuracy_with_without_tie(
                [cols.preds[i] for i in idx], [cols.golds[i] for i in idx], choices=_CHOICES
            )
            out.update({f"{k}/{g}": replace(m, name=f"{k}/{g}") for k, m in per.items()})
        return out


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


# --------------------------------------------------------------------------------------------
# Published judge results (closesource_result/<perspective>/<subset>/<judge>_...json)
# --------------------------------------------------------------------------------------------


def _is_closed_result(kind: str, first: dict[str, Any] | None, path: Path) -> bool:
    if kind == "folder":
        return any(path.rglob("*.json"))
    return kind == "array" and first is not None and "vlm_pred" in first and "label" in first


def _expand(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.rglob("*.json"))
            if not found:
                raise BenchmarkDataError(p, "folder holds no MJ-Bench result files (*.json)")
            files += found
        else:
            files.append(p)
    return files


def _judge_and_perspective(path: Path) -> tuple[str | None, str | None]:
    """``gpt-4o_alignment_number10.json`` -> ("gpt-4o", "alignment"); (None, None) when the
    name does not follow MJ-Bench's pattern."""
    parts = path.stem.split("_")
    for i, part in enumerate(parts):
        if part in PERSPECTIVES and i > 0:
            return "_".join(parts[:i]), part
    return None, None


def _one_value(values: set[str], what: str, files: Sequence[Path]) -> str | None:
    if len(values) > 1:
        raise BenchmarkDataError(
            files[0].parent,
            f"result files of several {what}s ({', '.join(sorted(values))}): pass one "
            f"{what}'s files (a folder of them, or repeat --predictions)",
        )
    return next(iter(values), None)


def _subsets(files: Sequence[Path]) -> list[str]:
    """Each file's subset: its folder's name (MJ-Bench's layout), or its name when the files
    share a folder; the order is MJ-Bench's table order, then the rest as given."""
    names = (
        [f.parent.name for f in files]
        if len({f.parent for f in files}) == len(files)
        else [f.stem for f in files]
    )
    for name in set(names):
        if names.count(name) > 1:
            raise BenchmarkDataError(files[0].parent, f"two result files for subset {name!r}")
    return names


def _records(path: Path, subset: str, cols: Columns, seen: set[str]) -> int:
    """Add one subset file's records to ``cols``; returns how many ``pred`` s disagree with
    ``vlm_pred`` (MJ-Bench scores ``vlm_pred``; ``pred`` -1 is its refusal, read as a tie)."""
    differs = 0
    for i, obj in enumerate(load_json_array(path)):
        f = Fields(obj, path, item=obj.get("id", i))
        rid = str(f.get("id", str, int))
        label = f.integer("label")
        if label not in _GOLD_OF:
            raise f.fail(f"label {label!r} is not 0 (image 0 preferred) or 1 (image 1 preferred)")
        if "vlm_pred" not in obj:
            raise f.fail("missing field 'vlm_pred'")
        vlm = obj["vlm_pred"]
        pred = _PRED_OF.get(vlm) if not isinstance(vlm, bool) else None
        if "pred" in obj:
            raw = obj["pred"]
            shown = "tie" if raw in (-1, "-1") else _PRED_OF.get(raw, _PRED_OF.get(_int(raw)))
            differs += shown != pred
        key = f"{subset}/{rid}"
        if key in seen:
            raise f.fail(f"id {rid!r} repeats in subset {subset!r}")
        seen.add(key)
        cols.add(Item(key, None, _GOLD_OF[label], subset), pred)
    return differs


def _int(value: object) -> object:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return value


def read_closed_results(
    paths: Sequence[Path], data: Path | None = None, split: str | None = None
) -> Published:
    """MJ-Bench closed-source result files of one judge and perspective: a folder of subset
    files (MJ-Bench's ``closesource_result/<perspective>/``), several files, or one. The
    perspective (the split) comes from the file names (``<judge>_<perspective>_...``) or
    ``split``; files of several judges or perspectives are refused."""
    if data is not None:
        raise ConfigError("mj_bench result files carry their labels: --data is not used with them")
    files = _expand(paths)
    names = [_judge_and_perspective(f) for f in files]
    judge = _one_value({j for j, _ in names if j}, "judge", files)
    found = _one_value({p for _, p in names if p}, "perspective", files)
    if split is not None and found is not None and split != found:
        raise ConfigError(f"--split {split} but the files are MJ-Bench {found} results")
    if split is None and found is None:
        raise ConfigError("name the perspective: --split alignment, safety or quality")
    split = MJBench().check_split(split or found)
    subsets = _subsets(files)
    order = {s: i for i, s in enumerate(ALIGNMENT_SUBSETS)}
    ranked = sorted(zip(subsets, files), key=lambda sf: order.get(sf[0], len(order)))
    cols, seen, differs = Columns(), set[str](), 0
    for subset, path in ranked:
        differs += _records(path, subset, cols, seen)
    ties = sum(p == "tie" for p in cols.preds)
    return Published(
        split,
        cols,
        counts={
            "invalid": sum(p is None for p in cols.preds),
            "predicted_ties": ties,
            "pred_differs_from_vlm_pred": differs,
        },
        details={
            "judge": judge,
            "subsets": {s: cols.groups.count(s) for s, _ in ranked},
            "files": [str(f) for _, f in ranked],
        },
    )


FORMATS = (
    PredictionFormat(
        name="mj_bench_results",
        benchmark="mj_bench",
        summary="MJ-Bench closed-source judge results (closesource_result/<perspective>/"
        "<subset>/<judge>_<perspective>_number10.json: id, label, vlm_pred, pred), a folder "
        "of one judge's subset files or single files",
        rules=(
            "right when vlm_pred == label (0 = image 0 preferred, 1 = image 1); 'tie' is wrong "
            "with tie and dropped from the denominator without tie; any other vlm_pred invalid "
            "and wrong in both; the perspective's accuracy is micro over all its records "
            "(sample-weighted), each subset reported beside it; pred is not scored (MJ-Bench "
            "scores vlm_pred), disagreements counted"
        ),
        recognise=_is_closed_result,
        read=read_closed_results,
        several=True,
        example="flexjudge eval mj_bench --predictions closesource_result/alignment "
        "(one judge's files)",
    ),
)
