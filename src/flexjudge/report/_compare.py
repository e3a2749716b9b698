"""Two runs on the same items, side by side: which verdicts changed (and, with gold, which
were fixed or broken), the metric deltas, and the bias statistics of both."""

from __future__ import annotations

import datetime as _dt
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flexjudge.bench.audit.quality import item_correct
from flexjudge.errors import InputError
from flexjudge.report._audit import audit_run
from flexjudge.report._media import MediaEmbedder
from flexjudge.report._page import (
    PageOptions,
    _describe_verdict,
    item_row,
    page_json,
    render,
)
from flexjudge.report._run import Run, RunItem

__all__ = ["build_comparison", "compare_runs"]

_FIRST = 5
#: The scalar statistics compared between runs: (section of the audit, key).
BIAS_KEYS: tuple[tuple[str, str], ...] = (
    ("status", "valid_vote_rate"),
    ("position", "first_shown_win_rate"),
    ("order_swap", "order_agreement_rate"),
    ("ties", "judge_verdict_tie_rate"),
    ("ties", "human_tie_rate"),
    ("length", "longer_win_rate"),
    ("agreement", "ece"),
)


def _change(
    a: Mapping[str, Any], b: Mapping[str, Any], ok_a: bool | None, ok_b: bool | None
) -> str:
    if ok_a is True and ok_b is False:
        return "broken"
    if ok_a is False and ok_b is True:
        return "fixed"
    same = a.get("status") == b.get("status") and _describe_verdict(a) == _describe_verdict(b)
    return "same" if same else "changed"


def _delta(x: Any, y: Any) -> float | None:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return float(y) - float(x)
    return None


def _pairs(a: Run, b: Run) -> tuple[list[tuple[RunItem, RunItem]], list[str], list[str]]:
    by_id = {item.id: item for item in b.items}
    pairs = [(item, by_id[item.id]) for item in a.items if item.id in by_id]
    ids_a = {item.id for item in a.items}
    only_a = [item.id for item in a.items if item.id not in by_id]
    only_b = [item.id for item in b.items if item.id not in ids_a]
    if not pairs:
        raise InputError(
            f"{a.verdicts_path} and {b.verdicts_path} share no item id: compare runs of the "
            "same items"
        )
    return pairs, only_a, only_b


def compare_runs(a: Run, b: Run) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b`` (JSON-ready), over the items both judged."""
    pairs, only_a, only_b = _pairs(a, b)
    changes: Counter[str] = Counter()
    for x, y in pairs:
        gold = x.gold or y.gold
        changes[
            _change(
                x.verdict, y.verdict, item_correct(x.verdict, gold), item_correct(y.verdict, gold)
            )
        ] += 1
        changes["status_changed"] += x.verdict.get("status") != y.verdict.get("status")
    metrics = {}
    ma = (a.metrics or {}).get("metrics") or {}
    mb = (b.metrics or {}).get("metrics") or {}
    for name in ma:
        if name in mb:
            va, vb = ma[name].get("value"), mb[name].get("value")
            metrics[name] = {
                "a": va,
                "b": vb,
                "delta": _delta(va, vb),
                "kind": ma[name].get("kind", "rate"),
            }
    sa, sb = audit_run(a), audit_run(b)
    bias = {}
    for section, key in BIAS_KEYS:
        va, vb = sa[section].get(key), sb[section].get(key)
        bias[f"{section}.{key}"] = {"a": va, "b": vb, "delta": _delta(va, vb)}
    return {
        "a": str(a.verdicts_path),
        "b": str(b.verdicts_path),
        "common_items": len(pairs),
        "only_in_a": {"n": len(only_a), "first": only_a[:_FIRST]},
        "only_in_b": {"n": len(only_b), "first": only_b[:_FIRST]},
        "changes": {
            k: changes[k] for k in ("same", "changed", "fixed", "broken", "status_changed")
        },
        "metrics": metrics,
        "bias": bias,
    }


def build_comparison(
    a: Run, b: Run, output: Path, options: PageOptions | None = None
) -> dict[str, Any]:
    """Write the comparison page of runs ``a`` and ``b``; returns :func:`compare_runs` plus
    the page's size and build time."""
    options = options or PageOptions()
    start = time.perf_counter()
    summary = compare_runs(a, b)
    pairs, _, _ = _pairs(a, b)
    output.parent.mkdir(parents=True, exist_ok=True)
    media = MediaEmbedder(
        output.parent, budget_bytes=options.media_budget, thumb_px=options.thumb_px
    )
    rows = []
    for x, y in pairs:
        gold = x.gold or y.gold
        ok_a, ok_b = item_correct(x.verdict, gold), item_correct(y.verdict, gold)
        embed = options.media_budget > 0 and _change(x.verdict, y.verdict, ok_a, ok_b) != "same"
        ra = item_row(
            x if x.request else y, media, options, embed=embed, source=a.verdicts_path.name
        )
        rb = item_row(y, media, options, embed=False, source=b.verdicts_path.name)
        rb["d"].pop("request", None)
        rows.append(
            {
                "id": x.id,
                "task": ra["task"],
                "group": x.group or y.group or "",
                "a": ra["verdict"],
                "b": rb["verdict"],
                "gold": gold.describe() if gold else "",
                "a_correct": ok_a,
                "b_correct": ok_b,
                "a_status": x.verdict.get("status"),
                "b_status": y.verdict.get("status"),
                "change": _change(x.verdict, y.verdict, ok_a, ok_b),
                "d": {"a": ra["d"], "b": rb["d"], "gold": gold.as_json() if gold else None},
            }
        )
    data = {
        "rows": rows,
        "media": media.data,
        "config": {
            "mode": "compare",
            "pageSize": options.page_size,
            "lowAgreement": options.low_agreement,
            "hasGold": a.has_gold or b.has_gold,
            "names": [a.name, b.name],
        },
    }
    html = render(
        "compare.html.j2",
        title=options.title or f"flexjudge comparison: {a.name} vs {b.name}",
        a=a,
        b=b,
        summary=summary,
        built=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        data_json=page_json(data),
    )
    output.write_text(html, encoding="utf-8")
    return {
        **summary,
        "output": str(output),
        "bytes": output.stat().st_size,
        "seconds": round(time.perf_counter() - start, 3),
    }
