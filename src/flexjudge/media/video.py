"""Video loading: a file (mp4, webm, mov, gif... through PyAV) or a folder of frame images
becomes a :class:`VideoClip` of uint8 RGB frames ``(T, H, W, 3)`` plus timing metadata.

Rules
-----
* **Sampling by time, not by frame count.** Frames are picked on a grid ``0, 1/fps, 2/fps, ...``
  seconds (measured from the first frame, with times taken from the stream's time base). The
  frame kept for a grid time is the one *on screen* at that time (the last frame starting at or
  before it, 1 ms tolerance). A frame is never kept twice, so sampling faster than the source
  keeps each source frame once.
* **Frame cap.** When the grid would hold more than ``max_frames`` times, the grid becomes
  ``max_frames`` evenly spaced times over the clip instead (the whole clip stays covered).
* **Pixel budget.** Each frame is resized, keeping its aspect ratio, to at most ``max_pixels``
  and at least ``min_pixels`` pixels, both sides a multiple of 28 (Qwen2.5-VL: 14-pixel
  patches merged 2x2), with Qwen's own ``smart_resize`` rule. A preset may also bound the
  whole clip (``max_total_pixels``): each frame then gets at most an even share of it, as
  qwen-vl-utils does.
* **Limits** (:class:`VideoLimits`) are checked before decoding where the container says
  enough (duration, frame size, output bytes) and again while decoding, so an over-long or
  over-large input is a :class:`~flexjudge.errors.MediaError`, not an out-of-memory crash.

Defaults and their origin
-------------------------
:data:`QWEN_VIDEO` (the default) follows Qwen2.5-VL as shipped in transformers 5.24,
``models/qwen2_vl/video_processing_qwen2_vl.py`` (used by Qwen2.5-VL and Qwen2.5-Omni):
``size = {"shortest_edge": 128*28*28, "longest_edge": 28*28*768}`` (min/max pixels per
frame), ``min_frames = 4``, ``max_frames = 768``, patch 14, merge 2, temporal patch 2, and
``max_video_tokens = 128000`` with the qwen-vl-utils total cap
``max_video_tokens * 28 * 28 * 0.9`` pixels (``cap_pixels_per_frame``). The video processor
itself has no fps default (``do_sample_frames = False``); the 2.0 fps comes from
``models/qwen2_5_omni/processing_qwen2_5_omni.py`` ("default fps not saved in official ckpt,
hardcode": ``2.0``) and qwen-vl-utils' ``FPS = 2.0``.

:data:`OFFICIAL_EVAL_VIDEO` is the Flex-Judge evaluation setting (official code,
``test/genai_bench_vllm.py``: ``"max_pixels": 224*224, "fps": 1.0``). Its ``min_pixels`` is
4*28*28 (Qwen's image minimum) rather than qwen-vl-utils' video minimum of 128*28*28, which
is larger than 224*224 and would make the minimum rule fight the maximum for small clips.

``min_frames`` is not enforced here: a one-second clip at 1 fps gives one frame, and the
processor pads the temporal patch itself by repeating the last frame.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.errors import ConfigError, MediaError
from flexjudge.media._common import check_positive, existing_path, first_line, require
from flexjudge.media.video_sampling import (
    PATCH_FACTOR,
    FramePicker,
    frame_pixel_budget,
    measured_fps,
    sample_times,
    smart_resize,
)

#: Frame-image suffixes recognised in a frame folder.
FRAME_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif"})


@dataclass(frozen=True)
class VideoPreset:
    """Sampling and resizing defaults for one model family or evaluation protocol."""

    name: str
    fps: float
    min_pixels: int
    max_pixels: int
    max_frames: int
    #: Pixel budget of a whole clip, counted per temporal patch of two frames (qwen-vl-utils'
    #: ``VIDEO_TOTAL_PIXELS``); ``None`` for no clip-level bound.
    max_total_pixels: int | None = None

    def __post_init__(self) -> None:
        check_positive("fps", self.fps)
        check_positive("max_frames", self.max_frames)
        if self.min_pixels < PATCH_FACTOR**2:
            raise ConfigError(
                f"min_pixels must be at least {PATCH_FACTOR}*{PATCH_FACTOR}, got {self.min_pixels}"
            )
        if self.max_pixels < self.min_pixels:
            raise ConfigError(
                f"max_pixels ({self.max_pixels}) is below min_pixels ({self.min_pixels})"
            )
        if self.max_total_pixels is not None:
            check_positive("max_total_pixels", self.max_total_pixels)


#: Qwen2.5-VL / Qwen2.5-Omni defaults (transformers' Qwen2VLVideoProcessor, qwen-vl-utils).
QWEN_VIDEO = VideoPreset(
    "qwen",
    fps=2.0,
    min_pixels=128 * 28 * 28,
    max_pixels=768 * 28 * 28,
    max_frames=768,
    max_total_pixels=int(128000 * 28 * 28 * 0.9),
)
#: The official Flex-Judge evaluation (GenAI-Bench video): 1 fps at <= 224x224 pixels.
OFFICIAL_EVAL_VIDEO = VideoPreset(
    "official", fps=1.0, min_pixels=4 * 28 * 28, max_pixels=224 * 224, max_frames=768
)
VIDEO_PRESETS: dict[str, VideoPreset] = {p.name: p for p in (QWEN_VIDEO, OFFICIAL_EVAL_VIDEO)}


@dataclass(frozen=True)
class VideoLimits:
    """What a loader refuses before it would spend unbounded time or memory."""

    #: Longest clip, in seconds. Qwen2.5-VL is advertised for hour-long video; twice that.
    max_duration_s: float = 7200.0
    #: Largest decoded source frame (8192x8192); larger frames are refused, not decoded.
    max_source_pixels: int = 8192 * 8192
    #: Largest output array (frames after resizing), in bytes.
    max_output_bytes: int = 2 * 1024**3
    #: Most images a frame folder may hold.
    max_folder_images: int = 100_000


DEFAULT_VIDEO_LIMITS = VideoLimits()


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about a video without decoding it (see :func:`probe_video`)."""

    source: str
    width: int
    height: int
    duration: float
    #: Average frame rate of the source; for a folder, the assumed frame rate.
    fps: float | None
    codec: str
    frame_count: int | None = None


