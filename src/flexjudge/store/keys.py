"""Cache keys: a sha256 over everything that determines an engine's completions.

Rules:

* A key covers the engine identity (:func:`engine_identity`), the chat request (every text
  part, a content hash of every media part, the assistant prefix), the sampling parameters
  (n, temperature, top_p, max_new_tokens, seed, stop, stop_count, stop_after) and
  :data:`KEY_VERSION`.
* The key is the sha256 of the canonical JSON of that description (:func:`describe`); the
  store keeps the JSON next to the key so that any key can be checked and explained.
* Media are hashed by content, never by name: a path hashes the file's bytes, a PIL image its
  mode, size and pixels, an array its dtype, shape and bytes. The same picture saved under two
  names is one key; the same name holding a new picture is a new key.
* A molecule part (a molecule an engine reads natively) holds a canonical SMILES and is
  hashed as that molecule (``smiles:`` + the SMILES' sha256), never looked up as a file.
* For engines that load weights themselves (:data:`LOCAL_WEIGHT_ENGINES`), a local checkpoint
  folder is identified by a content fingerprint (:func:`folder_fingerprint`), not by its path,
  so a copied or moved folder keeps its cache; a hub id found in the local Hugging Face cache
  by its snapshot commit. Any other model (and any model behind a server, e.g. the openai
  engine, whose details carry the server URL) by its id and revision.
* The device is left out (a run resumed on another GPU reuses the cache); the dtype and the
  other engine details are in.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.engines.base import ChatRequest, Engine, Part, SamplingParams
from flexjudge.errors import ConfigError, MediaError, ModelLoadError
from flexjudge.media.digest import media_digest

#: Bump when the meaning of a key changes without its inputs changing (e.g. a change in how an
#: engine renders or decodes): every old entry then misses instead of answering wrongly.
#: 2: stop strings counted after the last ``stop_after`` (``</think>``), which is in the key,
#: and the transformers engine's refill schedule for text: completions of version-1 keys were
#: cut and sampled differently, so they no longer answer.
KEY_VERSION = 2

#: Files up to this size are hashed whole; larger ones by size, safetensors header and samples.
FULL_HASH_LIMIT = 64 * 1024 * 1024
#: Evenly spaced chunks read from a large weights file, and their size.
SAMPLES, SAMPLE_SIZE = 32, 64 * 1024

#: Engines whose model is a folder or hub id they load themselves (see the module rules).
LOCAL_WEIGHT_ENGINES = frozenset({"transformers", "vllm"})
#: Engine details that do not change completions.
_IGNORED_DETAILS = frozenset({"device"})
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
#: Non-weight files that shape the prompt or the decoding (config, tokenizer, template).
_SHAPING_WORDS = ("config", "token", "vocab", "merges", "chat_template", "index")
_SHAPING_SUFFIXES = (".json", ".jinja", ".txt", ".model", ".tiktoken")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- engines ---------------------------------------------------------------------------------
def engine_identity(engine: Engine) -> dict[str, Any]:
    """What identifies ``engine``'s outputs (see the module rules)."""
    info = engine.info
    details = {k: v for k, v in sorted(info.details.items()) if k not in _IGNORED_DETAILS}
    revision = details.pop("revision", None)
    ident: dict[str, Any] = {"engine": info.engine, "details": _jsonable(details)}
    model = info.model
    local = info.engine in LOCAL_WEIGHT_ENGINES
    if local and model and Path(model).is_dir():
        ident["model"] = {"folder": folder_fingerprint(Path(model))}
    elif local and model and (commit := _hub_commit(model, revision)):
        ident["model"] = {"hub": model, "commit": commit}
    else:
        ident["model"] = {"id": model, "revision": revision}
    return ident


