"""The report's plots as inline SVG, drawn by matplotlib's SVG backend (no pyplot state: one
``Figure`` per plot). Text stays text (``svg.fonttype = none``) and ids are salted per plot,
so several plots live in one page; the date is left out so the same run draws the same file.
Each function takes the matching statistics dict of :func:`flexjudge.report.audit` and
returns the SVG, or ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "plot_categories",
    "plot_length",
    "plot_position",
    "plot_reliability",
    "plot_scores",
    "plot_ties",
]

_JUDGE, _HUMAN = "#3b6fb6", "#d9822b"
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _svg(name: str, draw: Callable[[Any], None], size: tuple[float, float] = (5.6, 3.0)) -> str:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": f"fj-{name}", "font.size": 9}
    ):
        fig = Figure(figsize=size)
        draw(fig)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return _PROLOGUE.sub("", buf.getvalue(), count=1)


def _pct(ax: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1)


def _bars(ax: Any, labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> None:
    colours = [_JUDGE, _HUMAN, "#6a9f58"]
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(xs, [v or 0 for v in values], width, label=name, color=colours[k % 3])
        for x, v in zip(xs, values):
            ax.text(x, (v or 0) + 0.02, "n/a" if v is None else f"{100 * v:.0f}%", ha="center")
    ax.set_xticks(range(len(labels)), labels)


def plot_position(pos: Mapping[str, Any]) -> str | None:
    if not pos.get("valid_votes"):
        return None
    table = pos["by_shown_position"]
    human = pos.get("human")

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 2, 1)
        _bars(
            ax,
            ["A shown first", "A shown second"],
            {
                "A wins (decisive votes)": [
                    table["A_first"]["A_win_rate"],
                    table["A_second"]["A_win_rate"],
                ]
            },
        )
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        _pct(ax)
        ax.set_title("A's win share by shown position")
        ax2 = fig.add_subplot(1, 2, 2)
        series = {"judge": [pos["first_shown_win_rate"]]}
        if human:
            series = {
                "judge": [human["first_position_win_rate"]],
                "human": [human["human_first_position_rate"]],
            }
        _bars(ax2, ["first-shown response wins"], series)
        ax2.axhline(0.5, color="grey", lw=0.8, ls="--")
        _pct(ax2)
        ax2.legend(loc="lower right", fontsize=7)
        ax2.set_title("first position")

    return _svg("position", draw, (6.4, 3.0))


def plot_ties(ties: Mapping[str, Any]) -> str | None:
    if not ties.get("verdicts") and not ties.get("human_items"):
        return None
    labels = ties.get("labels")

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 2 if labels else 1, 1)
        _bars(
            ax,
            ["judge verdicts", "judge votes", "human"],
            {
                "tie rate": [
                    ties["judge_verdict_tie_rate"],
                    ties["judge_vote_tie_rate"],
                    ties["human_tie_rate"],
                ]
            },
        )
        _pct(ax)
        ax.set_title("tie rate")
        if labels:
            names = ["[[A>B]]", "[[B>A]]", "[[A=B=Good]]", "[[A=B=Bad]]"]
            ax2 = fig.add_subplot(1, 2, 2)
            series = {}
            for who in ("judge", "human"):
                counts = labels.get(who) or {}
                total = sum(counts.values())
                if total:
                    series[who] = [counts.get(n, 0) / total for n in names]
            _bars(ax2, ["A>B", "B>A", "=Good", "=Bad"], series)
            _pct(ax2)
            ax2.legend(fontsize=7)
            ax2.set_title("labels given")

    return _svg("ties", draw, (6.4 if labels else 4.0, 3.0))


def plot_length(length: Mapping[str, Any]) -> str | None:
    rows = [r for r in length.get("bins", []) if r["n"] or r["human_n"]]
    if not rows:
        return None

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        xs = list(range(len(rows)))
        ax.plot(xs, [r["A_win_rate"] for r in rows], "o-", color=_JUDGE, label="judge")
        if any(r["human_A_win_rate"] is not None for r in rows):
            ax.plot(xs, [r["human_A_win_rate"] for r in rows], "s--", color=_HUMAN, label="human")
        for x, r in zip(xs, rows):
            ax.annotate(f"n={r['n']}", (x, 0.03), ha="center", fontsize=7, color="grey")
        ax.set_xticks(xs, [r["bin"] for r in rows], rotation=30)
        ax.set_xlabel(f"length difference, {length.get('unit', 'words')}")
        ax.set_ylabel("A's win share")
        _pct(ax)
        ax.legend(fontsize=7)

    return _svg("length", draw)


def _integer_valued(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def plot_scores(scores: Mapping[str, Mapping[str, Any]], most: int = 6) -> str | None:
    groups = [g for g, s in scores.items() if s["judge"] or s["human"]]
    groups = sorted(groups, key=lambda g: (g != "all", -scores[g]["n"]))[:most]
    if not groups:
        return None
    import numpy as np

    def draw(fig: Any) -> None:
        for k, g in enumerate(groups):
            ax = fig.add_subplot(1, len(groups), k + 1)
            data = {who: [(v, n) for v, n in scores[g][who]] for who in ("judge", "human")}
            values = [v for pairs in data.values() for v, _ in pairs]
            if _integer_valued(values):
                bins = np.arange(min(values) - 0.5, max(values) + 1.5)
            else:
                bins = np.histogram_bin_edges(values, bins=12)
            for who, colour in (("judge", _JUDGE), ("human", _HUMAN)):
                if data[who]:
                    vs, ns = zip(*data[who])
                    ax.hist(
                        vs, bins=bins, weights=ns, density=True, alpha=0.6, color=colour, label=who
                    )
            ax.set_title(str(g)[:24], fontsize=8)
            ax.set_yticks([])
            if k == 0:
                ax.legend(fontsize=7)

    return _svg("scores", draw, (min(2.2 * len(groups), 9.0) + 0.6, 2.6))


def plot_reliability(agreement: Mapping[str, Any]) -> str | None:
    rows = agreement.get("bins") or []
    if not rows:
        return None
    judged = [r for r in rows if "accuracy" in r]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        if judged:
            ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="calibrated")
            ax.plot(
                [r["mean_agreement"] for r in judged],
                [r["accuracy"] for r in judged],
                "o-",
                color=_JUDGE,
                label="judge",
            )
            for r in judged:
                ax.annotate(
                    f"n={r['judged']}",
                    (r["mean_agreement"], r["accuracy"]),
                    textcoords="offset points",
                    xytext=(4, -10),
                    fontsize=7,
                )
            ax.set_ylabel("accuracy")
            _pct(ax)
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.bar(
                [(r["lo"] + r["hi"]) / 2 for r in rows], [r["n"] for r in rows], 0.09, color=_JUDGE
            )
            ax.set_ylabel("items")
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("vote agreement")

    return _svg("reliability", draw, (4.6, 3.2))


def plot_categories(categories: Mapping[str, Mapping[str, Any]], most: int = 30) -> str | None:
    rows = [(g, c) for g, c in categories.items() if c["n"]][:most]
    if not rows:
        return None

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        ys = list(range(len(rows)))[::-1]
        ax.barh(ys, [c["accuracy"] or 0 for _, c in rows], color=_JUDGE)
        ax.set_yticks(ys, [f"{g[:28]} (n={c['n']})" for g, c in rows])
        ax.set_xlim(0, 1)
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("accuracy")

    return _svg("categories", draw, (5.6, 0.9 + 0.28 * len(rows)))