@dataclass(frozen=True, eq=False)
class VideoClip:
    """Sampled, resized frames and their timing.

    ``timestamps[i]`` is the presentation time of ``frames[i]`` in seconds from the first
    frame of the source. ``fps`` is the rate of the sampled frames (mean spacing of the
    timestamps; the grid rate for a single frame), which is what a processor needs to place
    frames in time (Qwen2.5-VL's ``second_per_grid_ts = 2 / fps``).
    """

    frames: np.ndarray
    timestamps: tuple[float, ...]
    fps: float
    source_fps: float | None
    duration: float
    source: str
    source_size: tuple[int, int]  #: (width, height) before resizing
    requested_fps: float = 0.0
    preset: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) after resizing: both multiples of 28."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    def processor_metadata(self) -> dict[str, Any]:
        """The ``video_metadata`` entry for a transformers video processor (its
        ``VideoMetadata`` fields), describing the frames as already sampled at ``fps``."""
        return {
            "total_num_frames": self.num_frames,
            "fps": self.fps,
            "duration": self.duration,
            "width": self.size[0],
            "height": self.size[1],
            "frames_indices": list(range(self.num_frames)),
            "video_backend": "flexjudge",
        }


# -- resizing ---------------------------------------------------------------------------------


# -- sampling ---------------------------------------------------------------------------------


# -- public API -------------------------------------------------------------------------------


