"""Audio through the one path: real waves judged by tiny Qwen2.5-Omni checkpoints."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flexjudge import Judge, MediaError

sf = pytest.importorskip("soundfile")


def speech_like(path: Path, rate: int, seconds: float = 1.0) -> Path:
    """A voiced, amplitude-modulated harmonic tone (pitch glide), like a syllable train."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    sf.write(path, (0.3 * wave * envelope).astype(np.float32), rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def judge(tiny_omni) -> Judge:
    return Judge(str(tiny_omni), max_new_tokens=4, device="cpu")


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100])
def test_audio_mos_at_each_rate(judge, tmp_path, rate):
    clip = speech_like(tmp_path / f"s{rate}.wav", rate)
    v = next(
        judge.run(
            [
                {
                    "task": "score",
                    "protocol": "audio_mos",
                    "instruction": "Generate clear, natural, and understandable high-quality speech audio.",
                    "responses": [
                        {"text": "Here is the speech I generated:", "audios": [str(clip)]}
                    ],
                }
            ]
        )
    )
    assert v.status in ("ok", "invalid") and v.votes


def test_prompt_places_audio_and_the_mos_protocol(judge, tmp_path):
    clip = speech_like(tmp_path / "a.wav", 16000)
    prompt = judge.prompt(
        {
            "task": "score",
            "protocol": "audio_mos",
            "instruction": "q",
            "responses": [{"text": "Here:", "audios": [str(clip)]}],
        }
    )
    assert prompt.count("<|audio_bos|><|AUDIO|><|audio_eos|>") == 1
    assert "1.0 to 5.0 in FISRT DECIMAL" in prompt and "<answer>3.8</answer>" in prompt


def test_voxsim_two_audios(judge, tmp_path):
    a, b = speech_like(tmp_path / "a.wav", 16000), speech_like(tmp_path / "b.wav", 22050)
    v = judge.score(
        "Evaluate if these two speech audios share the same speaker.",
        "The given two audios are from the same speaker.",
        audios=[a, b],
        protocol="voxsim",
    )
    assert v.status in ("ok", "invalid") and v.votes


def test_full_checkpoint_judges_with_the_thinker(tiny_omni_full, tmp_path):
    from flexjudge.engines.hf import TransformersEngine

    engine = TransformersEngine(str(tiny_omni_full), device="cpu")
    assert type(engine.model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
    v = Judge(engine=engine, max_new_tokens=4).score(
        "q", "a", audios=[speech_like(tmp_path / "x.wav", 16000)]
    )
    assert v.status in ("ok", "invalid") and v.votes


def test_image_through_omni(judge, png):
    v = judge.score("What color is it?", "red", images=[png])
    assert v.status in ("ok", "invalid") and v.votes


def test_in_memory_clip(judge):
    t = np.arange(8000) / 8000
    v = judge.score("q", "a", audios=[(np.sin(2 * np.pi * 200 * t).astype(np.float32), 8000)])
    assert v.status in ("ok", "invalid") and v.votes


def test_cli_score_with_audio_json(tiny_omni, tmp_path):
    clip = speech_like(tmp_path / "c.wav", 22050)
    out = subprocess.run(
        [
            shutil.which("flexjudge"),
            "score",
            "--model",
            str(tiny_omni),
            "--audio",
            str(clip),
            "--protocol",
            "audio_mos",
            "-i",
            "Speak clearly.",
            "-r",
            "Here is the speech I generated:",
            "--max-new-tokens",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    v = json.loads(out.stdout)
    assert v["status"] in ("ok", "invalid") and v["votes"]


def test_audio_to_a_vision_model_is_refused(tiny_vl, tmp_path):
    judge = Judge(str(tiny_vl), max_new_tokens=4, device="cpu")
    with pytest.raises(MediaError, match="audio"):
        judge.score("q", "a", audios=[speech_like(tmp_path / "a.wav", 16000)])


def test_over_long_clip_is_refused(judge, tmp_path):
    clip = speech_like(tmp_path / "long.wav", 8000, seconds=31.0)
    with pytest.raises(MediaError, match=r"long\.wav.*30 s"):
        judge.score("q", "a", audios=[clip])


def test_protocol_is_validated():
    from flexjudge.errors import InputError
    from flexjudge.request import JudgeRequest

    with pytest.raises(InputError, match="protocol"):
        JudgeRequest.build(task="score", instruction="q", responses=["a"], protocol="nope")
    with pytest.raises(InputError, match="score"):
        JudgeRequest.build(
            task="pairwise", instruction="q", responses=["a", "b"], protocol="voxsim"
        )
