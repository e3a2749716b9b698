"""GenAI-Bench judged from a real dataset folder with images and videos, and JudgeLM from its
two published files; scripted engine (a named fake) for exact numbers, the tiny VL checkpoint
for the command end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from tests.test_engine_video import write_clip

from flexjudge import Judge
from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.harness import evaluate, score_verdicts
from flexjudge.bench.suites import get_benchmark
from flexjudge.engines.scripted import ScriptedEngine

GENAI = Path(__file__).parent / "fixtures" / "benchmarks" / "genai_bench" / "results"
VOTES = ["leftvote", "rightvote", "tievote", "bothbad_vote", "leftvote"]
ANSWER = {
    "leftvote": "[[A>B]]",
    "rightvote": "[[B>A]]",
    "tievote": "[[A=B=Good]]",
    "bothbad_vote": "[[A=B=Bad]]",
}


def _image_dataset(tmp_path: Path, split: str) -> Path:
    from datasets import Dataset, Features, Value
    from datasets import Image as ImageFeature

    colour = lambda c: Image.new("RGB", (32, 24), c)  # noqa: E731
    rows = {"prompt": [f"prompt {i}" for i in range(5)], "vote_type": VOTES}
    feats = {"prompt": Value("string"), "vote_type": Value("string")}
    if split == "image_edition":
        rows = {
            "source_prompt": [f"a cat {i}" for i in range(5)],
            "target_prompt": ["a dog"] * 5,
            "instruct_prompt": [f"edit {i}" for i in range(5)],
            "vote_type": VOTES,
            "source_image": [colour((0, 0, 9))] * 5,
        }
        feats = {k: Value("string") for k in rows if k != "source_image"} | {
            "source_image": ImageFeature()
        }
        names = ("left_output_image", "right_output_image")
    else:
        names = ("left_image", "right_image")
    for side, n in enumerate(names):
        rows[n] = [colour((side * 200, i * 40, 0)) for i in range(5)]
        feats[n] = ImageFeature()
    path = tmp_path / split
    Dataset.from_dict(rows, features=Features(feats)).save_to_disk(str(path))
    return path


def _answer_by_prompt(request, k):
    text = request.messages[-1].text()
    i = next(i for i in range(5) if f"prompt {i}" in text or f"edit {i}" in text)
    if i == 4:
        return "unparseable"
    return f"r</think><answer>{ANSWER[VOTES[i]] if i != 3 else '[[A>B]]'}</answer>"


@pytest.mark.parametrize("split", ["image_generation", "image_edition"])
def test_genai_images_from_a_dataset_folder(tmp_path, split):
    data = _image_dataset(tmp_path, split)
    eng = ScriptedEngine(_answer_by_prompt)
    r = evaluate("genai_bench", data, Judge(engine=eng), tmp_path / "o", split=split)
    acc = r["metrics"]["accuracy"]
    assert (
        acc["value"] == pytest.approx(3 / 5) and acc["n_invalid"] == 1
    )  # 3 right, 1 wrong, 1 invalid
    req = eng.calls[0][0][0]
    n_images = sum(p.type == "image" for m in req.messages for p in m.parts)
    assert n_images == (3 if split == "image_edition" else 2)
    assert "Assess the quality of" in req.messages[0].text()  # the GenAI-Bench criteria
    if split == "image_edition":
        assert "[Editing Prompt]\nedit 0" in req.messages[-1].text()
    assert r["paper"]["accuracy"]["Flex-VL-7B"] == pytest.approx(
        0.4332 if split == "image_generation" else 0.4741
    )
    bias = r["position_bias"]
    assert bias["human_tie_rate"] == pytest.approx(2 / 5) and bias[
        "judge_tie_rate"
    ] == pytest.approx(1 / 4)
    assert (
        score_verdicts("genai_bench", tmp_path / "o" / "verdicts.jsonl", data, split=split)[
            "metrics"
        ]
        == r["metrics"]
    )


def test_genai_video_paths_majority_vote_and_missing(tmp_path):
    root = tmp_path / "videos"
    root.mkdir()
    rows = []
    for i, vote in enumerate(VOTES[:3]):
        for side in ("l", "r"):
            write_clip(root / f"{side}{i}.mp4", seconds=1.0, rate=4, shade=40 * i)
        rows.append(
            {
                "prompt": f"prompt {i}",
                "left_video": f"l{i}.mp4",
                "right_video": f"r{i}.mp4",
                "vote_type": vote,
            }
        )
    rows.append(
        {
            "prompt": "prompt 3",
            "left_video": "gone.mp4",
            "right_video": "r0.mp4",
            "vote_type": "leftvote",
        }
    )
    data = tmp_path / "video.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def script(request, k):  # item 0: votes A, A, B -> A by majority; others always right
        text = request.messages[-1].text()
        i = next(i for i in range(3) if f"prompt {i}" in text)
        if i == 0:
            return "r</think><answer>" + ("[[B>A]]" if k == 2 else "[[A>B]]") + "</answer>"
        return f"r</think><answer>{ANSWER[VOTES[i]]}</answer>"

    eng = ScriptedEngine(script)
    r = evaluate(
        "genai_bench",
        data,
        Judge(engine=eng),
        tmp_path / "o",
        split="video_generation",
        media_root=root,
        protocol=get_benchmark("genai_bench").protocol.with_overrides(samples=3),
    )
    m = r["metrics"]
    assert sum(p.type == "video" for p in eng.calls[0][0][0].messages[-1].parts) == 2
    assert (
        r["counts"]["missing_media"] == 1
        and "gone.mp4" in (tmp_path / "o" / "verdicts.jsonl").read_text()
    )
    assert m["accuracy"]["value"] == pytest.approx(3 / 4)  # headline: the vote (protocol default)
    assert m["accuracy@runs_mean"]["value"] == pytest.approx((3 + 3 + 2) / 3 / 4)
    assert m["accuracy@runs_worst"]["value"] == pytest.approx(2 / 4)


def test_genai_result_file_cannot_be_judged_but_scores_verdicts(tmp_path):
    src = GENAI / "image_generation" / "llava" / "pairwise.jsonl"
    eng = ScriptedEngine(["x"])
    r = evaluate("genai_bench", src, Judge(engine=eng), tmp_path / "o", limit=3)
    assert r["split"] == "image_generation" and r["counts"]["missing_media"] == 3 and not eng.calls
    assert "has no media" in (tmp_path / "o" / "verdicts.jsonl").read_text()


def test_genai_vote_outside_vocabulary(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text(
        json.dumps(
            {"prompt": "p", "left_image": "a.png", "right_image": "b.png", "vote_type": "leftvote"}
        )
        + "\n"
        + json.dumps(
            {"prompt": "q", "left_image": "a.png", "right_image": "b.png", "vote_type": "left"}
        )
        + "\n"
    )
    with pytest.raises(BenchmarkDataError, match=r"bad\.jsonl, line 2: human vote 'left'"):
        evaluate(
            "genai_bench",
            data,
            Judge(engine=ScriptedEngine(["x"])),
            tmp_path / "o",
            split="image_generation",
        )


def _judgelm_files(tmp_path: Path) -> Path:
    qs = [
        {
            "question_id": i,
            "question_body": f"question {i}",
            "answer1_body": f"first {i}",
            "answer2_body": f"second {i}",
        }
        for i in range(5)
    ]
    scores = [[8, 3], [2, 9], [5, 5], [-1, -1], [7, 6]]
    data = tmp_path / "judgelm_val_5k.jsonl"
    data.write_text("".join(json.dumps(q) + "\n" for q in qs))
    (tmp_path / "judgelm_val_5k_gpt4.jsonl").write_text(
        "".join(
            json.dumps({"question_id": i, "score": s, "text": "..."}) + "\n"
            for i, s in enumerate(scores)
        )
    )
    return data


def test_judgelm_labels_from_gpt4_scores(tmp_path):
    data = _judgelm_files(tmp_path)
    # judge says A for everything: right on items 0 and 4, wrong on 1 (B) and 2 (tie); 3 has no label
    r = evaluate(
        "judgelm",
        data,
        Judge(engine=ScriptedEngine(["r</think><answer>9</answer><answer>1</answer>"])),
        tmp_path / "o",
    )
    assert r["n_items"] == 4 and r["metrics"]["accuracy"]["value"] == pytest.approx(0.5)
    assert [
        json.loads(x)["id"] for x in (tmp_path / "o" / "verdicts.jsonl").read_text().splitlines()
    ] == ["0", "1", "2", "4"]
    assert r["paper"]["f1"]["Flex-VL-7B"] == pytest.approx(0.8665)
    (tmp_path / "judgelm_val_5k_gpt4.jsonl").write_text(
        json.dumps({"question_id": 7, "score": [1, 2]}) + "\n"
    )
    with pytest.raises(BenchmarkDataError, match="question_id 7 does not match line 1"):
        evaluate("judgelm", data, Judge(engine=ScriptedEngine(["x"])), tmp_path / "o2")


def test_genai_end_to_end_with_the_tiny_checkpoint(tiny_vl, tmp_path):
    data = _image_dataset(tmp_path, "image_generation")
    proc = subprocess.run(
        [
            shutil.which("flexjudge"),
            "eval",
            "genai_bench",
            "--split",
            "image_generation",
            "--data",
            str(data),
            "--model",
            str(tiny_vl),
            "--output",
            str(tmp_path / "o"),
            "--limit",
            "2",
            "--max-new-tokens",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert (
        metrics["metrics"]["accuracy"]["n"] == 2
        and metrics["metrics"]["accuracy"]["n_invalid"] == 2
    )
    assert "| accuracy | 0.00 % | 38.15 % | 43.32 % | 2 | 2 (100.0 %) |" in proc.stdout
