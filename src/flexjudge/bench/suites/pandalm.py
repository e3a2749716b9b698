"""PandaLM's human-annotated test set (``testset-v1.json``), its judge result arrays
(``<judge>-testset-v1.json``), and the benchmark scored like PandaLM's README (:mod:`._text`).

The published result arrays are read by PandaLM's own rule (:func:`pandalm_prediction`), under
which GPT-3.5-turbo scores 71.07 / 58.79 / 57.36 / 57.55 and PandaLM-7B 66.77 / 57.38 / 57.50 /
57.43 (accuracy / precision / recall / F1), as the README prints them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge.bench.metrics import Metric, classification_metrics
from flexjudge.bench.paper import pct
from flexjudge.bench.records import Fields, load_json_array, match_ids
from flexjudge.bench.spec import Columns, Item, PaperNumbers, PredictionFormat, Protocol, Published
from flexjudge.bench.suites._text import CLASSES, TextPairwise
from flexjudge.errors import ConfigError

__all__ = [
    "FORMATS",
    "PandaLM",
    "PandaLMItem",
    "PandaLMJudgment",
    "load_pandalm_judgments",
    "load_pandalm_testset",
    "pandalm_prediction",
]


@dataclass(frozen=True)
class PandaLMItem:
    """One item of PandaLM's human-annotated test set (``testset-v1.json``).

    ``label`` is the majority of the three annotators: 0 = tie, 1 / 2 = that response is better.
    """

    idx: int
    instruction: str
    input: str
    response1: str
    response2: str
    annotators: tuple[int, int, int]
    label: int
    cmp_key: str | None = None
    motivation_app: str | None = None


@dataclass(frozen=True)
class PandaLMJudgment:
    """One line of a PandaLM judge result file; ``result`` is kept raw (``"1"``, ``2``, ``"Tie"``,
    ``"garbage"``...). How it is read is :func:`pandalm_prediction`'s business."""

    idx: int
    result: str | int
    reason: str | None = None


def _response_text(f: Fields, key: str) -> str:
    # testset-v1.json holds six responses as JSON `true` (idx 157-164), not strings.
    value = f.get(key, str, bool, int, float)
    return value if isinstance(value, str) else str(value)


def load_pandalm_testset(path: Path | str) -> list[PandaLMItem]:
    """Load ``testset-v1.json``. Annotations must be 0, 1 or 2 and have a majority (no three-way
    split); ``idx`` must be unique. A response stored as a JSON boolean or number (six in the
    published file are ``true``) is kept as its Python text (``"True"``)."""
    path = Path(path)
    items: list[PandaLMItem] = []
    seen: set[int] = set()
    for i, obj in enumerate(load_json_array(path)):
        f = Fields(obj, path, item=obj.get("idx", i))
        idx = f.integer("idx")
        votes = tuple(f.integer(f"annotator{k}") for k in (1, 2, 3))
        for v in votes:
            if v not in CLASSES:
                raise f.fail(f"annotation {v!r} is not one of {list(CLASSES)}")
        label, count = Counter(votes).most_common(1)[0]
        if count < 2:
            raise f.fail(f"annotators disagree three ways {votes}: no majority label")
        if idx in seen:
            raise f.fail("duplicate idx")
        seen.add(idx)
        items.append(
            PandaLMItem(
                idx=idx,
                instruction=f.text("instruction"),
                input=f.text("input"),
                response1=_response_text(f, "response1"),
                response2=_response_text(f, "response2"),
                annotators=votes,  # type: ignore[arg-type]
                label=label,
                cmp_key=f.text("cmp_key", optional=True),
                motivation_app=f.text("motivation_app", optional=True),
            )
        )
    return items


def load_pandalm_judgments(path: Path | str) -> list[PandaLMJudgment]:
    """Load a PandaLM judge result file (``gpt-3.5-turbo-testset-v1.json``,
    ``pandalm-7b-testset-v1.json``...): a JSON array whose objects hold ``idx`` and exactly one
    ``<judge>_result`` field (str or int), optionally ``<judge>_reason``."""
    path = Path(path)
    out: list[PandaLMJudgment] = []
    for i, obj in enumerate(load_json_array(path)):
        f = Fields(obj, path, item=obj.get("idx", i))
        keys = [k for k in obj if k.endswith("_result")]
        if len(keys) != 1:
            raise f.fail(f"expected exactly one '<judge>_result' field, found {keys or 'none'}")
        result = f.get(keys[0], str, int)
        reason_key = keys[0][: -len("_result")] + "_reason"
        out.append(PandaLMJudgment(f.integer("idx"), result, f.text(reason_key, optional=True)))
    return out


