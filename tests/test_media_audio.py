"""Audio loading: one speech-like sound written at several rates and sample formats must reach
the same float32 scale, length and shape; bad files are MediaErrors naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flexjudge.errors import ConfigError, MediaError
from flexjudge.media import AudioClip, load_audio, probe_audio, resample

sf = pytest.importorskip("soundfile")
av = pytest.importorskip("av")

SECONDS = 1.5
RATES = [8000, 16000, 22050, 44100]


def speech_like(rate: int, seconds: float = SECONDS, peak: float = 0.6) -> np.ndarray:
    """A voiced sound: 140 Hz fundamental with decaying harmonics (all under 4 kHz, so every
    rate represents it) under a syllable-rate (4 Hz) amplitude envelope."""
    t = np.arange(round(rate * seconds)) / rate
    wave = sum(np.sin(2 * np.pi * 140 * k * t + k) / k for k in range(1, 7))
    envelope = 0.55 - 0.45 * np.cos(2 * np.pi * 4 * t)
    x = wave * envelope
    return (peak * x / np.abs(x).max()).astype(np.float64)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("audio")
    out: dict[str, Path] = {}
    for rate in RATES:
        x = speech_like(rate)
        out[f"int16@{rate}"] = root / f"s16_{rate}.wav"
        sf.write(out[f"int16@{rate}"], x, rate, subtype="PCM_16")
        out[f"float@{rate}"] = root / f"f32_{rate}.wav"
        sf.write(out[f"float@{rate}"], x.astype(np.float32), rate, subtype="FLOAT")
    out["int32@44100"] = root / "s32.wav"
    sf.write(out["int32@44100"], speech_like(44100), 44100, subtype="PCM_32")
    out["flac@22050"] = root / "a.flac"
    sf.write(out["flac@22050"], speech_like(22050), 22050, subtype="PCM_24")
    try:
        out["ogg@44100"] = root / "a.ogg"
        sf.write(out["ogg@44100"], speech_like(44100), 44100, format="OGG", subtype="VORBIS")
    except Exception:
        out.pop("ogg@44100")
    return out


def write_pyav(path: Path, x: np.ndarray, rate: int, codec: str) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            x.astype(np.float32)[None, :], format="flt", layout="mono"
        )
        frame.sample_rate = rate
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_every_rate_and_format_reaches_one_scale(files):
    """The official loader's bug (16 kHz kept as float, others x32767) cannot recur: every
    file is float32 in [-1, 1], 16 kHz, the same length, and the same loudness."""
    reference = speech_like(16000)
    clips = {name: load_audio(path) for name, path in files.items()}
    for name, clip in clips.items():
        assert clip.rate == 16000 and clip.samples.dtype == np.float32, name
        assert clip.samples.ndim == 1
        assert np.abs(clip.samples).max() <= 1.0
        assert clip.duration == pytest.approx(SECONDS, abs=1 / 16000), name
        assert rms(clip.samples) == pytest.approx(rms(reference), rel=0.03), name
        assert np.corrcoef(clip.samples, reference)[0, 1] > 0.99, name
    assert clips["int16@16000"].source_format == "PCM_16"
    assert clips["int16@44100"].source_rate == 44100


def test_compressed_audio_through_pyav(tmp_path):
    x = speech_like(22050)
    for codec, suffix in (("libmp3lame", "mp3"), ("libopus", "webm"), ("aac", "m4a")):
        try:
            av.codec.Codec(codec, "w")
        except Exception:
            continue
        rate = 48000 if codec == "libopus" else 22050
        path = write_pyav(tmp_path / f"a.{suffix}", speech_like(rate), rate, codec)
        clip = load_audio(path)
        assert clip.rate == 16000 and clip.samples.dtype == np.float32
        assert clip.duration == pytest.approx(SECONDS, abs=0.08), codec  # codec padding
        assert rms(clip.samples) == pytest.approx(rms(x), rel=0.06), codec
        assert np.abs(clip.samples).max() <= 1.0
        return
    pytest.skip("no mp3/opus/aac encoder in this PyAV")


def test_stereo_is_averaged_to_mono(tmp_path):
    x = speech_like(16000)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([x, 0.5 * x], axis=1), 16000, subtype="FLOAT")
    clip = load_audio(path)
    assert clip.source_channels == 2
    np.testing.assert_allclose(clip.samples, 0.75 * x, atol=1e-6)


def test_arrays_and_clips_share_the_scale():
    x = speech_like(8000)
    as_int16 = load_audio((np.round(x * 32767).astype(np.int16), 8000))
    as_float = load_audio((x.astype(np.float32), 8000))
    np.testing.assert_allclose(as_int16.samples, as_float.samples, atol=1e-4)
    again = load_audio(as_float, target_rate=8000)
    assert again.rate == 8000 and len(again.samples) == len(x)
    assert as_float.processor_input()[1] == 16000


def test_float_overs_are_clipped(tmp_path):
    path = tmp_path / "loud.wav"
    sf.write(path, 3 * speech_like(16000), 16000, subtype="FLOAT")
    clip = load_audio(path)
    assert clip.samples.max() <= 1.0 and clip.samples.min() >= -1.0


def test_resampling_uses_the_exact_ratio():
    x = np.random.default_rng(0).standard_normal(44100).astype(np.float32)
    y = resample(x, 44100, 16000)  # up 160, down 441
    assert len(y) == 16000 and y.dtype == np.float32
    assert resample(x, 16000, 16000) is not None and len(resample(x, 16000, 16000)) == 44100


def test_probe_reads_headers(files):
    duration, rate, channels = probe_audio(files["int16@22050"])
    assert duration == pytest.approx(SECONDS, abs=1e-3) and rate == 22050 and channels == 1


def test_whisper_features_agree_across_source_rates(files):
    """At the model's door: Qwen2.5-Omni's (Whisper) log-mel features of the 16 kHz and the
    44.1 kHz file agree, where the official loader made them differ by log10(32767)."""
    fe_mod = pytest.importorskip("transformers")
    fe = fe_mod.WhisperFeatureExtractor(feature_size=128)
    feats = [
        fe(load_audio(files[k]).samples, sampling_rate=16000, return_tensors="np")[
            "input_features"
        ][0]
        for k in ("int16@16000", "int16@44100")
    ]
    assert np.abs(feats[0] - feats[1]).mean() < 0.05
    buggy = fe(
        load_audio(files["int16@44100"]).samples * 32767, sampling_rate=16000, return_tensors="np"
    )["input_features"][0]
    assert np.abs(feats[0] - buggy).mean() > 0.5


# -- errors ------------------------------------------------------------------------------------


def test_missing_corrupt_truncated_and_empty(tmp_path, files):
    with pytest.raises(MediaError, match=r"audio '.*nope\.wav' does not exist"):
        load_audio(tmp_path / "nope.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"definitely not RIFF" * 20)
    with pytest.raises(MediaError, match=r"junk\.wav' cannot be opened"):
        load_audio(junk)
    junk_mp3 = tmp_path / "junk.mp3"
    junk_mp3.write_bytes(b"\x00" * 10 + b"not an mp3 frame" * 40)
    with pytest.raises(MediaError, match=r"junk\.mp3'"):
        load_audio(junk_mp3)
    data = files["int16@44100"].read_bytes()
    half = tmp_path / "half.wav"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"half\.wav' is truncated"):
        load_audio(half)
    header = tmp_path / "header.wav"
    header.write_bytes(data[:30])
    with pytest.raises(MediaError, match=r"header\.wav'"):
        load_audio(header)
    empty_file = tmp_path / "empty.flac"
    empty_file.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty\.flac'"):
        load_audio(empty_file)
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros(0), 16000)
    with pytest.raises(MediaError, match=r"zero\.wav' is empty \(zero-length clip\)"):
        load_audio(zero)
    with pytest.raises(MediaError, match="zero-length"):
        probe_audio(zero)
    with pytest.raises(MediaError, match="empty"):
        load_audio((np.zeros(0, np.float32), 16000))


def test_nan_and_over_limit(tmp_path, files):
    bad = tmp_path / "nan.wav"
    x = speech_like(16000).astype(np.float32)
    x[100] = np.nan
    sf.write(bad, x, 16000, subtype="FLOAT")
    with pytest.raises(MediaError, match=r"nan\.wav' holds NaN"):
        load_audio(bad)
    with pytest.raises(MediaError, match=r"s16_44100\.wav' lasts 1\.5 s, over the limit of 1 s"):
        load_audio(files["int16@44100"], max_seconds=1)
    with pytest.raises(MediaError, match="over the limit of 1 s"):
        probe_audio(files["int16@44100"], max_seconds=1)
    with pytest.raises(ConfigError):
        load_audio(files["int16@44100"], target_rate=0)


def test_clip_type():
    clip = load_audio((speech_like(16000).astype(np.float32), 16000))
    assert isinstance(clip, AudioClip) and clip.duration == pytest.approx(SECONDS)


def test_the_callers_array_is_left_alone():
    x = 2 * speech_like(16000).astype(np.float32)
    before = x.copy()
    clip = load_audio((x, 16000))
    np.testing.assert_array_equal(x, before)
    assert clip.samples.max() <= 1.0
    with pytest.raises(MediaError, match="audio array: expected"):
        load_audio((np.zeros((2, 2, 2), np.float32), 16000))
