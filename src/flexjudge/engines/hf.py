"""The Hugging Face transformers engine, for Qwen2.5-VL-family checkpoints, Qwen2.5-Omni (its
thinker: text out, from a thinker-only or a full checkpoint) and text-only causal LMs.

The processor side (chat template, tokenizer, media loading) is :class:`~.hf_chat.HFChat`,
loaded at construction; weights load on the first :meth:`generate`, so ``--show-prompt`` never
touches them, and a checkpoint whose weights fail to load fails once: later calls repeat the
same error at once instead of loading again. Generation stops per row once the stop strings
have appeared the required number of times after the last ``</think>`` (e.g. after the second
``</answer>`` of a pairwise judgement) or at EOS.

Two schedules, one contract (``params.n`` completions per request, stop rules, one seeded
generator per call):

* **refill** (text-only calls): every (request, vote) is a row of one KV cache
  (:class:`RefillBatch`). A row that stops leaves the batch at once, and rows still queued are
  prefilled into the free slots, so no step is spent on finished rows and, when a call holds
  more rows than :attr:`TransformersEngine.max_batch_rows`, the batch stays full while outputs
  end at different lengths. Measured against the static schedule and one-by-one in
  ``benchmarks/bench_engine.py`` (BENCHMARKS.md).
* **static** (calls with images, video or audio, and engines that build their own inputs):
  one ``model.generate`` over the left-padded batch, the votes from ``num_return_sequences``;
  every row waits for the longest.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import (
    DynamicCache,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

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

    #: Rows (request x vote) that decode at once on the refill schedule; ``None``: every row
    #: of a call. With fewer, a call of many requests keeps this many rows busy, refilling
    #: slots as rows stop (set it on the instance: ``judge.base_engine.max_batch_rows = 32``).
    max_batch_rows: int | None = None

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
        _ = self.model  # a weights failure surfaces before any media work
        if self._refills(requests):
            return self._generate_refill(requests, params)
        return self._generate_static(requests, params)

    def _generate_static(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        model = self.model
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

    def _refills(self, requests: Sequence[ChatRequest]) -> bool:
        """Whether a call takes the refill schedule: text-only requests, through this class's
        own processor batch (an engine that builds other inputs, such as Mol-LLaMA's
        molecule graphs, keeps the static one)."""
        standard = type(self)._inputs is TransformersEngine._inputs
        return standard and not any(r.modalities() for r in requests)

    def _generate_refill(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        enc = self._inputs(requests)
        prompts = [
            ids[m.bool()].tolist() for ids, m in zip(enc["input_ids"], enc["attention_mask"])
        ]
        eos = self.chat.eos_ids(self.model.generation_config)
        queue = deque((i, k) for i in range(len(requests)) for k in range(params.n))
        width = max(1, self.max_batch_rows or len(queue))
        batch = RefillBatch(self.model, self.tokenizer.pad_token_id, self.device, sampler(params))
        done: dict[tuple[int, int], list[int]] = {}
        if params.seed is not None:
            torch.manual_seed(params.seed)
        try:
            with torch.inference_mode():
                while queue or batch.rows:
                    free = width - len(batch.rows)
                    # Prefill in groups (a quarter of the width), not one row at a time.
                    if queue and (free >= min(len(queue), max(1, width // 4)) or not batch.rows):
                        keys = [queue.popleft() for _ in range(min(free, len(queue)))]
                        stops = [StopCounter(self.tokenizer, params) for _ in keys]
                        batch.admit(keys, [prompts[i] for i, _ in keys], stops)
                    else:
                        batch.step()
                    done.update(batch.finish(eos, params.max_new_tokens))
        except Exception as exc:
            raise EngineError(f"generate failed: {first_line(exc)}") from exc
        return [
            [self._completion(done[(i, k)], eos, params) for k in range(params.n)]
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


_NO_IDS: Any = torch.empty(0, dtype=torch.long)


def sampler(params: SamplingParams) -> Callable[[torch.Tensor], torch.Tensor]:
    """Next tokens ``[rows, 1]`` from last-position logits, as ``generate`` samples them:
    temperature, then top-p (no top-k); greedy at temperature 0."""
    if params.temperature <= 0:
        return lambda logits: logits.argmax(-1, keepdim=True)
    warp = LogitsProcessorList(
        [TemperatureLogitsWarper(params.temperature), TopPLogitsWarper(params.top_p)]
    )

    def sample(logits: torch.Tensor) -> torch.Tensor:
        scores = warp(_NO_IDS, logits.float())  # these warpers never read the ids
        return torch.multinomial(torch.softmax(scores, dim=-1), 1)

    return sample


@dataclass
class _Row:
    key: tuple[int, int]
    stop: StopCounter
    ids: list[int] = field(default_factory=list)


class RefillBatch:
    """Rows decoding together over one :class:`~transformers.DynamicCache`, left-aligned by
    padding: a row admitted later is prefilled on its own and joined to the cache (the
    shorter side padded on the left, masked out), a stopped row is cut out, and columns that
    only padding still uses are trimmed. Each row's positions count its own tokens, so a row
    sees exactly what it would see alone."""

    def __init__(
        self,
        model: Any,
        pad_id: int,
        device: torch.device,
        sample: Callable[[torch.Tensor], torch.Tensor],
    ) -> None:
        self.model, self.pad, self.device, self.sample = model, pad_id, device, sample
        self.rows: list[_Row] = []
        self.cache: Any = None  # a DynamicCache of full-attention layers (keys, values)
        self.mask = self.last = self.pos = torch.empty(0, dtype=torch.long)
        self._fresh: list[int] = []  # rows that got a token in the last call

    def admit(
        self, keys: list[tuple[int, int]], prompts: list[list[int]], stops: list[StopCounter]
    ) -> None:
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for r, p in enumerate(prompts):
            ids[r, width - len(p) :] = torch.tensor(p)
            mask[r, width - len(p) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        cache = DynamicCache()
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        first = self.sample(out.logits[:, -1])
        self._join(cache, mask)
        self.last = torch.cat([self.last.to(self.device), first])
        self.pos = torch.cat([self.pos.to(self.device), mask.sum(-1)])
        self._fresh = list(range(len(self.rows), len(self.rows) + len(keys)))
        self.rows += [_Row(key, stop) for key, stop in zip(keys, stops)]

    def step(self) -> None:
        """One token for every row."""
        self.mask = torch.cat([self.mask, self.mask.new_ones(len(self.rows), 1)], dim=1)
        out = self.model(
            input_ids=self.last,
            attention_mask=self.mask,
            position_ids=self.pos[:, None],
            cache=self.cache,
            use_cache=True,
        )
        self.last = self.sample(out.logits[:, -1])
        self.pos = self.pos + 1
        self._fresh = list(range(len(self.rows)))

    def finish(self, eos: list[int], limit: int) -> dict[tuple[int, int], list[int]]:
        """Record the new tokens; cut out and return the rows that stopped (EOS, the stop
        strings, or ``limit`` tokens)."""
        ended: dict[tuple[int, int], list[int]] = {}
        keep = []
        tokens = self.last[:, 0].tolist()
        last: Any = self.last
        fresh = set(self._fresh)
        for r, row in enumerate(self.rows):
            if r in fresh:
                row.ids.append(tokens[r])
                stopped = row.stop.stops != () and bool(row.stop(last[r : r + 1], _NO_IDS)[0])
                if tokens[r] in eos or stopped or len(row.ids) >= limit:
                    ended[row.key] = row.ids
                    continue
            keep.append(r)
        if len(keep) < len(self.rows):
            self._select(keep)
        return ended

    def _select(self, keep: list[int]) -> None:
        self.rows = [self.rows[r] for r in keep]
        if not keep:
            self.cache, self.mask = None, torch.empty(0, dtype=torch.long)
            self.last = self.pos = torch.empty(0, dtype=torch.long)
            return
        idx = torch.tensor(keep, dtype=torch.long, device=self.device)
        assert self.cache is not None
        self.cache.batch_select_indices(idx)
        self.mask, self.last, self.pos = self.mask[idx], self.last[idx], self.pos[idx]
        used = int(torch.nonzero(self.mask.sum(0))[0])  # the first column a row still uses
        if used:
            self.mask = self.mask[:, used:]
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, used:], layer.values[:, :, used:]

    def _join(self, cache: Any, mask: torch.Tensor) -> None:
        if self.cache is None:
            self.cache, self.mask = cache, mask
            return
        have, new = self.mask.shape[1], mask.shape[1]
        width = max(have, new)

        def left(x: torch.Tensor, by: int) -> torch.Tensor:  # pad the sequence axis (-2)
            return torch.cat([x.new_zeros(*x.shape[:-2], by, x.shape[-1]), x], dim=-2) if by else x

        for mine, theirs in zip(self.cache.layers, cache.layers):
            mine.keys = torch.cat([left(mine.keys, width - have), left(theirs.keys, width - new)])
            mine.values = torch.cat(
                [left(mine.values, width - have), left(theirs.values, width - new)]
            )
        pad = torch.nn.functional.pad
        self.mask = torch.cat([pad(self.mask, (width - have, 0)), pad(mask, (width - new, 0))])


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
