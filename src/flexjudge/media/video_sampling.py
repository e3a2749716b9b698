"""The arithmetic of video sampling: which times to keep, which source frame is on screen at
each, and how large each kept frame may be (Qwen2-VL's ``smart_resize``). Pure functions, no
decoding; :mod:`flexjudge.media.video` applies them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flexjudge.errors import MediaError

if TYPE_CHECKING:
    from flexjudge.media.video import VideoPreset

#: Qwen2.5-VL's vision patch (14) times the 2x2 token merge: every side is a multiple of it.
PATCH_FACTOR = 28
#: Qwen's smart_resize refuses aspect ratios beyond this.
MAX_ASPECT_RATIO = 200
#: Tolerance when matching frame times to grid times (seconds).
TIME_EPS = 1e-3


def smart_resize(
    height: int,
    width: int,
    *,
    min_pixels: int,
    max_pixels: int,
    factor: int = PATCH_FACTOR,
    source: str = "video",
) -> tuple[int, int]:
    """Qwen2-VL's ``smart_resize``: sides rounded to multiples of ``factor``, area within
    ``[min_pixels, max_pixels]``, aspect ratio kept as closely as possible.

    Deviations, so that ``height * width <= max_pixels`` always holds (given
    ``max_pixels >= factor**2``): when scaling *up* to reach ``min_pixels`` overshoots
    ``max_pixels`` (the ceiling rounding can), the sides are floored instead; and when a very
    elongated frame's short side is held at ``factor``, the long side is trimmed to fit.
    Returns ``(height, width)``.
    """
    if height <= 0 or width <= 0:
        raise MediaError(f"{source} has an empty frame ({width}x{height})")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise MediaError(
            f"{source} frame {width}x{height} is too elongated: the aspect ratio "
            f"must be under {MAX_ASPECT_RATIO}"
        )
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_up = math.ceil(height * beta / factor) * factor
        w_up = math.ceil(width * beta / factor) * factor
        if h_up * w_up > max_pixels:
            h_up = max(factor, math.floor(height * beta / factor) * factor)
            w_up = max(factor, math.floor(width * beta / factor) * factor)
        h_bar, w_bar = h_up, w_up
    if h_bar * w_bar > max_pixels:
        # Very elongated frames: the short side is held at one factor, so trim the long one.
        if h_bar >= w_bar:
            h_bar = max(factor, (max_pixels // w_bar) // factor * factor)
        else:
            w_bar = max(factor, (max_pixels // h_bar) // factor * factor)
    return h_bar, w_bar


def frame_pixel_budget(preset: VideoPreset, num_frames: int) -> int:
    """Per-frame ``max_pixels`` once the clip-level budget is shared among ``num_frames``
    (qwen-vl-utils / transformers ``cap_pixels_per_frame``: two frames share one temporal
    patch, and the share never drops below ``1.05 * min_pixels``)."""
    if preset.max_total_pixels is None:
        return preset.max_pixels
    share = preset.max_total_pixels * 2 // max(num_frames, 1)
    return max(min(preset.max_pixels, share), min(int(preset.min_pixels * 1.05), preset.max_pixels))


def sample_times(duration: float, fps: float, max_frames: int) -> tuple[list[float], float]:
    """Grid times in ``[0, duration)`` and the grid rate: every ``1/fps`` seconds, or
    ``max_frames`` evenly spaced times when the grid would be longer. A clip of zero or
    unknown length gets the single time 0."""
    if duration <= 0:
        return [0.0], fps
    n = max(1, math.ceil(duration * fps - 1e-9))
    if n <= max_frames:
        return [k / fps for k in range(n)], fps
    step = duration / max_frames
    return [i * step for i in range(max_frames)], max_frames / duration


class FramePicker:
    """Streams (item, time) pairs in time order and yields the item on screen at each grid
    time: the last item whose time is <= the grid time (+ tolerance). One item of look-ahead."""

    def __init__(self, targets: Sequence[float]) -> None:
        self.targets = list(targets)
        self.k = 0
        self.prev: tuple[Any, float] | None = None
        self.prev_taken = False

    @property
    def done(self) -> bool:
        return self.k >= len(self.targets)

    def offer(self, item: Any, t: float) -> list[tuple[Any, float]]:
        out = []
        while self.k < len(self.targets) and t > self.targets[self.k] + TIME_EPS:
            if self.prev is not None and not self.prev_taken:
                out.append(self.prev)
                self.prev_taken = True
            self.k += 1
        self.prev, self.prev_taken = (item, t), False
        return out

    def finish(self) -> list[tuple[Any, float]]:
        """Grid times after the last item: that item was still on screen."""
        if self.k < len(self.targets) and self.prev is not None and not self.prev_taken:
            self.k = len(self.targets)
            self.prev_taken = True
            return [self.prev]
        return []


def measured_fps(times: Sequence[float], grid_fps: float, source_fps: float | None) -> float:
    if len(times) > 1 and times[-1] > times[0]:
        return (len(times) - 1) / (times[-1] - times[0])
    return min(grid_fps, source_fps) if source_fps else grid_fps
