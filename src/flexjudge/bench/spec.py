"""What a benchmark is to the harness: items with gold labels, a protocol, and a scorer.

A :class:`Benchmark` turns the benchmark's own records into :class:`Item` s (a judge request
plus the human label), reads a prediction out of a :class:`Decision` (a verdict, or one vote
of it), and computes its metrics from the aligned columns. The harness
(:mod:`flexjudge.bench.harness`) does everything else - judging through the one path,
writing verdicts, per-run aggregation, position-bias statistics, the report - identically for
every benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from flexjudge.bench.metrics import Metric
from flexjudge.errors import ConfigError

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
        raise NotImplementedError

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