def resolve_preset(preset: str | VideoPreset | None, **overrides: Any) -> VideoPreset:
    """A preset by name (``"qwen"``, ``"official"``) or value, with non-``None`` overrides.

    Overriding only one side of the pixel range moves the other when they would cross
    (``max_pixels=224*224`` on the Qwen preset lowers its 128*28*28 minimum to match), as
    qwen-vl-utils lets the maximum win; overriding both to a crossed range is an error."""
    if preset is None:
        base = QWEN_VIDEO
    elif isinstance(preset, VideoPreset):
        base = preset
    else:
        try:
            base = VIDEO_PRESETS[str(preset).strip().lower()]
        except KeyError:
            raise ConfigError(
                f"unknown video preset {preset!r}: use one of {', '.join(sorted(VIDEO_PRESETS))}"
            ) from None
    changes = {k: v for k, v in overrides.items() if v is not None}
    lo, hi = changes.get("min_pixels"), changes.get("max_pixels")
    if hi is not None and lo is None and hi < base.min_pixels:
        changes["min_pixels"] = max(hi, PATCH_FACTOR**2)
    if lo is not None and hi is None and lo > base.max_pixels:
        changes["max_pixels"] = lo
    return replace(base, **changes) if changes else base


def load_video(
    source: str | os.PathLike[str] | VideoClip,
    *,
    fps: float | None = None,
    max_frames: int | None = None,
    max_pixels: int | None = None,
    min_pixels: int | None = None,
    preset: str | VideoPreset | None = None,
    frame_rate: float | None = None,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
) -> VideoClip:
    """Decode, sample and resize a video file or a folder of frame images.

    ``fps``, ``max_frames``, ``max_pixels`` and ``min_pixels`` default to the ``preset``
    (:data:`QWEN_VIDEO` unless named: ``"official"`` is :data:`OFFICIAL_EVAL_VIDEO`).
    ``frame_rate`` is the rate a frame folder was captured at (a folder has no time base);
    by default the folder's frames are taken as already sampled at ``fps``, so all are kept
    (up to ``max_frames``). Folder images are read in natural name order (``f2`` before
    ``f10``). A :class:`VideoClip` is returned as is. Raises
    :class:`~flexjudge.errors.MediaError` naming the source.
    """
    if isinstance(source, VideoClip):
        return source
    settings = resolve_preset(
        preset, fps=fps, max_frames=max_frames, max_pixels=max_pixels, min_pixels=min_pixels
    )
    if frame_rate is not None:
        check_positive("frame_rate", frame_rate)
    path = existing_path(source, "video", allow_dir=True)
    if path.is_dir():
        return _load_folder(path, settings, frame_rate or settings.fps, limits)
    return _load_file(path, settings, limits)


def probe_video(
    source: str | os.PathLike[str],
    *,
    frame_rate: float | None = None,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
) -> VideoInfo:
    """Check that a video exists, opens, has a decodable video stream and is within
    ``limits``, without decoding frames (cheap enough for an engine's ``check``)."""
    path = existing_path(source, "video", allow_dir=True)
    if path.is_dir():
        files = _frame_files(path, limits)
        rate = frame_rate or QWEN_VIDEO.fps
        width, height = _image_size(files[0], limits)
        info = VideoInfo(str(path), width, height, len(files) / rate, rate, "images", len(files))
    else:
        with _open(path) as container:
            info = _file_info(path, container, _video_stream(path, container))
    _check_limits(info, limits)
    return info


# -- files (PyAV) -----------------------------------------------------------------------------


def _open(path: Path) -> Any:
    av = require("av", "reading video files")

    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(
            f"video {str(path)!r} cannot be opened (corrupt, truncated or not a "
            f"supported container): {first_line(exc)}"
        ) from exc


def _video_stream(path: Path, container: Any) -> Any:
    import av

    if not container.streams.video:
        raise MediaError(f"video {str(path)!r} has no video stream")
    stream = container.streams.video[0]
    try:
        ctx = stream.codec_context
        name = ctx.name if ctx is not None else ""
        if ctx is None or not name:
            raise MediaError(
                f"video {str(path)!r}: its codec is not supported by this FFmpeg "
                f"build (PyAV {av.__version__})"
            )
        av.codec.Codec(name, "r")
    except (av.error.FFmpegError, av.codec.codec.UnknownCodecError) as exc:
        raise MediaError(
            f"video {str(path)!r}: no decoder for its codec in this FFmpeg build "
            f"(PyAV {av.__version__}): {first_line(exc)}"
        ) from exc
    return stream


