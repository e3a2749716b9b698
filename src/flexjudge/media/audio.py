"""Audio loading: a file becomes a mono float32 :class:`AudioClip` at the processor's rate.

Rules
-----
* **Decoders.** wav/flac/ogg (and the other libsndfile formats) through ``soundfile``; mp3,
  m4a/aac, opus-in-webm and anything else through PyAV. A file soundfile cannot open is tried
  with PyAV before it is declared unreadable.
* **One amplitude scale.** Integer PCM is scaled by its full-scale value (int16 by 2**15,
  int32 by 2**31, uint8 around 128), float stays as is, and the result is clipped to
  ``[-1, 1]``, whatever the source rate or sample format. This fixes the official Flex-Omni
  evaluation code (official-code.md §3.5), whose ``load_audio_from_file`` kept 16 kHz files as
  floats in [-1, 1] but multiplied resampled files by 32767: the Whisper-style feature
  extractor does not renormalise, so the two groups reached the model ~32767x apart.
* **Down-mix** to mono by averaging the channels (as the official loader did).
* **Resampling** with a polyphase FIR filter, ``scipy.signal.resample_poly`` with the exact
  rational ratio ``target/source`` reduced by their gcd (44.1 kHz -> 16 kHz is up 160,
  down 441), Kaiser window (beta 5, scipy's default).
* **Target rate** 16 kHz: Qwen2.5-Omni's processor feeds a Whisper feature extractor at
  ``sampling_rate = 16000`` (transformers ``processing_qwen2_5_omni.py``, ``audio_kwargs``).
* **Limits.** ``max_seconds`` is checked from the header before decoding where the format says,
  and again while decoding; a longer clip is a :class:`~flexjudge.errors.MediaError`. A
  zero-length clip, a truncated WAV (data chunk shorter than its header says) or a short read
  are errors too, never silent.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.errors import MediaError
from flexjudge.media._common import check_positive, existing_path, first_line, require

#: Qwen2.5-Omni's (Whisper) feature extractor rate.
TARGET_RATE = 16000
#: Default longest clip. MOS/speaker-similarity clips are seconds long; ten minutes of
#: 48 kHz stereo float64 is already ~0.5 GB while decoding.
MAX_SECONDS = 600.0
#: Suffixes read with soundfile first (libsndfile's formats).
SOUNDFILE_SUFFIXES = frozenset(
    {
        ".wav",
        ".wave",
        ".flac",
        ".ogg",
        ".oga",
        ".aiff",
        ".aif",
        ".aifc",
        ".au",
        ".snd",
        ".w64",
        ".rf64",
        ".caf",
    }
)


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Mono float32 samples in ``[-1, 1]`` at ``rate`` Hz."""

    samples: np.ndarray
    rate: int
    source: str = ""
    source_rate: int = 0
    source_channels: int = 0
    #: The source's sample format as its decoder names it ("PCM_16", "FLOAT", "fltp"...).
    source_format: str = ""

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.samples) / self.rate

    def processor_input(self) -> tuple[np.ndarray, int]:
        """``(samples, rate)``: what to pass as ``audio=[samples]`` with ``sampling_rate=rate``."""
        return self.samples, self.rate


