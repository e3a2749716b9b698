"""The Hugging Face transformers engine, for Qwen2.5-VL-family checkpoints, Qwen2.5-Omni (its
thinker: text out, from a thinker-only or a full checkpoint) and text-only causal LMs.

The processor side (chat template, tokenizer, media loading) is :class:`~.hf_chat.HFChat`,
loaded at construction; weights load on the first :meth:`generate`, so ``--show-prompt`` never
touches them, and a checkpoint whose weights fail to load fails once: later calls repeat the
same error at once instead of loading again. All the votes of a request come from one
``generate`` call (``num_return_sequences``), requests are batched with left padding, and
generation stops per row once the stop strings have appeared the required number of times
after the last ``</think>`` (e.g. after the second ``</answer>`` of a pairwise judgement) or at
EOS.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from flexjudge.engines.base import ChatRequest, Completion, Engine, EngineInfo, SamplingParams
from flexjudge.engines.hf_chat import HFChat, load_hint
from flexjudge.engines.images import load_image
from flexjudge.engines.model_classes import load_model_class
from flexjudge.errors import ConfigError, EngineError, ModelLoadError
from flexjudge.media._common import first_line

log = logging.getLogger(__name__)


class TransformersEngine(Engine):
    """Generate with ``transformers``.

    ``device``: "auto" (CUDA when present), "cpu", "cuda", "cuda:1"...; ``dtype``: "auto"
    (bf16 on a GPU that supports it, float32 on CPU), "float32", "bfloat16" or "float16";
    ``revision``: a hub revision; ``video_preset``: how videos are sampled ("qwen" or
    "official", see :mod:`flexjudge.media.video`)."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        revision: str | None = None,
        video_preset: str = "qwen",
    ) -> None:
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.chat = HFChat(model, revision=revision, video_preset=video_preset)
        self.model_id = self.chat.model_id
        self.revision = revision
        self.modalities = self.chat.modalities
        self.tokenizer = self.chat.tokenizer
        self.processor = self.chat.processor
        self._model: Any = None
        self._load_error: ModelLoadError | None = None

    # -- loading ----------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        if self._load_error is not None:
            raise self._load_error
        if self._model is None:
            try:
                cls = load_model_class(self.chat.config)
                self._model = cls.from_pretrained(
                    self.model_id, revision=self.revision, dtype=self.dtype
                )
            except Exception as exc:
                self._load_error = ModelLoadError(
                    f"cannot load the weights of {self.model_id!r}: {first_line(exc)}. "
                    + load_hint(self.model_id)
                )
                raise self._load_error from exc
            self._model.to(self.device).eval()
        return self._model

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            "transformers",
            self.model_id,
            {
                "revision": self.revision,
                "dtype": str(self.dtype).removeprefix("torch."),
                "device": str(self.device),
            },
        )

    def close(self) -> None:
        self._model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- prompts ----------------------------------------------------------------------------
    def render(self, request: ChatRequest) -> str:
        return self.chat.render(request)

    def check(self, request: ChatRequest) -> None:
        self.chat.check(request)

    # -- generation -------------------------------------------------------------------------
    def _inputs(self, requests: Sequence[ChatRequest]) -> Any:
        """The processor's batch (text, images, videos, audio) for ``requests``."""
        texts: list[str] = []
        images: list[Any] = []
        clips: list[Any] = []
        sounds: list[Any] = []
        for r in requests:
            messages, imgs, vids, auds = self.chat.messages(r)
            texts.append(self.chat.render_messages(messages, r.assistant_prefix))
            images.extend(load_image(i) for i in imgs)
            clips.extend(self.chat.load_videos(vids))
            sounds.extend(self.chat.load_audio(a) for a in auds)
        media_args: dict[str, Any] = {}
        if clips:
            # Frames are already sampled and sized (multiples of 28) by flexjudge.media; the
            # metadata carries the real fps, without which the processor assumes 24 fps.
            media_args = dict(
                videos=[c.frames for c in clips],
                videos_kwargs={
                    "video_metadata": [c.processor_metadata() for c in clips],
                    "do_sample_frames": False,
                    "do_resize": False,
                },
            )
        if sounds:
            # Mono float32 in [-1, 1] at the extractor's rate (flexjudge.media.load_audio).
            media_args.update(audio=[s.samples for s in sounds], sampling_rate=self.chat.audio_rate)
        try:
            # The chat template already writes any BOS (LLaMA-3's <|begin_of_text|>); training
            # sees it once, so judging must not add a second one.
            return self.processor(
                text=texts,
                images=images or None,
                padding=True,
                add_special_tokens=False,
                return_tensors="pt",
                **media_args,
            )
        except Exception as exc:
            raise EngineError(f"the processor rejected the batch: {first_line(exc)}") from exc

    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        if not requests:
            return []
        model = self.model  # a weights failure surfaces before any media work
        inputs = self._inputs(requests).to(self.device)
        prompt_len = inputs["input_ids"].shape[1]
        eos = self.chat.eos_ids(model.generation_config)
        stopper = StopCounter(self.tokenizer, params)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        sample = params.temperature > 0
        gen_kwargs: dict[str, Any] = dict(
            max_new_tokens=params.max_new_tokens,
            num_return_sequences=params.n,
            do_sample=sample,
            eos_token_id=eos,
            pad_token_id=self.tokenizer.pad_token_id,
            stopping_criteria=StoppingCriteriaList([stopper]) if params.stop else None,
        )
        if sample:
            gen_kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        try:
            with torch.inference_mode():
                out = model.generate(**inputs, **gen_kwargs)
        except Exception as exc:
            raise EngineError(f"generate failed: {first_line(exc)}") from exc
        new = out[:, prompt_len:].tolist()
        return [
            [self._completion(new[i * params.n + k], eos, params) for k in range(params.n)]
            for i in range(len(requests))
        ]

    def _completion(self, ids: list[int], eos: list[int], params: SamplingParams) -> Completion:
        pad = self.tokenizer.pad_token_id
        ended = False
        kept: list[int] = []
        for t in ids:
            if t in eos:
                ended = True
                break
            kept.append(t)
        while kept and kept[-1] == pad and pad not in eos:
            kept.pop()
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        text, stopped = params.truncate(text)
        reason = "stop" if stopped else "eos" if ended else "length"
        return Completion(text, reason, len(kept) + (1 if ended else 0))  # type: ignore[arg-type]