def _file_info(path: Path, container: Any, stream: Any) -> VideoInfo:
    import av

    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    source_fps = float(rate) if rate else None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    elif stream.frames and source_fps:
        duration = stream.frames / source_fps
    else:
        duration = _scan_duration(path, stream)
    return VideoInfo(
        str(path),
        int(ctx.width or 0),
        int(ctx.height or 0),
        max(duration, 0.0),
        source_fps,
        ctx.name,
        stream.frames or None,
    )


def _scan_duration(path: Path, stream: Any) -> float:
    """Duration from the packets' timestamps (demux only, no decoding), for containers whose
    header does not say."""
    import av

    first = last = None
    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            for packet in c.demux(s):
                if packet.pts is None:
                    continue
                end = packet.pts + (packet.duration or 0)
                first = packet.pts if first is None else min(first, packet.pts)
                last = end if last is None else max(last, end)
    except av.error.FFmpegError as exc:
        raise MediaError(f"video {str(path)!r} is corrupt: {first_line(exc)}") from exc
    if first is None or last is None or stream.time_base is None:
        return 0.0
    return float((last - first) * stream.time_base)


def _check_limits(info: VideoInfo, limits: VideoLimits) -> None:
    if info.duration > limits.max_duration_s:
        raise MediaError(
            f"video {info.source!r} lasts {info.duration:.1f} s, over the limit of "
            f"{limits.max_duration_s:g} s"
        )
    if info.width * info.height > limits.max_source_pixels:
        raise MediaError(
            f"video {info.source!r} has {info.width}x{info.height} frames, over the "
            f"limit of {limits.max_source_pixels} pixels per frame"
        )


def _output_shape(
    info: VideoInfo, settings: VideoPreset, n_times: int, limits: VideoLimits
) -> tuple[int, int]:
    budget = frame_pixel_budget(settings, n_times)
    h, w = smart_resize(
        info.height,
        info.width,
        min_pixels=settings.min_pixels,
        max_pixels=budget,
        source=f"video {info.source!r}",
    )
    need = n_times * h * w * 3
    if need > limits.max_output_bytes:
        raise MediaError(
            f"video {info.source!r} would need {need / 2**20:.0f} MiB for "
            f"{n_times} frames of {w}x{h}, over the limit of "
            f"{limits.max_output_bytes / 2**20:.0f} MiB: lower fps, max_frames or "
            f"max_pixels"
        )
    return h, w


def _load_file(path: Path, settings: VideoPreset, limits: VideoLimits) -> VideoClip:
    import av

    with _open(path) as container:
        stream = _video_stream(path, container)
        info = _file_info(path, container, stream)
        _check_limits(info, limits)
        if info.width <= 0 or info.height <= 0:
            raise MediaError(f"video {str(path)!r} has no frame size (no decodable frame?)")
        times, grid_fps = sample_times(info.duration, settings.fps, settings.max_frames)
        if info.frame_count:
            # A file never yields more distinct frames than it holds.
            n_out = min(len(times), info.frame_count)
        else:
            n_out = len(times)
        h, w = _output_shape(info, settings, n_out, limits)
        stream.thread_type = "AUTO"
        picker = FramePicker(times)
        # Filled in place: no second copy of the clip at the end (the output limit is the peak).
        out = np.empty((n_out, h, w, 3), np.uint8)
        kept: list[float] = []
        origin: float | None = None
        index = 0

        def keep(items: list[tuple[Any, float]]) -> None:
            nonlocal out
            for frame, t in items:
                if len(kept) == len(out):  # the header under-counted its frames
                    grow = len(out) // 4 + 1
                    if (len(out) + grow) * h * w * 3 > limits.max_output_bytes:
                        raise MediaError(
                            f"video {str(path)!r} holds more frames than its "
                            f"header says, over the output limit"
                        )
                    out = np.concatenate([out, np.empty((grow, h, w, 3), np.uint8)])
                out[len(kept)] = frame.reformat(
                    width=w, height=h, format="rgb24", interpolation="BICUBIC"
                ).to_ndarray()
                kept.append(t)

        try:
            for frame in container.decode(stream):
                t_abs = (
                    frame.time
                    if frame.time is not None
                    else (index / info.fps if info.fps else float(index))
                )
                index += 1
                origin = t_abs if origin is None else origin
                t = t_abs - origin
                if t > limits.max_duration_s:
                    raise MediaError(
                        f"video {str(path)!r} runs past the limit of {limits.max_duration_s:g} s"
                    )
                keep(picker.offer(frame, t))
                if picker.done:
                    break
            keep(picker.finish())
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"video {str(path)!r} is corrupt or truncated: {first_line(exc)}"
            ) from exc
    if not kept:
        raise MediaError(f"video {str(path)!r} has no decodable video frame")
    frames = out if len(kept) == len(out) else out[: len(kept)].copy()
    return VideoClip(
        frames=frames,
        timestamps=tuple(kept),
        fps=measured_fps(kept, grid_fps, info.fps),
        source_fps=info.fps,
        duration=info.duration,
        source=str(path),
        source_size=(info.width, info.height),
        requested_fps=settings.fps,
        preset=settings.name,
    )