def load_audio(
    source: Any, *, target_rate: int = TARGET_RATE, max_seconds: float = MAX_SECONDS
) -> AudioClip:
    """Read, down-mix, rescale and resample one audio clip.

    ``source`` is a path, an :class:`AudioClip` (resampled if its rate differs), or a
    ``(samples, rate)`` pair, with samples shaped ``(n,)`` or ``(n, channels)`` as any numeric
    dtype (integers are scaled from their full range). Raises
    :class:`~flexjudge.errors.MediaError` naming the file and the cause.
    """
    check_positive("target_rate", target_rate)
    check_positive("max_seconds", max_seconds)
    if isinstance(source, AudioClip):
        name = source.source
        label = f"audio clip {name!r}" if name else "audio clip"
        data, rate, fmt = source.samples, source.rate, source.source_format
    elif isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray):
        name, label = "", "audio array"
        data, rate, fmt = source[0], int(source[1]), str(source[0].dtype)
    else:
        path = existing_path(source, "audio")
        name, label = str(path), f"audio {str(path)!r}"
        data, rate, fmt = _decode(path, max_seconds)
    if rate <= 0:
        raise MediaError(f"{label}: sample rate must be positive, got {rate}")
    if data.shape[0] / rate > max_seconds:
        raise MediaError(
            f"{label} lasts {data.shape[0] / rate:.1f} s, over the limit of {max_seconds:g} s"
        )
    channels = 1 if data.ndim == 1 else int(data.shape[1])
    mono = _to_mono_float(data, label)
    if mono.size == 0:
        raise MediaError(f"{label} is empty (zero-length clip)")
    if not np.all(np.isfinite(mono)):
        raise MediaError(f"{label} holds NaN or infinite samples")
    # Not in place: with no resampling ``out`` may be the caller's own array.
    out = np.clip(resample(mono, rate, target_rate), -1.0, 1.0)
    if out.size == 0:
        raise MediaError(f"{label} is too short to resample to {target_rate} Hz")
    return AudioClip(out, int(target_rate), name, int(rate), channels, fmt)


def probe_audio(
    source: str | os.PathLike[str], *, max_seconds: float = MAX_SECONDS
) -> tuple[float, int, int]:
    """``(duration_s, rate, channels)`` from the header, with the same existence, format and
    length checks as :func:`load_audio` but without decoding (PyAV formats fall back to the
    container's duration)."""
    path = existing_path(source, "audio")
    info = _soundfile_info(path) if path.suffix.lower() in SOUNDFILE_SUFFIXES else None
    if info is not None:
        duration, rate, channels = info.frames / info.samplerate, info.samplerate, info.channels
    else:
        duration, rate, channels = _pyav_probe(path)
    if duration <= 0:
        raise MediaError(f"audio {str(path)!r} is empty (zero-length clip)")
    if duration > max_seconds:
        raise MediaError(
            f"audio {str(path)!r} lasts {duration:.1f} s, over the limit of {max_seconds:g} s"
        )
    return duration, rate, channels


def resample(x: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling of a 1-D float signal by the exact ratio ``target/source``."""
    if source_rate == target_rate:
        return np.ascontiguousarray(x, dtype=np.float32)
    resample_poly = require("scipy.signal", "resampling audio").resample_poly

    g = math.gcd(int(source_rate), int(target_rate))
    up, down = int(target_rate) // g, int(source_rate) // g
    return resample_poly(x.astype(np.float64), up, down).astype(np.float32)


# -- decoding ---------------------------------------------------------------------------------


def _to_mono_float(data: np.ndarray, label: str) -> np.ndarray:
    """Scale to float by the dtype's full range, then average the channels."""
    if data.dtype.kind == "f":
        x = data.astype(np.float32, copy=False)
    elif data.dtype.kind == "i":
        x = data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1))
    elif data.dtype.kind == "u":
        half = float(2 ** (8 * data.dtype.itemsize - 1))
        x = (data.astype(np.float32) - half) / half
    else:
        raise MediaError(f"{label}: unsupported sample type {data.dtype}")
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32)
    elif x.ndim != 1:
        raise MediaError(
            f"{label}: expected (samples,) or (samples, channels), got shape {data.shape}"
        )
    return x


def _decode(path: Path, max_seconds: float) -> tuple[np.ndarray, int, str]:
    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        try:
            return _decode_soundfile(path, max_seconds)
        except _NotForSoundfile as exc:
            try:  # e.g. a WAV holding mp3, or an Ogg/Opus file this libsndfile does not take
                return _decode_pyav(path, max_seconds)
            except MediaError:
                raise MediaError(
                    f"audio {str(path)!r} cannot be opened (corrupt, truncated or "
                    f"not a supported format): {exc}"
                ) from exc
    return _decode_pyav(path, max_seconds)


class _NotForSoundfile(Exception):
    """soundfile cannot open the file at all (as opposed to failing half-way)."""


def _soundfile_info(path: Path) -> Any:
    import soundfile as sf

    try:
        return sf.info(str(path))
    except Exception:  # not a libsndfile format: the PyAV path decides
        return None