def _hub_commit(model: str, revision: Any) -> str | None:
    """The snapshot commit of a hub id in the local Hugging Face cache, if it is there."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(model, "config.json", revision=revision)
    except Exception:  # a malformed id is just "not in the cache" here
        return None
    if not isinstance(found, str):
        return None
    parent = Path(found).parent
    return parent.name if parent.parent.name == "snapshots" else None


def folder_fingerprint(folder: Path) -> str:
    """A content hash of a checkpoint folder: weights, config, tokenizer and chat template.

    Files up to :data:`FULL_HASH_LIMIT` are hashed whole. A larger file is hashed by its size,
    its safetensors header (tensor names, dtypes, shapes, offsets) and :data:`SAMPLES` chunks
    spread over the data: cheap (a few MiB read per file) and stable under copying. Limit: an
    in-place edit of a large file that keeps its size and misses every sampled chunk would keep
    the key; write changed weights to a new folder (or pass a new ``--store``).
    """
    h = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not _shapes_outputs(path.name):
            continue
        size = path.stat().st_size
        h.update(f"{path.name}\0{size}\0".encode())
        with path.open("rb") as fh:
            if size <= FULL_HASH_LIMIT:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
                continue
            if path.suffix == ".safetensors":
                h.update(_safetensors_header(fh, path))
            span = max(0, size - SAMPLE_SIZE)  # the first chunk starts the file, the last ends it
            for k in range(SAMPLES):
                fh.seek(k * span // (SAMPLES - 1))
                h.update(fh.read(SAMPLE_SIZE))
    return h.hexdigest()


def _shapes_outputs(name: str) -> bool:
    if name.startswith("."):
        return False
    if name.endswith(_WEIGHT_SUFFIXES):
        return True
    return name.endswith(_SHAPING_SUFFIXES) and any(w in name for w in _SHAPING_WORDS)


def _safetensors_header(fh: Any, path: Path) -> bytes:
    raw = fh.read(8)
    length = int.from_bytes(raw, "little") if len(raw) == 8 else -1
    if not 0 < length <= 100 * 1024 * 1024:
        raise ModelLoadError(f"{str(path)!r} is not a safetensors file (bad header length)")
    return raw + fh.read(length)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# -- media -----------------------------------------------------------------------------------
class MediaHasher:
    """The store's view of :func:`flexjudge.media.media_digest` (one set of content rules for
    the whole project), memoised per file (path, size, mtime) so that an image shared by many
    requests, or by both orders of a swap, is read once. URLs are named, not fetched;
    containers (an ``(array, rate)`` audio pair, dicts) are hashed item by item, type-tagged."""

    def __init__(self) -> None:
        self._files: dict[tuple[Any, ...], str] = {}

    def __call__(self, media: Any) -> str:
        if isinstance(media, (str, os.PathLike)):
            return self._file(media)
        h = hashlib.sha256()
        _feed(h, media, self)
        return h.hexdigest()

    @staticmethod
    def molecule(smiles: Any) -> str:
        """A molecule part's key: its canonical SMILES (the prompt builder canonicalised it)."""
        if not isinstance(smiles, str) or not smiles:
            raise MediaError(f"a molecule part must hold a SMILES string, got {smiles!r:.60}")
        return "smiles:" + digest(smiles)

    def _file(self, media: str | os.PathLike[str]) -> str:
        text = os.fspath(media)
        if isinstance(text, str) and text.startswith(("http://", "https://", "data:")):
            # The engine fetches it; the key can only name it (the content may change).
            return "url:" + digest(text)
        path = Path(text)
        try:
            st = path.stat()
        except OSError:
            raise MediaError(f"media file {str(path)!r} does not exist") from None
        memo: tuple[Any, ...] = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if path.is_dir():  # a frame folder: rewriting a frame leaves the folder's stat as it was
            memo += tuple(
                sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(path))
            )
        if memo not in self._files:
            # A file's bytes, or a frame folder's frames in load order (media_digest's rules).
            self._files[memo] = "file:" + media_digest(path, kind="file")
        return self._files[memo]


def _feed(h: Any, media: Any, hasher: MediaHasher) -> None:
    """Hash one media value into ``h``, type-tagged so that different types never collide:
    paths through the memo, leaves (images, arrays, clips) by :func:`media_digest`, containers
    item by item."""
    if isinstance(media, (str, os.PathLike)):
        h.update(b"P" + hasher(media).encode())
        return
    if isinstance(media, (bytes, bytearray, memoryview)):
        h.update(b"B" + bytes(media))
        return
    if isinstance(media, dict):
        h.update(b"D")
        for k in sorted(media, key=str):
            h.update(str(k).encode() + b"\0")
            _feed(h, media[k], hasher)
        return
    if isinstance(media, (list, tuple)):
        h.update(f"L{len(media)}".encode())
        for item in media:
            _feed(h, item, hasher)
        return
    if media is None or isinstance(media, (int, float, bool)):
        h.update(b"S" + repr(media).encode())
        return
    if hasattr(media, "__array__") and not isinstance(media, np.ndarray):
        media = np.asarray(media)  # array-likes (torch tensors...) by their values
    try:
        leaf = media_digest(media)
    except (MediaError, ConfigError):
        raise MediaError(
            f"cannot hash media of type {type(media).__name__} for the result store: "
            "pass a path, a PIL image, an array, a clip or bytes"
        ) from None
    h.update(f"M{type(media).__name__}:{leaf}".encode())


# -- requests --------------------------------------------------------------------------------
def describe(
    request: ChatRequest, params: SamplingParams, engine: dict[str, Any], media: MediaHasher
) -> dict[str, Any]:
    """The canonical description of one generation; its hash is the cache key."""
    return {
        "key_version": KEY_VERSION,
        "engine": engine,
        "messages": [
            {
                "role": m.role,
                "parts": [_part_record(p, media) for p in m.parts],
            }
            for m in request.messages
        ],
        "assistant_prefix": request.assistant_prefix,
        "params": params_record(params),
    }


def _part_record(part: Part, media: MediaHasher) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "text": part.text}
    if part.type == "molecule":
        return {"type": "molecule", "sha256": media.molecule(part.media)}
    return {"type": part.type, "sha256": media(part.media)}


def params_record(params: SamplingParams) -> dict[str, Any]:
    return {
        "n": params.n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_new_tokens": params.max_new_tokens,
        "seed": params.seed,
        "stop": list(params.stop),
        "stop_count": params.stop_count,
        "stop_after": params.stop_after,
    }


def keyed(descriptions: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(key, canonical JSON)`` for each description."""
    out = []
    for d in descriptions:
        text = canonical_json(d)
        out.append((digest(text), text))
    return out
