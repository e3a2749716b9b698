"""Runs for the report tests, written by hand as `flexjudge eval` and `flexjudge run` lay
them out: verdicts from the real voting code over hand-made votes, real media files (PNG,
MPEG-4 through PyAV, WAV through soundfile, SMILES), an items.jsonl with the gold."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.judge.voting import aggregate
from flexjudge.request import Task
from flexjudge.verdict import Vote

_SCORES = {"A": [8.0, 3.0], "B": [3.0, 8.0], "tie": [5.0, 5.0]}
AB, BA = [0, 1], [1, 0]


def text(winner: str, order: list[int]) -> str:
    shown = [_SCORES[winner][i] for i in order]
    return f"<think>Comparing the two.</think><answer>{shown[0]:g}</answer><answer>{shown[1]:g}</answer>"


def pair_vote(order: list[int], winner: str | None, reason: str = "no_think_close") -> Vote:
    if winner is None:
        return Vote(order=order, text="<think>never closed", valid=False, reason=reason)
    return Vote(
        order=order,
        text=text(winner, order),
        valid=True,
        winner=winner,
        scores=_SCORES[winner],
        reasoning="Comparing the two.",
    )


def verdict(task: str, votes: Iterable[Vote], vid: str) -> dict[str, Any]:
    return aggregate(list(votes), Task.parse(task), tie=True, request_id=vid).to_json()


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> Path:
    from PIL import Image

    Image.new("RGB", size, colour).save(path)
    return path


def mp4(path: Path, seconds: float = 2.0, rate: int = 10, shade: int = 0) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(int(seconds * rate)):
            frame = np.full((96, 128, 3), (shade + i * 10) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def wav(path: Path, seconds: float = 1.0, rate: int = 16000, freq: float = 440.0) -> Path:
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), rate, subtype="PCM_16")
    return path


def metrics(benchmark: str, split: str, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "benchmark": benchmark,
        "split": split,
        "protocol": {"samples": 1, "aggregate": "vote", "order": "swap", "tie": True},
        "counts": {"ok": 0, "invalid": 0, "error": 0, "missing_media": 0, "skipped": 0},
        "metrics": {"accuracy": {"value": value, "n": 6, "n_invalid": 1, "kind": "rate"}},
        "paper": {"accuracy": {"Flex-VL-7B": 0.7107}},
        "judge": {"engine": "transformers", "model": "tiny", "fingerprint": "abc123"},
        "timings": {"seconds": 12.5, "judgments_per_second": 0.48},
        **extra,
    }


def image_run(root: Path) -> Path:
    """An eval folder of a pairwise image benchmark judged in both orders, with gold."""
    run = root / "image-run"
    media = root / "images"
    run.mkdir(parents=True)
    media.mkdir()
    plan = [  # (votes in AB then BA, gold, group)
        (["A", "A"], "A", "coco"),
        (["A", "B"], "B", "coco"),  # the first shown won twice
        (["B", "B"], "A", "diffusion"),  # wrong
        ([None, None], "A", "diffusion"),  # invalid
        (["A", "A"], "tie", "coco"),  # wrong: the human says tie
        (["tie", "A"], "A", "diffusion"),
    ]
    verdicts, items = [], []
    for i, (winners, gold, group) in enumerate(plan):
        vid = f"img-{i}"
        verdicts.append(
            verdict("pairwise", [pair_vote(AB, winners[0]), pair_vote(BA, winners[1])], vid)
        )
        image = png(media / f"{i}.png", (40 * i, 90, 200))
        items.append(
            {
                "id": vid,
                "request": {
                    "task": "pairwise",
                    "instruction": f"Which caption fits picture {i}? <b>bold</b>",
                    "images": [f"../images/{i}.png"],
                    "responses": ["A red square.", "A blue square on a white table " * (i + 1)],
                },
                "gold": {"winner": gold, "raw": {"A": "A", "B": "B", "tie": "C"}[gold]},
                "group": group,
            }
        )
        assert image.is_file()
    write_jsonl(run / "verdicts.jsonl", verdicts)
    write_jsonl(run / "items.jsonl", items)
    (run / "metrics.json").write_text(json.dumps(metrics("mllm_judge", "pair", 0.5)))
    (run / "report.md").write_text("### mllm_judge — pair\n")
    return run


def media_run(root: Path) -> Path:
    """An eval folder mixing video (label), audio (score with MOS) and molecules (score)."""
    run = root / "media-run"
    run.mkdir(parents=True)
    clips = [mp4(root / "left.mp4"), mp4(root / "right.mp4", shade=120)]
    sound = wav(root / "speech.wav")
    label = Vote(
        order=AB, text="<think>t</think><answer>[[B>A]]</answer>", valid=True, label="[[B>A]]"
    )
    score_vote = Vote(
        order=[0], text="<think>t</think><answer>3.8</answer>", valid=True, scores=[3.8]
    )
    mol_vote = Vote(order=[0], text="<think>t</think><answer>6</answer>", valid=True, scores=[6.0])
    verdicts = [
        verdict("label", [label], "video-0"),
        verdict("score", [score_vote], "audio-0"),
        verdict("score", [mol_vote], "mol-0"),
    ]
    items = [
        {
            "id": "video-0",
            "request": {
                "task": "label",
                "instruction": "A cat jumps.",
                "responses": [{"videos": [str(clips[0])]}, {"videos": [str(clips[1])]}],
            },
            "gold": {"winner": "B", "label": "[[B>A]]", "raw": "rightvote"},
            "group": "video_generation",
        },
        {
            "id": "audio-0",
            "request": {
                "task": "score",
                "protocol": "audio_mos",
                "scale": "1.0-5.0",
                "instruction": "Rate the speech.",
                "audios": [str(sound)],
                "responses": ["Here is the speech I generated:"],
            },
            "gold": {"score": 3.25, "raw": 3.25},
            "group": "somos",
        },
        {
            "id": "mol-0",
            "request": {
                "task": "score",
                "instruction": "Is this molecule drug-like?",
                "molecules": ["CC(=O)Oc1ccccc1C(=O)O"],
                "responses": ["Aspirin."],
            },
            "group": "pampa",
        },
    ]
    write_jsonl(run / "verdicts.jsonl", verdicts)
    write_jsonl(run / "items.jsonl", items)
    return run


def plain_run(root: Path) -> tuple[Path, Path]:
    """A `flexjudge run` output and its request file (relative media, default ids, no gold)."""
    png(root / "shared.png", (10, 200, 30))
    requests = write_jsonl(
        root / "requests.jsonl",
        [
            {
                "task": "pairwise",
                "instruction": "Which is kinder?",
                "images": ["shared.png"],
                "responses": ["Thank you so much for your help.", "ok"],
            },
            {
                "id": "q2",
                "task": "pairwise",
                "instruction": "Which is shorter?",
                "responses": ["short", "a much longer answer than the first"],
            },
            {"id": "q3", "task": "score", "instruction": "Rate it.", "responses": ["fine"]},
        ],
    )
    score = Vote(order=[0], text="<think>t</think><answer>7</answer>", valid=True, scores=[7.0])
    verdicts = [
        verdict("pairwise", [pair_vote(AB, "A"), pair_vote(BA, "B")], "line 1"),
        verdict("pairwise", [pair_vote(AB, "B"), pair_vote(BA, None, "answer_count")], "q2"),
        verdict("score", [score], "q3"),
    ]
    out = write_jsonl(root / "verdicts.jsonl", verdicts)
    return out, requests


def many_items_run(root: Path, n: int, *, seed: int = 0, text_words: int = 60) -> Path:
    """An eval folder of ``n`` text pairwise items with three votes each (for size and speed)."""
    rng = np.random.default_rng(seed)
    run = root / f"run-{n}"
    run.mkdir(parents=True)
    words = [
        "the",
        "judge",
        "reads",
        "both",
        "answers",
        "and",
        "weighs",
        "accuracy",
        "helpfulness",
        "and",
        "detail",
    ]
    verdicts, items = [], []
    for i in range(n):
        picks = rng.choice(["A", "B", "tie", None], size=3, p=[0.5, 0.3, 0.1, 0.1])
        votes = [pair_vote(order, w) for order, w in zip((AB, BA, AB), picks)]
        verdicts.append(verdict("pairwise", votes, str(i)))
        reasoning = " ".join(rng.choice(words, size=text_words * 4))
        for v in (v for v in verdicts[-1]["votes"] if v["valid"]):
            v["text"] = f"<think>{reasoning}</think>" + v["text"].split("</think>")[-1]
        items.append(
            {
                "id": str(i),
                "request": {
                    "task": "pairwise",
                    "instruction": " ".join(rng.choice(words, size=20)),
                    "responses": [
                        " ".join(rng.choice(words, size=int(rng.integers(5, 2 * text_words))))
                        for _ in range(2)
                    ],
                },
                "gold": {"winner": str(rng.choice(["A", "B", "tie"], p=[0.45, 0.45, 0.1]))},
                "group": f"category-{i % 5}",
            }
        )
    write_jsonl(run / "verdicts.jsonl", verdicts)
    write_jsonl(run / "items.jsonl", items)
    return run


# --------------------------------------------------------------------------------------------
# Headless Chromium (Debian's chromium + chromium-driver, driven by Selenium)
# --------------------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1800",
)


def chromium_missing() -> str | None:
    """Why headless Chromium cannot run here, or ``None`` when it can."""
    import importlib.util
    import os

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def headless_chromium(profile: Path) -> Any:
    """A Selenium driver over Debian's Chromium with a fresh profile in ``profile``, logging
    the browser console (read it with ``driver.get_log("browser")``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never tries to download one.
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver
