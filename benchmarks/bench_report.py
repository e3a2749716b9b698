"""The HTML report at scale, measured side by side with its inputs (not a timed test).

For runs of 1,000 and 10,000 text pairwise items (three votes each, ~1.5 kB of reasoning per
vote, as tests/report_runs.py writes them) and 1,000 items with an image each:

* build time of `flexjudge report` (load + statistics + page), beside the time to read the
  run's own JSONL files (the baseline: what any reader of the run pays);
* page size, beside the size of verdicts.jsonl + items.jsonl;
* in headless Chromium (when installed): time to load the page, and to apply a filter and
  turn a page of the table (the page stays responsive).

    python benchmarks/bench_report.py --out benchmarks/results/report.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _timing import save_results

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from flexjudge.report import build_report, load_run
from report_runs import chromium_missing, headless_chromium, many_items_run, png


def read_baseline(run: Path) -> float:
    start = time.perf_counter()
    for name in ("verdicts.jsonl", "items.jsonl"):
        with (run / name).open(encoding="utf-8") as fh:
            for line in fh:
                json.loads(line)
    return time.perf_counter() - start


def with_images(run: Path) -> None:
    """Give every item of ``run`` its own 640x480 PNG."""
    folder = run / "images"
    folder.mkdir()
    lines = (run / "items.jsonl").read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        obj = json.loads(line)
        png(folder / f"{i}.png", (i % 255, 80, 160), (640, 480))
        obj["request"]["images"] = [f"images/{i}.png"]
        out.append(json.dumps(obj))
    (run / "items.jsonl").write_text("\n".join(out) + "\n")


def in_browser(page: Path, profile: Path) -> dict:
    driver = headless_chromium(profile)
    try:
        start = time.perf_counter()
        driver.get(page.as_uri())
        load_s = time.perf_counter() - start
        ms = driver.execute_script(
            "var t0 = performance.now();"
            "document.querySelector('#filters button[data-filter=\"low\"]').click();"
            "var t1 = performance.now();"
            "document.getElementById('next').click();"
            "var t2 = performance.now();"
            "document.querySelector('#items-head th[data-key=\"agree\"]').click();"
            "var t3 = performance.now();"
            "return [t1 - t0, t2 - t1, t3 - t2, document.getElementById('count').textContent];"
        )
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
    return {
        "load_s": round(load_s, 3),
        "filter_ms": round(ms[0], 1),
        "next_page_ms": round(ms[1], 1),
        "sort_ms": round(ms[2], 1),
        "count_after_filter": ms[3],
        "console_errors": len(errors),
    }


def measure(n: int, root: Path, *, images: bool, browser: bool) -> dict:
    run = many_items_run(root, n, seed=n)
    if images:
        with_images(run)
    baseline = min(read_baseline(run) for _ in range(3))
    page = run / "report.html"
    start = time.perf_counter()
    loaded = load_run(run)
    load_s = time.perf_counter() - start
    summary = build_report(loaded, page)
    total = time.perf_counter() - start
    inputs = sum((run / f).stat().st_size for f in ("verdicts.jsonl", "items.jsonl"))
    row = {
        "items": n,
        "images": images,
        "build_s": round(total, 3),
        "of_which_load_s": round(load_s, 3),
        "read_jsonl_baseline_s": round(baseline, 3),
        "build_over_baseline": round(total / baseline, 1),
        "page_mb": round(summary["bytes"] / 1024**2, 2),
        "inputs_mb": round(inputs / 1024**2, 2),
        "page_over_inputs": round(summary["bytes"] / inputs, 2),
        "media_embedded": summary["media"]["embedded"],
        "media_linked": summary["media"]["linked"],
    }
    if browser:
        row["chromium"] = in_browser(page, root / f"profile-{n}-{images}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    browser = chromium_missing() is None
    if not browser:
        print(f"note: no browser timings: {chromium_missing()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            rows.append(measure(n, Path(tmp) / f"text-{n}", images=False, browser=browser))
            print(json.dumps(rows[-1]))
        rows.append(measure(1000, Path(tmp) / "images", images=True, browser=browser))
        print(json.dumps(rows[-1]))
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, no GPU",
        "note": "build = load_run + statistics + page; baseline = json.loads of every line of "
        "verdicts.jsonl and items.jsonl (best of 3)",
        "runs": rows,
    }
    save_results(args.out, results)


if __name__ == "__main__":
    main()
