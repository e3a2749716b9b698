"""Build the report page of one run: the overview, the bias audit with its plots, and the items
table, rendered by Jinja2 from the templates shipped in ``flexjudge/report/templates``.

Item data go into the page as one JSON block that the inline script pages through (50 rows at
a time), so a 10,000-item run stays responsive. Texts longer than ``max_text`` characters keep
their head and their tail (where the answers are) and say how much was cut and which line of
the verdict file holds the whole. Media are embedded for the items an evaluator opens first
(wrong, invalid, error, order flips, low agreement), then for the rest while the media budget
lasts; beyond it they are relative links.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge.bench.audit.quality import item_correct, score_error
from flexjudge.report._audit import audit_run
from flexjudge.report._media import MediaEmbedder
from flexjudge.report._run import Run, RunItem

__all__ = ["PageOptions", "build_report", "item_row", "page_json", "render"]


@dataclass(frozen=True)
class PageOptions:
    """How the page is built. ``media_budget``: bytes of embedded media (0: links only)."""

    max_text: int = 1500
    page_size: int = 50
    low_agreement: float = 0.75
    media_budget: int = 25 * 1024**2
    thumb_px: int = 192
    title: str | None = None


def clip(text: Any, limit: int, where: str) -> str:
    """``text`` cut to about ``limit`` characters: two thirds from the head, one from the tail."""
    text = "" if text is None else str(text)
    if limit <= 0 or len(text) <= limit:
        return text
    head, tail = (2 * limit) // 3, limit // 3
    cut = len(text) - head - tail
    return (
        f"{text[:head]}\n[… {cut} characters cut; the whole text is in {where} …]\n{text[-tail:]}"
    )


def _describe_verdict(v: Mapping[str, Any]) -> str:
    if v.get("status") != "ok":
        return str(v.get("status"))
    if v.get("label"):
        return str(v["label"])
    if v.get("ranking"):
        return ">".join(v["ranking"])
    if v.get("winner"):
        return str(v["winner"])
    scores = v.get("scores") or []
    return ", ".join(f"{s:g}" for s in scores)


def _order_text(order: Sequence[int] | None) -> str:
    return " ".join(chr(ord("A") + i) for i in order or [])


def _vote(vote: Mapping[str, Any], limit: int, where: str) -> dict[str, Any]:
    keep = ("valid", "reason", "error", "scores", "winner", "label", "ranking", "finish_reason")
    out = {k: vote.get(k) for k in keep if vote.get(k) is not None}
    out["order"] = _order_text(vote.get("order"))
    out["text"] = clip(vote.get("text"), limit, where)
    return out


def _request_detail(
    request: Mapping[str, Any], media: MediaEmbedder, embed: bool, limit: int, where: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"instruction": clip(request.get("instruction"), limit, where)}
    for key in ("criteria", "reference", "scale", "protocol"):
        if request.get(key) is not None:
            out[key] = clip(request[key], limit, where)
    shared = []
    for field in ("images", "videos", "audios", "molecules"):
        shared += media.refs(field, request.get(field), embed=embed)
    out["media"] = shared
    responses = []
    for r in request.get("responses") or []:
        if not isinstance(r, Mapping):
            r = {"text": r}
        refs = []
        for field in ("images", "videos", "audios", "molecules"):
            refs += media.refs(field, r.get(field), embed=embed)
        responses.append({"text": clip(r.get("text", ""), limit, where), "media": refs})
    out["responses"] = responses
    return out


def item_row(
    item: RunItem, media: MediaEmbedder, options: PageOptions, *, embed: bool, source: str
) -> dict[str, Any]:
    """The table row and detail of one item (what the page script reads)."""
    v = item.verdict
    where = f"{source}, line {item.line}"
    errors = [
        vote.get("reason") or "engine_error"
        for vote in v.get("votes") or []
        if not vote.get("valid")
    ]
    detail: dict[str, Any] = {
        "verdict": {
            k: v.get(k)
            for k in ("winner", "label", "scores", "ranking", "error", "agreement")
            if v.get(k) is not None
        },
        "votes": [_vote(vote, options.max_text, where) for vote in v.get("votes") or []],
        "where": where,
    }
    if item.request is not None:
        detail["request"] = _request_detail(item.request, media, embed, options.max_text, where)
    if item.gold is not None:
        detail["gold"] = item.gold.as_json()
    return {
        "id": item.id,
        "task": v.get("task") or "",
        "group": item.group or "",
        "status": v.get("status"),
        "verdict": _describe_verdict(v),
        "gold": item.gold.describe() if item.gold is not None else "",
        "correct": item_correct(v, item.gold),
        "err": score_error(v, item.gold),
        "agree": v.get("agreement"),
        "order": v.get("order_agreement"),
        "valid": f"{v.get('n_valid', 0)}/{v.get('n_votes', 0)}",
        "reasons": ", ".join(sorted(set(errors))),
        "d": detail,
    }


def _priority(row_item: RunItem, low: float) -> int:
    v = row_item.verdict
    flagged = (
        v.get("status") != "ok"
        or item_correct(v, row_item.gold) is False
        or v.get("order_agreement") is False
        or (v.get("agreement") is not None and v["agreement"] < low)
    )
    return 0 if flagged else 1


def item_rows(run: Run, media: MediaEmbedder, options: PageOptions) -> list[dict[str, Any]]:
    """Rows in verdict order; media are embedded in priority order (flagged items first)."""
    order = sorted(
        range(len(run.items)), key=lambda i: _priority(run.items[i], options.low_agreement)
    )
    rows: list[dict[str, Any] | None] = [None] * len(run.items)
    source = run.verdicts_path.name
    for i in order:
        embed = options.media_budget > 0
        rows[i] = item_row(run.items[i], media, options, embed=embed, source=source)
    return [r for r in rows if r is not None]


def page_json(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``<``, so no ``</script>``)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("flexjudge.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from flexjudge.bench.report import format_value

    env.filters["fmt"] = format_value
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{100 * v:.1f} %"
    return env


def render(template: str, **context: Any) -> str:
    return str(_environment().get_template(template).render(**context))


def _metric_rows(metrics: Mapping[str, Any] | None) -> tuple[list[str], list[dict[str, Any]]]:
    if not metrics:
        return [], []
    paper: Mapping[str, Mapping[str, float]] = metrics.get("paper") or {}
    models = sorted({m for row in paper.values() for m in row})
    rows = []
    for name, m in (metrics.get("metrics") or {}).items():
        rows.append(
            {
                "name": name,
                "kind": m.get("kind", "rate"),
                "value": m.get("value"),
                "paper": [paper.get(name, {}).get(model) for model in models],
                "n": m.get("n"),
                "n_invalid": m.get("n_invalid"),
                "note": m.get("note", ""),
            }
        )
    return models, rows


def _plots(stats: Mapping[str, Any]) -> dict[str, str | None]:
    from flexjudge.report import _plots as p

    return {
        "position": p.plot_position(stats["position"]),
        "ties": p.plot_ties(stats["ties"]),
        "length": p.plot_length(stats["length"]),
        "scores": p.plot_scores(stats["scores"]),
        "reliability": p.plot_reliability(stats["agreement"]),
        "categories": p.plot_categories(stats.get("categories") or {}),
    }


def build_report(run: Run, output: Path, options: PageOptions | None = None) -> dict[str, Any]:
    """Write the report page of ``run`` to ``output``; returns a summary (sizes, timings,
    the statistics)."""
    options = options or PageOptions()
    start = time.perf_counter()
    stats = audit_run(run)
    output.parent.mkdir(parents=True, exist_ok=True)
    media = MediaEmbedder(
        output.parent, budget_bytes=options.media_budget, thumb_px=options.thumb_px
    )
    rows = item_rows(run, media, options)
    models, metric_rows = _metric_rows(run.metrics)
    data = {
        "rows": rows,
        "media": media.data,
        "config": {
            "mode": "report",
            "pageSize": options.page_size,
            "lowAgreement": options.low_agreement,
            "hasGold": run.has_gold,
        },
    }
    html = render(
        "report.html.j2",
        title=options.title or f"flexjudge report: {run.name}",
        run=run,
        stats=stats,
        plots=_plots(stats),
        paper_models=models,
        metric_rows=metric_rows,
        media_summary={
            "embedded": len(media.data),
            "linked": media.linked,
            "problems": media.problems,
            "bytes": media.used,
        },
        options=options,
        extra_counts=[
            (k, v)
            for k, v in ((run.metrics or {}).get("counts") or {}).items()
            if k not in ("ok", "invalid", "error")
        ],
        built=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        data_json=page_json(data),
    )
    output.write_text(html, encoding="utf-8")
    return {
        "output": str(output),
        "bytes": output.stat().st_size,
        "items": len(rows),
        "seconds": round(time.perf_counter() - start, 3),
        "media": {"embedded": len(media.data), "linked": media.linked, "problems": media.problems},
        "notes": run.notes,
        "bias_audit": stats,
    }
