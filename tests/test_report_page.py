"""The report page, built from real files and read back from its HTML: overview, bias audit,
items with their media (image thumbnails, video keyframes, audio, molecule depictions), the
plain-run page, the comparison of two runs, and the `flexjudge report` command."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jinja2")
pytest.importorskip("matplotlib")

from flexjudge.errors import InputError
from flexjudge.report import (
    PageOptions,
    build_comparison,
    build_report,
    compare_runs,
    load_run,
)
from report_runs import image_run, media_run, plain_run, write_jsonl

_DATA = re.compile(r'<script type="application/json" id="fj-data">(.*?)</script>', re.DOTALL)


def page_data(html: str) -> dict:
    (block,) = _DATA.findall(html)
    return json.loads(block)


def rows_by_id(html: str) -> dict[str, dict]:
    return {r["id"]: r for r in page_data(html)["rows"]}


def decode(uri: str) -> tuple[str, bytes]:
    head, payload = uri.split(",", 1)
    return head, base64.b64decode(payload)


def image_of(uri: str):
    from PIL import Image

    head, raw = decode(uri)
    return head, Image.open(io.BytesIO(raw))


def assert_offline(html: str) -> None:
    """Nothing is fetched at view time: no external scripts, styles, images or media."""
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    assert not re.search(r"<script[^>]+src=", html)


def test_image_run_overview_bias_and_items(tmp_path: Path):
    run = image_run(tmp_path)
    out = tmp_path / "report.html"
    summary = build_report(load_run(run), out)
    html = out.read_text(encoding="utf-8")
    assert summary["items"] == 6 and summary["bytes"] == out.stat().st_size
    assert_offline(html)
    # Overview: our metric beside the paper's, counts, reason codes, judge and timings.
    assert re.search(
        r"<td[^>]*>accuracy</td><td class=\"num\">50.00 %</td>\s*<td class=\"num\">71.07 %", html
    )
    assert "paper Flex-VL-7B" in html
    assert (
        '<code>no_think_close</code></td><td class="num">2</td><td>the reasoning never closes'
        in html
    )
    assert "abc123" in html and "12.5" in html and "report.md" in html
    # Bias audit: the numbers, and one inline SVG per plot.
    assert re.search(r"items judged in both orders</td><td class=\"num\">5<", html)
    assert re.search(r"order agreement</td><td class=\"num\">60.0 %<", html)
    assert re.search(r"first_shown_won_both</td><td class=\"num\">1<", html)
    assert re.search(r"human: tie labels</td><td class=\"num\">16.7 %<", html)
    assert html.count("<svg") == 6
    assert 'id="category-table"' in html and '<td>coco</td><td class="num">3</td>' in html
    # Items: right/wrong from the gold; the instruction travels as JSON, never as markup.
    rows = rows_by_id(html)
    assert [rows[f"img-{i}"]["correct"] for i in range(6)] == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]
    assert rows["img-3"]["status"] == "invalid" and rows["img-3"]["reasons"] == "no_think_close"
    assert rows["img-1"]["order"] is False and rows["img-1"]["verdict"] == "tie"
    assert "<b>bold</b>" not in html
    detail = rows["img-2"]["d"]
    assert detail["request"]["instruction"].endswith("<b>bold</b>")
    assert detail["gold"] == {"winner": "A", "raw": "A"}
    assert [v["order"] for v in detail["votes"]] == ["A B", "B A"]
    assert detail["votes"][1]["text"].startswith("<think>") and detail["where"].endswith("line 3")
    (ref,) = detail["request"]["media"]
    head, thumb = image_of(page_data(html)["media"][ref["key"]])
    assert head == "data:image/jpeg;base64" and thumb.size == (192, 144)
    assert ref["caption"] == "320x240"


def test_video_audio_and_molecule_media(tmp_path: Path):
    run = media_run(tmp_path)
    out = tmp_path / "media.html"
    build_report(load_run(run), out)
    html = out.read_text(encoding="utf-8")
    data = page_data(html)
    rows = rows_by_id(html)
    # Video: a strip of four keyframes spread over each 2 s clip.
    clips = [r["media"][0] for r in rows["video-0"]["d"]["request"]["responses"]]
    assert all(
        c["caption"].startswith("keyframes at 0.0, ") and c["caption"].endswith("of 2.0 s")
        for c in clips
    )
    _, strip = image_of(data["media"][clips[0]["key"]])
    assert strip.width >= 3.5 * strip.height
    assert rows["video-0"]["correct"] is True and rows["video-0"]["gold"] == "[[B>A]]"
    # Audio: the file's own bytes in an <audio> source, with its duration and rate.
    (audio,) = rows["audio-0"]["d"]["request"]["media"]
    head, raw = decode(data["media"][audio["key"]])
    assert head == "data:audio/wav;base64" and raw == (tmp_path / "speech.wav").read_bytes()
    assert audio["caption"] == "1.0 s, 16000 Hz, 1 ch"
    assert rows["audio-0"]["err"] == pytest.approx(3.8 - 3.25)
    # Molecule: RDKit's depiction and the canonical SMILES.
    (mol,) = rows["mol-0"]["d"]["request"]["media"]
    head, depiction = image_of(data["media"][mol["key"]])
    assert head == "data:image/png;base64" and depiction.size == (240, 180)
    assert mol["caption"] == "CC(=O)Oc1ccccc1C(=O)O"
    assert html.count("<svg") >= 1  # the score histogram (judge and human MOS)


def test_media_beyond_the_budget_become_relative_links(tmp_path: Path):
    run = media_run(tmp_path)
    (tmp_path / "right.mp4").unlink()  # a missing file is shown as a problem, not dropped
    out = tmp_path / "pages" / "links.html"
    summary = build_report(load_run(run), out, PageOptions(media_budget=0))
    data = page_data(out.read_text(encoding="utf-8"))
    rows = {r["id"]: r for r in data["rows"]}
    assert data["media"] == {} and summary["media"]["problems"] == 1
    left, right = (r["media"][0] for r in rows["video-0"]["d"]["request"]["responses"])
    assert (out.parent / left["href"]).resolve() == (tmp_path / "left.mp4").resolve()
    assert "missing" in right["problem"]
    (audio,) = rows["audio-0"]["d"]["request"]["media"]
    assert (out.parent / audio["href"]).resolve() == (tmp_path / "speech.wav").resolve()
    (mol,) = rows["mol-0"]["d"]["request"]["media"]
    assert "key" not in mol and mol["caption"] == "CC(=O)Oc1ccccc1C(=O)O"


def test_long_texts_keep_head_and_tail(tmp_path: Path):
    run = image_run(tmp_path)
    lines = (run / "verdicts.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["votes"][0]["text"] = (
        "<think>" + "x" * 5000 + "</think><answer>8</answer><answer>3</answer>"
    )
    (run / "verdicts.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    out = tmp_path / "r.html"
    build_report(load_run(run), out, PageOptions(max_text=300))
    text = rows_by_id(out.read_text())["img-0"]["d"]["votes"][0]["text"]
    assert text.endswith("</think><answer>8</answer><answer>3</answer>")
    assert "characters cut; the whole text is in verdicts.jsonl, line 1" in text
    assert len(text) < 450


def test_plain_run_without_gold(tmp_path: Path):
    out, requests = plain_run(tmp_path)
    run = load_run(out, requests=requests)
    page = tmp_path / "plain.html"
    summary = build_report(run, page)
    html = page.read_text(encoding="utf-8")
    data = page_data(html)
    assert data["config"]["hasGold"] is False and "categories" not in summary["bias_audit"]
    assert "This run has no human labels" in html and "human_first_position_rate" not in html
    rows = {r["id"]: r for r in data["rows"]}
    assert set(rows) == {"line 1", "q2", "q3"}  # the ids `flexjudge run` gives
    assert rows["line 1"]["order"] is False and rows["q2"]["reasons"] == "answer_count"
    (ref,) = rows["line 1"]["d"]["request"]["media"]  # relative to the request file
    assert ref["key"] in data["media"]
    assert summary["bias_audit"]["position"]["first_shown_win_rate"] == pytest.approx(2 / 3)


def test_plain_run_manifest_names_the_request_file(tmp_path: Path):
    out, _ = plain_run(tmp_path)
    manifest = {
        "requests": "requests.jsonl",
        "judge": {"model": "tiny-judge"},
        "timings": {"seconds": 3.0},
    }
    out.with_suffix(".run.json").write_text(json.dumps(manifest))
    run = load_run(out)
    assert run.items_path == tmp_path / "requests.jsonl" and run.items[0].request is not None
    page = tmp_path / "p.html"
    build_report(run, page)
    assert "tiny-judge" in page.read_text()
    (tmp_path / "requests.jsonl").unlink()
    gone = load_run(out)
    assert gone.items[0].request is None and "is gone" in gone.notes[0]


def _edited(run: Path, dest: Path, winners: dict[str, str], value: float) -> Path:
    from report_runs import AB, BA, pair_vote, verdict

    shutil.copytree(run, dest)
    rows = [json.loads(line) for line in (dest / "verdicts.jsonl").read_text().splitlines()]
    for i, row in enumerate(rows):
        if row["id"] in winners:
            w = winners[row["id"]]
            rows[i] = verdict("pairwise", [pair_vote(AB, w), pair_vote(BA, w)], row["id"])
    rows.append(verdict("pairwise", [pair_vote(AB, "A")], "extra"))
    write_jsonl(dest / "verdicts.jsonl", rows)
    metrics = json.loads((dest / "metrics.json").read_text())
    metrics["metrics"]["accuracy"]["value"] = value
    (dest / "metrics.json").write_text(json.dumps(metrics))
    return dest


def test_comparison_of_two_runs(tmp_path: Path):
    a = image_run(tmp_path)
    b = _edited(a, tmp_path / "image-run-b", {"img-2": "A", "img-0": "B", "img-3": "B"}, 0.6)
    run_a, run_b = load_run(a), load_run(b)
    summary = compare_runs(run_a, run_b)
    assert summary["common_items"] == 6 and summary["only_in_b"] == {"n": 1, "first": ["extra"]}
    # img-2 wrong -> right; img-0 right -> wrong; img-3 invalid -> B (still wrong, gold A)
    assert summary["changes"] == {
        "same": 3,
        "changed": 1,
        "fixed": 1,
        "broken": 1,
        "status_changed": 1,
    }
    assert summary["metrics"]["accuracy"]["delta"] == pytest.approx(0.1)
    assert summary["bias"]["status.valid_vote_rate"]["delta"] == pytest.approx(2 / 12)
    out = tmp_path / "cmp.html"
    build_comparison(run_a, run_b, out)
    html = out.read_text(encoding="utf-8")
    assert_offline(html)
    assert re.search(r"<td>fixed</td><td class=\"num\">1</td>", html)
    assert re.search(
        r"<td>accuracy</td><td class=\"num\">50.00 %</td><td class=\"num\">60.00 %</td><td class=\"num\">10.00 %</td>",
        html,
    )
    rows = rows_by_id(html)
    assert rows["img-2"]["change"] == "fixed" and rows["img-0"]["change"] == "broken"
    assert rows["img-3"]["a_status"] == "invalid" and rows["img-3"]["b_status"] == "ok"
    assert "request" in rows["img-2"]["d"]["a"] and "request" not in rows["img-2"]["d"]["b"]
    (tmp_path / "other").mkdir()
    unrelated, _ = plain_run(tmp_path / "other")
    with pytest.raises(InputError, match="share no item id"):
        compare_runs(run_a, load_run(unrelated))


def test_bad_runs_are_named(tmp_path: Path):
    with pytest.raises(InputError, match="has no verdicts.jsonl"):
        load_run(tmp_path)
    dup = write_jsonl(
        tmp_path / "v.jsonl",
        [{"id": "1", "status": "ok", "winner": "A", "label": None, "scores": None}] * 2,
    )
    with pytest.raises(InputError, match=r"v.jsonl, line 2: duplicate verdict id '1'"):
        load_run(dup)


EXE = shutil.which("flexjudge")


def flexjudge(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [EXE] if EXE else [sys.executable, "-m", "flexjudge.cli.main"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_cli_report_compare_and_errors(tmp_path: Path):
    run = image_run(tmp_path)
    proc = flexjudge("report", str(run), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # pure JSON on stdout
    assert summary["output"] == str(run / "report.html") and (run / "report.html").is_file()
    assert summary["bias_audit"]["order_swap"]["flips"] == 2
    b = _edited(run, tmp_path / "b", {"img-2": "A"}, 0.6)
    proc = flexjudge("report", str(run), str(b), "-o", str(tmp_path / "cmp.html"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["changes"]["fixed"] == 1
    (tmp_path / "plain").mkdir()
    out, requests = plain_run(tmp_path / "plain")
    proc = flexjudge("report", str(out), "--requests", str(requests))
    assert proc.returncode == 0 and proc.stdout == ""
    assert out.with_name("verdicts.report.html").is_file()
    for args, message in (
        ([str(tmp_path / "plain" / "nothing.jsonl")], "does not exist"),
        ([str(tmp_path)], "has no verdicts.jsonl"),
        ([str(run), "-o", str(run / "verdicts.jsonl")], "is one of the inputs"),
    ):
        proc = flexjudge("report", *args)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and proc.stdout == ""
