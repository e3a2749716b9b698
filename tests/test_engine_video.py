"""Video through the one path: PyAV-encoded clips judged by a real tiny Qwen2.5-VL checkpoint."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flexjudge import Judge, MediaError
from flexjudge.engines import ChatRequest, Message, Part, SamplingParams
from flexjudge.engines.hf import TransformersEngine

av = pytest.importorskip("av")


def write_clip(path: Path, seconds: float = 3.0, rate: int = 10, shade: int = 0) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(int(seconds * rate)):
            frame = np.full((96, 128, 3), (shade + i * 5) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture()
def clips(tmp_path: Path) -> tuple[Path, Path]:
    return write_clip(tmp_path / "a.mp4"), write_clip(tmp_path / "b.mp4", shade=100)


def test_two_videos_reach_the_model_with_their_timing(tiny_vl, clips, monkeypatch):
    engine = TransformersEngine(str(tiny_vl), device="cpu", video_preset="official")
    seen = {}
    original = engine.model.generate

    def spy(**kw):
        seen.update(kw)
        return original(**kw)

    monkeypatch.setattr(engine.model, "generate", spy)
    chat = ChatRequest(
        (
            Message(
                "user",
                (
                    Part("video", media=clips[0]),
                    Part("video", media=clips[1]),
                    Part("text", text="Which is brighter?"),
                ),
            ),
        ),
        "<think>\n",
    )
    out = engine.generate([chat], SamplingParams(max_new_tokens=3))
    assert len(out[0]) == 1
    grid = seen["video_grid_thw"]
    assert (
        grid.shape == (2, 3) and grid[0, 0].item() == 2
    )  # 3 frames at 1 fps -> 2 temporal patches
    assert seen["second_per_grid_ts"].tolist() == [2.0, 2.0]  # 2 frames per patch at 1 fps


def test_compare_videos_as_candidates(tiny_vl, clips):
    from flexjudge import Candidate

    judge = Judge(str(tiny_vl), max_new_tokens=4, device="cpu")
    v = judge.label(
        "A red car drives by.", Candidate(videos=[clips[0]]), Candidate(videos=[clips[1]])
    )
    assert v.status == "invalid" and v.n_votes == 1  # a random model: explicit invalid verdict
    prompt = judge.prompt(
        {
            "task": "label",
            "instruction": "q",
            "responses": [{"videos": [str(clips[0])]}, {"videos": [str(clips[1])]}],
        }
    )
    assert prompt.count("<|vision_start|><|video_pad|><|vision_end|>") == 2
    assert "[Assistant A's Video]" in prompt and "[Assistant B's Video]" in prompt


def test_bad_video_is_named(tiny_vl, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 not a real video")
    judge = Judge(str(tiny_vl), max_new_tokens=4, device="cpu")
    with pytest.raises(MediaError, match="broken.mp4"):
        judge.score("q", "a", videos=[bad])


def test_cli_compare_with_two_videos_json(tiny_vl, clips):
    out = subprocess.run(
        [
            shutil.which("flexjudge"),
            "compare",
            "--model",
            str(tiny_vl),
            "--video",
            str(clips[0]),
            "--video",
            str(clips[1]),
            "-i",
            "Which video is calmer?",
            "--a",
            "the first",
            "--b",
            "the second",
            "--max-new-tokens",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    v = json.loads(out.stdout)
    assert v["status"] in ("ok", "invalid") and v["votes"]
