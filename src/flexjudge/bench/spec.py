"""What a benchmark is to the harness: items with gold labels, a protocol, and a scorer.

A :class:`Benchmark` turns the benchmark's own records into :class:`Item` s (a judge request
plus the human label), reads a prediction out of a :class:`Decision` (a verdict, or one vote
of it), and computes its metrics from the aligned columns. The harness
(:mod:`flexjudge.bench.harness`) does everything else - judging through the one path,
writing verdicts, per-run aggregation, position-bias statistics, the report - identically for
every benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import Metric
from flexjudge.errors import ConfigError

#: metric -> checkpoint (or published judge) -> value, as the paper prints it (rates as fractions)
PaperNumbers = dict[str, dict[str, float]]

Aggregate = Literal["vote", "mean", "median", "worst"]
AGGREGATES: tuple[str, ...] = ("vote", "mean", "median", "worst")


@dataclass(frozen=True)
class Protocol:
    """How a benchmark is judged and how repeated samples aggregate.

    ``samples`` sampled judgments per item and presentation order. ``aggregate`` says which
    number is the headline when ``samples > 1``:

    * ``vote`` - each item's verdict is the majority of its samples (flexjudge's voting
      rules), and the metric is computed once on those verdicts;
    * ``mean`` - sample *i* of every item forms run *i*; the metric is computed per run and
      averaged over runs (the paper's "sample three times and average");
    * ``median`` / ``worst`` - the median or the worst run (what the official MLLM-as-a-Judge
      scorer does for score and batch).

    All of them are always reported when ``samples > 1``; ``aggregate`` only picks the
    headline. ``order``: fixed, swap (both orders, order reversal) or random (a seeded shuffle
    per item). ``tie``: whether a pairwise judge may answer a tie. ``resize``: ``None`` keeps
    the model's own image preprocessing; ``N`` squashes every image to N x N first, as the
    official runs did (448 or 336).
    """

    samples: int = 1
    aggregate: Aggregate = "vote"
    order: str = "fixed"
    tie: bool = True
    temperature: float = 0.6
    top_p: float = 0.95
    resize: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"samples must be at least 1, got {self.samples}")
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"unknown aggregate {self.aggregate!r}: use {', '.join(AGGREGATES)}")
        if self.resize is not None and not 16 <= self.resize <= 4096:
            raise ConfigError(f"resize must be 16 to 4096 pixels, got {self.resize}")

    def with_overrides(self, **changes: Any) -> Protocol:
        """A copy with the given fields replaced; ``None`` values are ignored, except
        ``resize=0`` which means "the model's own preprocessing"."""
        kept = {k: v for k, v in changes.items() if v is not None}
        if kept.get("resize") == 0:
            kept["resize"] = None
        return replace(self, **kept)

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "aggregate": self.aggregate,
            "order": self.order,
            "tie": self.tie,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "image_resize": f"{self.resize}x{self.resize} (squashed)"
            if self.resize
            else "model's own preprocessing",
            "note": self.note,
        }


@dataclass(frozen=True)
class Item:
    """One benchmark item: a stable id, the request fields (without ``id``), the gold label,
    the group it is scored in (source dataset, category, system...), and small extras.

    ``problem`` is set instead of a usable request when the item cannot be judged (a missing
    media file): the harness records an error verdict naming it and counts it.
    """

    id: str
    request: Mapping[str, Any] | None
    gold: Any
    group: str = "all"
    meta: Mapping[str, Any] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True)
class Decision:
    """What scoring reads from a verdict, or from one vote of it (one run)."""

    ok: bool
    winner: str | None = None
    label: str | None = None
    scores: tuple[float, ...] | None = None
    ranking: tuple[str, ...] | None = None

    @classmethod
    def of(cls, obj: Any) -> Decision:
        """From a :class:`~flexjudge.verdict.Verdict`, a :class:`~flexjudge.verdict.Vote`, or
        a verdict/vote JSON object."""
        get = obj.get if isinstance(obj, Mapping) else (lambda k, d=None: getattr(obj, k, d))
        ok = get("status") == "ok" if get("status") is not None else bool(get("valid"))
        scores = get("scores")
        ranking = get("ranking")
        return cls(
            ok,
            get("winner"),
            get("label"),
            tuple(float(s) for s in scores) if scores is not None else None,
            tuple(ranking) if ranking is not None else None,
        )


@dataclass
class Columns:
    """The aligned per-item values a benchmark's metrics read (small: no request, no text)."""

    ids: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    golds: list[Any] = field(default_factory=list)
    metas: list[Mapping[str, Any]] = field(default_factory=list)
    preds: list[Any] = field(default_factory=list)

    def add(self, item: Item, pred: Any) -> None:
        self.ids.append(item.id)
        self.groups.append(item.group)
        self.golds.append(item.gold)
        self.metas.append(item.meta)
        self.preds.append(pred)

    def with_preds(self, preds: Sequence[Any]) -> Columns:
        return Columns(self.ids, self.groups, self.golds, self.metas, list(preds))

    def __len__(self) -> int:
        return len(self.ids)


class Benchmark:
    """Base class of the benchmarks in :mod:`flexjudge.bench.suites`.

    Subclasses set ``name``, ``splits``, ``protocol`` (or override :meth:`protocol_for`) and
    ``metric_rules`` (one line per metric: its tie, invalid and aggregation rule), and
    implement :meth:`items`, :meth:`predict` and :meth:`score`. ``pairwise`` marks
    benchmarks whose gold is ``"A"``/``"B"``/``"tie"`` in request order, for which the
    harness computes position-bias statistics.
    """

    name: str = ""
    title: str = ""
    splits: tuple[str, ...] = ("test",)
    protocol: Protocol = Protocol()
    pairwise: bool = False
    #: The items' media: "image", "video", "audio", "molecule" or "" (text only).
    media: str = ""
    metric_rules: str = ""
    data_hint: str = ""
    #: split -> the paper's numbers (:data:`PaperNumbers`); shown beside ours in every report
    paper: ClassVar[Mapping[str, PaperNumbers]] = {}

    def protocol_for(self, split: str) -> Protocol:
        return self.protocol

    def is_pairwise(self, split: str) -> bool:
        """Whether the split's gold is a pairwise preference (position-bias statistics apply)."""
        return self.pairwise

    def split_from(self, data: str | Path | None) -> str | None:
        """The split a data path names, if the benchmark's layout says (else None)."""
        return None

    def check_split(self, split: str | None, data: str | Path | None = None) -> str:
        split = split or self.split_from(data) or self.splits[0]
        if split not in self.splits:
            raise ConfigError(
                f"{self.name}: unknown split {split!r}; use one of {', '.join(self.splits)}"
            )
        return split

    def items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        """The split's items from ``data`` (:meth:`load_items`); data without a single item
        (an empty file, a filter that keeps nothing) is an error naming it."""
        empty = True
        for item in self.load_items(data, split, media_root=media_root, protocol=protocol):
            empty = False
            yield item
        if empty:
            raise BenchmarkDataError(data, f"no {self.name} items ({split}): is the file empty?")

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        """The benchmark's reader of its own data format (subclasses implement it)."""
        raise NotImplementedError

    def paper_for(self, split: str) -> PaperNumbers:
        """The paper's numbers for ``split`` (metric -> model -> value), or ``{}``."""
        return self.paper.get(split, {})

    def predict(self, decision: Decision, item: Item) -> Any:
        """The prediction scoring reads from a valid decision. The default serves pairwise
        benchmarks whose gold is ``"A"``/``"B"``/``"tie"`` in request order: the winner."""
        return decision.winner

    def gold_winner(self, item: Item) -> str | None:
        """The human-preferred response in request order (``"A"``, ``"B"`` or ``"tie"``), for
        the position-bias statistics of pairwise benchmarks."""
        return item.gold if self.pairwise else None

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        """Metrics by name; the first one is the headline."""
        raise NotImplementedError


@dataclass
class Published:
    """A published judge-output file (or files), read into the benchmark's columns.

    The benchmark's own :meth:`Benchmark.score` turns ``cols`` into metrics, exactly as for a
    model run; ``extra`` metrics follow them (a format's own contrast, such as PandaLM's
    ``accuracy_strict``), ``note`` is added to every metric's note, ``counts`` and ``details``
    (the judge, the files read) go into ``metrics.json``.
    """

    split: str
    cols: Columns
    counts: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Metric] = field(default_factory=dict)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


#: ``(kind, first object, path) -> bool``: kind is "array", "lines" or "folder"
Recogniser = Callable[[str, "dict[str, Any] | None", Path], bool]
#: ``(prediction paths, data or None, split or None) -> Published``
Reader = Callable[[Sequence[Path], "Path | None", "str | None"], Published]


@dataclass(frozen=True)
class PredictionFormat:
    """A published judge-output format a benchmark module declares (its ``FORMATS``).

    ``recognise`` tells the format from a file's shape (its first object); ``read`` returns
    the predictions aligned to the benchmark's items. ``several``: it takes several files or a
    folder (one file per subset); ``data`` says whether ``--data`` is needed, optional or not
    used.
    """

    name: str
    benchmark: str
    summary: str
    rules: str
    recognise: Recogniser
    read: Reader
    several: bool = False
    data: Literal["required", "optional", "unused"] = "unused"
    example: str = ""