def _decode_soundfile(path: Path, max_seconds: float) -> tuple[np.ndarray, int, str]:
    sf = require("soundfile", "reading audio files")

    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise _NotForSoundfile(_sf_cause(exc)) from exc
    if info.samplerate <= 0:
        raise MediaError(f"audio {str(path)!r} declares a sample rate of {info.samplerate}")
    if info.frames / info.samplerate > max_seconds:
        raise MediaError(
            f"audio {str(path)!r} lasts {info.frames / info.samplerate:.1f} s, over "
            f"the limit of {max_seconds:g} s"
        )
    if info.frames == 0:
        raise MediaError(f"audio {str(path)!r} is empty (zero-length clip)")
    _check_wav_complete(path)
    try:
        # libsndfile scales integer PCM of any width by its full scale (int16 / 2**15) when
        # reading float32, and returns float files unscaled: one amplitude convention.
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise MediaError(f"audio {str(path)!r} is corrupt or truncated: {_sf_cause(exc)}") from exc
    if len(data) < info.frames:
        raise MediaError(
            f"audio {str(path)!r} is truncated: its header promises {info.frames} "
            f"samples, {len(data)} could be read"
        )
    return data, int(rate), str(info.subtype)


def _sf_cause(exc: BaseException) -> str:
    cause = first_line(exc)
    return cause.split(": ", 1)[1] if cause.startswith("Error opening") and ": " in cause else cause


def _check_wav_complete(path: Path) -> None:
    """libsndfile silently reads a WAV cut short; compare the data chunk's declared size
    with the bytes present."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return
        endian = "<" if head[:4] == b"RIFF" else ">"
        size = path.stat().st_size
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return
            cid, clen = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if cid == b"data":
                present = size - f.tell()
                # 0 and 0xFFFFFFFF mark streamed WAVs whose writer never came back.
                if clen not in (0, 0xFFFFFFFF) and clen > present:
                    raise MediaError(
                        f"audio {str(path)!r} is truncated: its data chunk declares "
                        f"{clen} bytes, {present} are present"
                    )
                return
            f.seek(clen + (clen & 1), os.SEEK_CUR)


def _open_pyav(path: Path) -> Any:
    av = require("av", "reading compressed audio")

    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(
            f"audio {str(path)!r} cannot be opened (corrupt, truncated or not a "
            f"supported format): {first_line(exc)}"
        ) from exc
    if not container.streams.audio:
        container.close()
        raise MediaError(f"audio {str(path)!r} has no audio stream")
    return container


def _pyav_probe(path: Path) -> tuple[float, int, int]:
    import av

    with _open_pyav(path) as container:
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = float("nan")
        return (
            duration,
            int(stream.rate or 0),
            int(stream.layout.nb_channels if stream.layout else 0),
        )


def _decode_pyav(path: Path, max_seconds: float) -> tuple[np.ndarray, int, str]:
    import av

    with _open_pyav(path) as container:
        stream = container.streams.audio[0]
        if container.duration is not None and container.duration / av.time_base > max_seconds:
            raise MediaError(
                f"audio {str(path)!r} lasts {container.duration / av.time_base:.1f} s, "
                f"over the limit of {max_seconds:g} s"
            )
        fmt = stream.format.name if stream.format is not None else ""
        rate = int(stream.rate or 0)
        # Planar float keeps the channels; scaling of integer formats is swresample's.
        resampler = av.AudioResampler(format="fltp")
        chunks: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                rate = rate or int(frame.sample_rate)
                for out in resampler.resample(frame):
                    a = out.to_ndarray()  # (channels, samples)
                    chunks.append(a)
                    total += a.shape[1]
                if rate and total / rate > max_seconds:
                    raise MediaError(
                        f"audio {str(path)!r} runs past the limit of {max_seconds:g} s"
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"audio {str(path)!r} is corrupt or truncated: {first_line(exc)}"
            ) from exc
    if not chunks or rate <= 0:
        raise MediaError(f"audio {str(path)!r} is empty (no decodable audio)")
    data = np.concatenate(chunks, axis=1).T  # (samples, channels)
    return np.ascontiguousarray(data, dtype=np.float32), rate, fmt


__all__ = ["MAX_SECONDS", "TARGET_RATE", "AudioClip", "load_audio", "probe_audio", "resample"]
