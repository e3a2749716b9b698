"""The report and the bias audit come out of the commands that judge: `flexjudge run` writes
OUT.run.json (with the audit) and, asked, the HTML report; `flexjudge eval` writes items.jsonl
and puts the audit in metrics.json. Real subprocesses on the tiny checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

from test_json_output import flexjudge, one_document

PANDALM = Path(__file__).parent / "fixtures" / "benchmarks" / "pandalm" / "testset-v1.json"


def test_run_writes_its_manifest_and_report(tiny_vl, tmp_path):
    requests = tmp_path / "r.jsonl"
    requests.write_text(
        "\n".join(
            json.dumps({"id": i, "task": "pairwise", "instruction": "q", "responses": ["a", "b"]})
            for i in range(3)
        )
        + "\n"
    )
    out = tmp_path / "o.jsonl"
    proc = flexjudge(
        "run",
        str(requests),
        "--model",
        str(tiny_vl),
        "-o",
        str(out),
        "--max-new-tokens",
        "3",
        "--order",
        "swap",
        "--report",
        str(tmp_path / "r.html"),
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "o.run.json").read_text())
    assert manifest["counts"]["ok"] + manifest["counts"]["invalid"] == 3
    assert manifest["requests"] == str(requests.resolve())
    assert manifest["judge"]["fingerprint"]["folder"]  # the checkpoint's content hash
    assert manifest["bias_audit"]["status"]["items"] == 3
    html = (tmp_path / "r.html").read_text()
    assert "<html" in html and "o.jsonl" in html


def test_eval_exports_the_audit_and_writes_items(tiny_vl, tmp_path):
    out = tmp_path / "eval"
    doc = one_document(
        flexjudge(
            "eval",
            "pandalm",
            "--data",
            str(PANDALM),
            "--model",
            str(tiny_vl),
            "--output",
            str(out),
            "--limit",
            "4",
            "--max-new-tokens",
            "3",
            "--json",
            "--report",
            str(tmp_path / "e.html"),
        )
    )
    assert isinstance(doc, dict)
    audit = doc["bias_audit"]
    assert audit["status"]["items"] == 4 and "position" in audit and "ties" in audit
    assert doc["timings"]["seconds"] >= 0 and doc["judge"]["fingerprint"]
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["bias_audit"] == audit
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert [i["id"] for i in items] == [
        v["id"] for v in map(json.loads, (out / "verdicts.jsonl").read_text().splitlines())
    ]
    assert all("gold" in i and i["request"]["task"] == "pairwise" for i in items)
    assert (tmp_path / "e.html").read_text().count("<html") == 1