# -- frame folders (Pillow) -------------------------------------------------------------------


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _frame_files(folder: Path, limits: VideoLimits) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES]
    if not files:
        raise MediaError(
            f"video folder {str(folder)!r} holds no frame images "
            f"({', '.join(sorted(FRAME_SUFFIXES))})"
        )
    if len(files) > limits.max_folder_images:
        raise MediaError(
            f"video folder {str(folder)!r} holds {len(files)} images, over the "
            f"limit of {limits.max_folder_images}"
        )
    return sorted(files, key=lambda p: _natural_key(p.name))


def _image_size(path: Path, limits: VideoLimits) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            width, height = im.size
    except Exception as exc:
        raise MediaError(f"frame image {str(path)!r} cannot be read: {first_line(exc)}") from exc
    if width * height > limits.max_source_pixels:
        raise MediaError(
            f"frame image {str(path)!r} is {width}x{height}, over the limit of "
            f"{limits.max_source_pixels} pixels"
        )
    return width, height


def _read_frame(path: Path, size: tuple[int, int], limits: VideoLimits) -> np.ndarray:
    from PIL import Image

    _image_size(path, limits)
    try:
        with Image.open(path) as im:
            rgb = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    except Exception as exc:
        raise MediaError(f"frame image {str(path)!r} cannot be read: {first_line(exc)}") from exc
    return np.asarray(rgb, dtype=np.uint8)


def _load_folder(
    folder: Path, settings: VideoPreset, frame_rate: float, limits: VideoLimits
) -> VideoClip:
    files = _frame_files(folder, limits)
    duration = len(files) / frame_rate
    width, height = _image_size(files[0], limits)
    info = VideoInfo(str(folder), width, height, duration, frame_rate, "images", len(files))
    _check_limits(info, limits)
    times, grid_fps = sample_times(duration, settings.fps, settings.max_frames)
    picker = FramePicker(times)
    chosen: list[tuple[Any, float]] = []
    for i in range(len(files)):
        chosen += picker.offer(i, i / frame_rate)
        if picker.done:
            break
    chosen += picker.finish()
    h, w = _output_shape(info, settings, len(chosen), limits)
    # Every frame takes the first frame's output size: a processor needs one size per clip.
    frames = np.stack([_read_frame(files[i], (w, h), limits) for i, _ in chosen])
    kept = [t for _, t in chosen]
    return VideoClip(
        frames=frames,
        timestamps=tuple(kept),
        fps=measured_fps(kept, grid_fps, frame_rate),
        source_fps=frame_rate,
        duration=duration,
        source=str(folder),
        source_size=(width, height),
        requested_fps=settings.fps,
        preset=settings.name,
    )


__all__ = [
    "DEFAULT_VIDEO_LIMITS",
    "OFFICIAL_EVAL_VIDEO",
    "PATCH_FACTOR",
    "QWEN_VIDEO",
    "VIDEO_PRESETS",
    "VideoClip",
    "VideoInfo",
    "VideoLimits",
    "VideoPreset",
    "frame_pixel_budget",
    "load_video",
    "probe_video",
    "resolve_preset",
    "sample_times",
    "smart_resize",
]
