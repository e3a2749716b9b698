"""Video loading on real clips encoded in the test: containers, time-based sampling, frame cap,
pixel budget, limits and errors, and what Qwen2.5-VL's processor makes of the result."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexjudge.errors import ConfigError, MediaError
from flexjudge.media import (
    OFFICIAL_EVAL_VIDEO,
    QWEN_VIDEO,
    VideoLimits,
    VideoPreset,
    load_video,
    probe_video,
    smart_resize,
)

av = pytest.importorskip("av")

RATE, SECONDS = 10, 4
N_FRAMES = RATE * SECONDS


def level(i: int) -> int:
    """Gray level that identifies source frame ``i`` (survives compression and resizing)."""
    return 20 + 5 * i


def gray_frames(n: int = N_FRAMES, w: int = 96, h: int = 64) -> list[np.ndarray]:
    return [np.full((h, w, 3), level(i), np.uint8) for i in range(n)]


def first_encoder(*names: str) -> str | None:
    for name in names:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:
            continue
    return None


def encode(path: Path, codec: str, frames: list[np.ndarray], rate: int = RATE) -> Path:
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = 4_000_000  # near-lossless: the gray level identifies the frame
        if codec == "libx264":
            stream.options = {"crf": "4"}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_gif(path: Path, frames: list[np.ndarray], rate: int = RATE) -> Path:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=1000 // rate, loop=0)
    return path


def make_folder(path: Path, frames: list[np.ndarray]) -> Path:
    from PIL import Image

    path.mkdir()
    for i, f in enumerate(frames):  # unpadded numbers: natural order must be used
        Image.fromarray(f).save(path / f"frame_{i}.png")
    return path


H264_OR_MPEG4 = first_encoder("libx264", "h264", "mpeg4")
VPX = first_encoder("libvpx-vp9", "libvpx", "vp9", "vp8")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    frames = gray_frames()
    out = {
        "gif": make_gif(root / "clip.gif", frames),
        "folder": make_folder(root / "frames", frames),
    }
    if H264_OR_MPEG4:
        out["mp4"] = encode(root / "clip.mp4", H264_OR_MPEG4, frames)
    if first_encoder("mpeg4"):
        out["mov"] = encode(root / "clip.mov", "mpeg4", frames)
    if VPX:
        out["webm"] = encode(root / "clip.webm", VPX, frames)
    return out


def get(clips: dict[str, Path], kind: str) -> Path:
    if kind not in clips:
        pytest.skip(f"this PyAV build has no encoder for {kind}")
    return clips[kind]


def frame_index(frame: np.ndarray) -> int:
    return round((float(frame.mean()) - 20) / 5)


CONTAINERS = ["mp4", "mov", "webm", "gif", "folder"]


@pytest.mark.parametrize("kind", CONTAINERS)
def test_one_fps_sampling_uses_time_not_frame_counts(clips, kind):
    src = get(clips, kind)
    clip = load_video(src, fps=1.0, frame_rate=RATE if kind == "folder" else None)
    assert clip.frames.dtype == np.uint8 and clip.frames.ndim == 4 and clip.frames.shape[3] == 3
    assert clip.num_frames == 4
    assert clip.timestamps == pytest.approx([0, 1, 2, 3], abs=0.02)
    # The frame kept at t seconds is source frame 10*t.
    assert [frame_index(f) for f in clip.frames] == [0, 10, 20, 30]
    assert clip.fps == pytest.approx(1.0, abs=0.01)
    assert clip.source_fps == pytest.approx(RATE, rel=0.01)
    assert clip.duration == pytest.approx(SECONDS, abs=0.11)
    w, h = clip.size
    assert w % 28 == 0 and h % 28 == 0


@pytest.mark.parametrize("kind", ["mp4", "webm", "gif"])
def test_two_fps_and_faster_than_source(clips, kind):
    src = get(clips, kind)
    two = load_video(src, fps=2.0)
    assert two.timestamps == pytest.approx([k / 2 for k in range(8)], abs=0.02)
    assert [frame_index(f) for f in two.frames] == [5 * k for k in range(8)]
    fast = load_video(src, fps=25.0, max_pixels=28 * 28 * 4, min_pixels=28 * 28)
    # Each source frame at most once: sampling faster than the source keeps the source rate.
    assert fast.num_frames == N_FRAMES
    assert len(set(fast.timestamps)) == N_FRAMES
    assert fast.fps == pytest.approx(RATE, rel=0.01)


@pytest.mark.parametrize("kind", ["mp4", "folder"])
def test_frame_cap_spreads_frames_evenly(clips, kind):
    src = get(clips, kind)
    clip = load_video(src, fps=5.0, max_frames=4, frame_rate=RATE if kind == "folder" else None)
    assert clip.num_frames == 4
    assert clip.timestamps == pytest.approx([0, 1, 2, 3], abs=0.02)
    capped = load_video(src, fps=5.0, max_frames=3, frame_rate=RATE if kind == "folder" else None)
    gaps = np.diff(capped.timestamps)
    assert capped.num_frames == 3 and capped.timestamps[0] == 0
    assert np.all(np.abs(gaps - SECONDS / 3) < 0.15)  # spaced over the whole clip
    assert capped.fps == pytest.approx(3 / SECONDS, rel=0.1)


def test_pixel_budget_keeps_aspect_and_multiples_of_28(tmp_path):
    if not H264_OR_MPEG4:
        pytest.skip("no mp4 encoder")
    src = encode(tmp_path / "wide.mp4", H264_OR_MPEG4, gray_frames(12, w=640, h=360))
    official = load_video(src, preset="official")
    w, h = official.size
    assert w * h <= 224 * 224 and w % 28 == 0 and h % 28 == 0
    assert w / h == pytest.approx(640 / 360, rel=0.15)
    assert official.num_frames == 2 and official.requested_fps == 1.0  # 1.2 s at 1 fps
    default = load_video(src)
    w, h = default.size
    assert QWEN_VIDEO.min_pixels <= w * h <= QWEN_VIDEO.max_pixels
    assert w % 28 == 0 and h % 28 == 0 and default.preset == "qwen"
    small = load_video(src, max_pixels=28 * 28 * 6, min_pixels=28 * 28)
    assert small.size[0] * small.size[1] <= 28 * 28 * 6


def test_folder_reads_natural_order_and_defaults_to_all_frames(clips):
    folder = get(clips, "folder")
    clip = load_video(folder, fps=2.0, max_pixels=28 * 28 * 4, min_pixels=28 * 28)
    # No frame_rate: the frames are taken as already sampled at fps, in natural name order.
    assert clip.num_frames == N_FRAMES
    assert [frame_index(f) for f in clip.frames] == list(range(N_FRAMES))
    assert clip.timestamps[1] == pytest.approx(0.5)


def test_probe_reads_the_header_only(clips):
    info = probe_video(get(clips, "mp4"))
    assert (info.width, info.height) == (96, 64)
    assert info.duration == pytest.approx(SECONDS, abs=0.11)
    assert info.fps == pytest.approx(RATE)


def test_processor_metadata_describes_sampled_frames(clips):
    clip = load_video(get(clips, "mp4"), preset="official")
    meta = clip.processor_metadata()
    assert meta["total_num_frames"] == clip.num_frames == len(meta["frames_indices"])
    assert meta["fps"] == clip.fps
    assert (meta["width"], meta["height"]) == clip.size


# -- limits and errors -------------------------------------------------------------------------


def test_limits_are_media_errors_before_decoding(clips):
    src = get(clips, "mp4")
    with pytest.raises(MediaError, match=r"clip\.mp4.*over the limit of 2 s"):
        load_video(src, limits=VideoLimits(max_duration_s=2))
    with pytest.raises(MediaError, match=r"clip\.mp4.*96x64 frames, over the limit"):
        load_video(src, limits=VideoLimits(max_source_pixels=1000))
    with pytest.raises(MediaError, match=r"clip\.mp4.*MiB.*lower fps"):
        load_video(src, limits=VideoLimits(max_output_bytes=10_000))
    with pytest.raises(MediaError, match="over the limit"):
        probe_video(src, limits=VideoLimits(max_duration_s=1))
    with pytest.raises(MediaError, match="holds 40 images, over the limit"):
        load_video(get(clips, "folder"), limits=VideoLimits(max_folder_images=10))


def test_missing_corrupt_truncated_and_empty_files(tmp_path, clips):
    with pytest.raises(MediaError, match=r"video '.*nope\.mp4' does not exist"):
        load_video(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01not a video at all" * 50)
    with pytest.raises(MediaError, match=r"junk\.mp4.*cannot be opened"):
        load_video(junk)
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty\.webm"):
        load_video(empty)
    data = get(clips, "mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the index (moov) is written last: it is gone
    with pytest.raises(MediaError, match=r"cut\.mp4.*(cannot be opened|corrupt|no decodable)"):
        load_video(cut)
    with pytest.raises(MediaError, match="folder, not a file|does not exist"):
        probe_video(tmp_path / "nothing")


def test_no_video_stream_and_no_frames(tmp_path):
    audio_only = tmp_path / "sound.mp4"
    with av.open(str(audio_only), "w") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        samples = np.zeros((1, 16000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(MediaError, match=r"sound\.mp4' has no video stream"):
        load_video(audio_only)
    if H264_OR_MPEG4:
        no_frames = tmp_path / "zero.mp4"
        with av.open(str(no_frames), "w") as c:
            s = c.add_stream(H264_OR_MPEG4, rate=RATE)
            s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        with pytest.raises(MediaError, match=r"zero\.mp4"):
            load_video(no_frames)


def test_bad_frame_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no frames here")
    with pytest.raises(MediaError, match=r"empty' holds no frame images"):
        load_video(empty)
    broken = make_folder(tmp_path / "broken", gray_frames(3))
    (broken / "frame_1.png").write_bytes(b"not a png")
    with pytest.raises(MediaError, match=r"frame image '.*frame_1\.png' cannot be read"):
        load_video(broken, fps=10)


def test_settings_errors_are_config_errors(clips):
    with pytest.raises(ConfigError, match="unknown video preset"):
        load_video(get(clips, "gif"), preset="vhs")
    with pytest.raises(ConfigError, match="fps must be positive"):
        load_video(get(clips, "gif"), fps=0)
    with pytest.raises(ConfigError, match="below min_pixels"):
        VideoPreset("x", fps=1, min_pixels=50_000, max_pixels=40_000, max_frames=4)
    assert OFFICIAL_EVAL_VIDEO.fps == 1.0 and OFFICIAL_EVAL_VIDEO.max_pixels == 224 * 224


# -- resizing rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "h,w",
    [
        (720, 1280),
        (1080, 1920),
        (64, 96),
        (360, 640),
        (480, 480),
        (333, 777),
        (2160, 3840),
        (100, 30),
    ],
)
@pytest.mark.parametrize("preset", [QWEN_VIDEO, OFFICIAL_EVAL_VIDEO])
def test_smart_resize_equals_transformers_on_ordinary_frames(h, w, preset):
    qwen = pytest.importorskip("transformers.models.qwen2_vl.video_processing_qwen2_vl")
    expected = qwen.smart_resize(
        h, w, factor=28, min_pixels=preset.min_pixels, max_pixels=preset.max_pixels
    )
    assert (
        smart_resize(h, w, min_pixels=preset.min_pixels, max_pixels=preset.max_pixels) == expected
    )


@settings(max_examples=300, deadline=None)
@given(
    h=st.integers(1, 4000),
    w=st.integers(1, 4000),
    lo=st.integers(1, 200),
    span=st.integers(0, 1500),
)
def test_smart_resize_always_fits_the_budget(h, w, lo, span):
    if max(h, w) / min(h, w) > 200:
        with pytest.raises(MediaError, match="aspect ratio"):
            smart_resize(h, w, min_pixels=lo * 784, max_pixels=(lo + span) * 784)
        return
    min_pixels, max_pixels = lo * 784, (lo + span) * 784
    rh, rw = smart_resize(h, w, min_pixels=min_pixels, max_pixels=max_pixels)
    assert rh % 28 == 0 and rw % 28 == 0 and rh >= 28 and rw >= 28
    assert rh * rw <= max_pixels
    if max(h, w) / min(h, w) <= 4 and min(h, w) >= 56 and max_pixels >= 16 * 784:
        # Aspect kept up to the rounding of each side to 28 (tiny sources round to 28x28).
        assert rw / rh == pytest.approx(w / h, rel=0.6)


# -- what Qwen2.5-VL's processor does with a clip ----------------------------------------------


def test_qwen_processor_takes_the_clip_as_sampled(clips, tiny_vl):
    """Frames + ``video_metadata`` with ``do_sample_frames=False, do_resize=False``: the
    processor keeps our sizes and derives ``second_per_grid_ts = 2 / fps``."""
    from transformers import AutoProcessor

    proc = AutoProcessor.from_pretrained(tiny_vl)
    clip = load_video(get(clips, "mp4"), preset="official")
    messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "?"}]}]
    text = proc.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    out = proc(
        text=[text],
        videos=[clip.frames],
        video_metadata=[clip.processor_metadata()],
        do_sample_frames=False,
        do_resize=False,
        return_tensors="pt",
    )
    w, h = clip.size
    assert out["video_grid_thw"].tolist() == [[math.ceil(clip.num_frames / 2), h // 14, w // 14]]
    assert out["second_per_grid_ts"].tolist() == pytest.approx([2 / clip.fps])
    video_pad = proc.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    n_tokens = int((out["input_ids"] == video_pad).sum())
    assert n_tokens == math.ceil(clip.num_frames / 2) * (h // 28) * (w // 28)


def test_missing_decoder_is_named(clips, monkeypatch):
    src = get(clips, "mp4")

    def no_codec(name, mode="r"):
        raise av.codec.codec.UnknownCodecError(name)

    monkeypatch.setattr(av.codec, "Codec", no_codec)
    with pytest.raises(MediaError, match=r"clip\.mp4': no decoder for its codec"):
        load_video(src)


def test_header_undercounting_frames_still_yields_every_sample(clips, monkeypatch):
    import dataclasses

    import flexjudge.media.video as video

    real = video._file_info
    monkeypatch.setattr(
        video, "_file_info", lambda *a: dataclasses.replace(real(*a), frame_count=1)
    )
    clip = load_video(get(clips, "mp4"), fps=1.0)
    assert [frame_index(f) for f in clip.frames] == [0, 10, 20, 30]


def test_overriding_one_side_of_the_pixel_range(clips):
    clip = load_video(get(clips, "mp4"), max_pixels=224 * 224)  # Qwen preset, min 128*28*28
    assert clip.size[0] * clip.size[1] <= 224 * 224
    assert load_video(clip) is clip
    with pytest.raises(ConfigError, match="below min_pixels"):
        load_video(get(clips, "mp4"), max_pixels=28 * 28 * 4, min_pixels=28 * 28 * 8)