def pandalm_prediction(result: object) -> tuple[int | None, bool]:
    """Read one raw PandaLM judge result by PandaLM's *published* protocol.

    Returns ``(class, was_garbage)``. ``"Tie"`` / ``"tie"`` -> 0; ``"garbage"`` -> 0 as well,
    with ``was_garbage=True`` so callers report how many there were; otherwise ``int(result)``.
    This deliberately departs from flexjudge's general rule (unusable output = invalid, counted
    wrong) because it is how PandaLM's authors defined their metric and the published numbers
    depend on it (GPT-3.5: 71.07 vs 69.77 with garbage counted wrong). Anything that is not an
    integer 0-2 after this reading is invalid (``None``).
    """
    if result in ("Tie", "tie"):
        return 0, False
    if result == "garbage":
        return 0, True
    if isinstance(result, bool):
        return None, False
    try:
        value = int(result)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None, False
    return (value, False) if value in CLASSES else (None, False)


# Table 10 ("Agreement" is accuracy)
PAPER: dict[str, PaperNumbers] = {
    "test": pct(
        accuracy=(76.84, 76.24),
        precision=(72.15, 73.38),
        recall=(70.06, 71.15),
        f1=(70.74, 71.74),
    )
}


class PandaLM(TextPairwise):
    name = "pandalm"
    title = "PandaLM test set (human labels)"
    data_hint = "testset-v1.json from WeOpenML/PandaLM"
    paper = PAPER

    def load_items(
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


# --------------------------------------------------------------------------------------------
# Published judge results (``<judge>-testset-v1.json``)
# --------------------------------------------------------------------------------------------


def _is_result_array(kind: str, first: dict[str, Any] | None, path: Path) -> bool:
    return kind == "array" and first is not None and any(k.endswith("_result") for k in first)


def _read_results(paths: Sequence[Path], data: Path | None, split: str | None) -> Published:
    if data is None:
        raise ConfigError("pandalm needs the test set for labels: pass data=<testset-v1.json>")
    split = PandaLM().check_split(split, data)
    predictions = paths[0]
    items = load_pandalm_testset(data)
    judgments = load_pandalm_judgments(predictions)
    pos = match_ids(
        [str(j.idx) for j in judgments], [str(it.idx) for it in items], predictions, data
    )
    cols, strict, garbage = Columns(), [], 0
    for it in items:
        value, was_garbage = pandalm_prediction(judgments[pos[str(it.idx)]].result)
        garbage += was_garbage
        cols.add(Item(str(it.idx), None, it.label), value)
        strict.append(None if was_garbage else value)
    acc = classification_metrics(strict, cols.golds, classes=CLASSES)["accuracy"]
    extra = {
        "accuracy_strict": Metric(
            "accuracy_strict",
            acc.value,
            acc.n,
            acc.n_invalid,
            "'garbage' counted as invalid (wrong), flexjudge's general rule",
            "rate",
        )
    }
    n_invalid = sum(p is None for p in cols.preds)
    return Published(
        split,
        cols,
        counts={"garbage_read_as_tie": garbage, "invalid": n_invalid},
        extra=extra,
        note=f"{garbage} 'garbage' predictions read as tie (PandaLM published rule)"
        if garbage
        else "",
    )


FORMATS = (
    PredictionFormat(
        name="pandalm_results",
        benchmark="pandalm",
        summary="PandaLM judge result array (<judge>-testset-v1.json: idx, <judge>_result)",
        rules=(
            "label = majority of annotator1..3 (0 tie, 1, 2); prediction 'Tie'/'tie'/'garbage' "
            "-> 0, else int(result); accuracy micro over items; precision/recall/F1 one-vs-rest "
            "per class, 0 where the denominator is 0, unweighted mean over the 3 classes; "
            "accuracy_strict counts 'garbage' wrong"
        ),
        recognise=_is_result_array,
        read=_read_results,
        data="required",
        example="flexjudge eval pandalm --predictions gpt-3.5-turbo-testset-v1.json "
        "--data testset-v1.json",
    ),
)