class StopCounter(StoppingCriteria):
    """Per-row stop once the stop strings have appeared ``params.stop_count`` times (after the
    last ``params.stop_after``, when set: a later one starts the count again).

    It decodes only each row's newest token and scans a short tail, so its cost per step does
    not grow with the length of the reasoning (stop strings here are ASCII, which byte-level
    BPE never splits across a multi-byte character). Rows are cut exactly by
    :meth:`SamplingParams.truncate` afterwards, so this only has to stop no earlier than that.
    """

    def __init__(self, tokenizer: Any, params: SamplingParams) -> None:
        self.tokenizer = tokenizer
        self.stops = tuple(params.stop)
        self.after = params.stop_after
        self.count = params.stop_count
        marks = (*self.stops, self.after or "")
        self.window = max(len(s) for s in marks) + 16
        self.buffers: list[str] = []
        self.seen: list[int] = []
        self.armed: list[bool] = []

    def _events(self, buf: str, start: int) -> list[tuple[int, bool]]:
        """(end position, is a stop) of each mark ending in ``buf[start:]``, in order."""
        events = []
        for mark, is_stop in [(s, True) for s in self.stops] + [(self.after, False)]:
            if not mark:
                continue
            i = buf.find(mark)
            while i >= 0:
                if i + len(mark) > start:
                    events.append((i + len(mark), is_stop))
                i = buf.find(mark, i + 1)
        return sorted(events)

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        rows = input_ids.shape[0]
        if not self.buffers:
            self.buffers = [""] * rows
            self.seen = [0] * rows
            self.armed = [self.after is None] * rows
        done = []
        for r, tok in enumerate(input_ids[:, -1].tolist()):
            piece = self.tokenizer.decode([tok], skip_special_tokens=False)
            buf = self.buffers[r][-self.window :] + piece
            for _, is_stop in self._events(buf, max(0, len(buf) - len(piece))):
                if not is_stop:
                    self.seen[r], self.armed[r] = 0, True
                elif self.armed[r]:
                    self.seen[r] += 1
            self.buffers[r] = buf
            done.append(self.seen[r] >= self.count)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


def pick_device(device: str) -> torch.device:
    """``device`` as a torch device, or a ConfigError naming what is available."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: no CUDA device is available here; use cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here"
            )
    elif dev.type not in ("cpu", "mps", "xpu"):
        raise ConfigError(f"unsupported device {device!r}: use auto, cpu, cuda or cuda:N")
    return dev


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    value = getattr(torch, dtype, None) if dtype in ("float32", "bfloat16", "float16") else None
    if not isinstance(value, torch.dtype):
        raise ConfigError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    return value
