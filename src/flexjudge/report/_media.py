"""Media for the report page: small previews embedded as data URIs, or relative links.

Each medium becomes a JSON reference the page script draws:

* images: a JPEG thumbnail (Pillow) at most ``thumb_px`` on its longer side;
* videos: a strip of up to four keyframes from :func:`flexjudge.media.load_video` (sampled
  by time over the clip), with their times;
* audio: an ``<audio>`` player over the file's own bytes when the file is small, else a
  relative link to it (duration and rate from :func:`flexjudge.media.probe_audio`);
* molecules: the RDKit depiction from :func:`flexjudge.media.render_molecule` and the
  canonical SMILES.

Embedded bytes share one budget (``budget_bytes``): once it is spent, media become relative
links (``href``, relative to the page's folder) and molecules their SMILES only. A medium that
cannot be read is shown with its problem, never dropped silently. Identical sources are
embedded once.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["MediaEmbedder"]

_AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
}
_KINDS = {"images": "image", "videos": "video", "audios": "audio", "molecules": "molecule"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class MediaEmbedder:
    """Turns request media into page references; ``data`` holds the embedded data URIs."""

    def __init__(
        self,
        page_dir: Path,
        *,
        budget_bytes: int = 25 * 1024**2,
        thumb_px: int = 192,
        audio_max_bytes: int = 512 * 1024,
    ) -> None:
        self.page_dir = page_dir.resolve()
        self.budget = budget_bytes
        self.thumb_px = thumb_px
        self.audio_max = audio_max_bytes
        self.data: dict[str, str] = {}
        self.used = 0
        self.problems = 0
        self.linked = 0
        self._seen: dict[tuple[str, str, bool], dict[str, Any]] = {}

    def refs(self, field: str, sources: Any, *, embed: bool = True) -> list[dict[str, Any]]:
        """References for one media list of a request (``field``: images, videos, audios or
        molecules)."""
        kind = _KINDS[field]
        return [self.ref(kind, s, embed=embed) for s in sources or []]

    def ref(self, kind: str, source: Any, *, embed: bool = True) -> dict[str, Any]:
        key = (kind, str(source), embed and self.used < self.budget)
        if key not in self._seen:
            self._seen[key] = self._make(kind, source, embed)
        return self._seen[key]

    def _make(self, kind: str, source: Any, embed: bool) -> dict[str, Any]:
        ref: dict[str, Any] = {"kind": kind, "name": str(source)[-120:]}
        if not isinstance(source, str) or (kind != "molecule" and source.startswith("<")):
            self.problems += 1
            return {**ref, "problem": f"not a file path: {str(source)[:120]}"}
        path = Path(source)
        if kind != "molecule" and not path.exists():
            self.problems += 1
            return {**ref, "problem": f"{kind} file is missing: {source}"}
        try:
            if kind == "audio":
                return {**ref, **self._audio(path, embed)}
            if not embed or self.used >= self.budget:
                if kind == "molecule":
                    return {**ref, "caption": source}
                self.linked += 1
                return {**ref, "href": self._href(path)}
            return {**ref, **getattr(self, f"_{kind}")(source)}
        except Exception as exc:  # one unreadable medium must not lose the whole report
            self.problems += 1
            return {**ref, "problem": f"{kind} {source!r} cannot be shown: {_first_line(exc)}"}

    def _href(self, path: Path) -> str:
        rel = os.path.relpath(path.resolve(), self.page_dir)
        return quote(Path(rel).as_posix())

    def _store(self, uri: str) -> str:
        key = f"m{len(self.data)}"
        self.data[key] = uri
        self.used += len(uri)
        return key

    def _jpeg(self, image: Any, frames: int = 1) -> str:
        image = image.convert("RGB")
        image.thumbnail((self.thumb_px * frames, self.thumb_px))
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=80)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    def _image(self, source: str) -> dict[str, Any]:
        from PIL import Image

        with Image.open(source) as im:
            size = im.size
            uri = self._jpeg(im)
        return {"key": self._store(uri), "caption": f"{size[0]}x{size[1]}"}

    def _video(self, source: str) -> dict[str, Any]:
        import numpy as np
        from PIL import Image

        clip = load_keyframes(source, self.thumb_px)
        strip = Image.fromarray(np.concatenate(list(clip.frames), axis=1))
        times = ", ".join(f"{t:.1f}" for t in clip.timestamps)
        return {
            "key": self._store(self._jpeg(strip, clip.num_frames)),
            "caption": f"keyframes at {times} s of {clip.duration:.1f} s",
        }

    def _audio(self, path: Path, embed: bool) -> dict[str, Any]:
        from flexjudge.media import probe_audio

        duration, rate, channels = probe_audio(path)
        out: dict[str, Any] = {"caption": f"{duration:.1f} s, {rate} Hz, {channels} ch"}
        size = path.stat().st_size
        mime = _AUDIO_TYPES.get(path.suffix.lower())
        if embed and mime and size <= self.audio_max and self.used + size * 4 // 3 <= self.budget:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            out["key"] = self._store(f"data:{mime};base64,{data}")
        else:
            self.linked += 1
            out["href"] = self._href(path)
        return out

    def _molecule(self, source: str) -> dict[str, Any]:
        from flexjudge.media import canonical_smiles, render_molecule

        view = render_molecule(source, mode="image", size=(240, 180))
        buf = io.BytesIO()
        view.image.save(buf, format="PNG")
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        return {"key": self._store(uri), "caption": canonical_smiles(source)}


def load_keyframes(source: str, px: int) -> Any:
    """Up to four frames spread evenly over the clip (the loader's frame cap spreads a dense
    time grid), each at most about ``px`` x ``px``."""
    from flexjudge.media import PATCH_FACTOR, load_video

    return load_video(
        source,
        fps=8.0,
        max_frames=4,
        max_pixels=max(px * px, PATCH_FACTOR**2),
        min_pixels=PATCH_FACTOR**2,
    )
