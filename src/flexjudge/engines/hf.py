"""The Hugging Face transformers engine, for Qwen2.5-VL-family checkpoints, Qwen2.5-Omni (its
thinker: text out, from a thinker-only or a full checkpoint) and text-only causal LMs.

The processor (chat template, tokenizer, image processor) loads at construction; weights load
on the first :meth:`generate`, so ``--show-prompt`` never touches them. All the votes of a
request come from one ``generate`` call (``num_return_sequences``), requests are batched with
left padding, and generation stops per row once the stop strings have appeared the required
number of times (e.g. after the second ``</answer>`` of a pairwise judgement) or at EOS.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from transformers import AutoConfig, AutoProcessor, StoppingCriteria, StoppingCriteriaList

from flexjudge.engines.base import (
    ChatRequest,
    Completion,
    Engine,
    EngineInfo,
    SamplingParams,
    truncate_at_stop,
)
from flexjudge.engines.images import load_image
from flexjudge.engines.model_classes import model_class_for
from flexjudge.errors import EngineError, MediaError, ModelLoadError
from flexjudge.media._common import first_line

log = logging.getLogger(__name__)


def _load_hint(model: str) -> str:
    return (
        f"Pass a local checkpoint folder instead (for an offline test model: "
        f"`flexjudge tiny-model DIR`), or make {model!r} available in the Hugging Face cache "
        f"(HF_HOME) on a machine with hub access."
    )


class TransformersEngine(Engine):
    """Generate with ``transformers``. ``device``: "auto" (CUDA when present), "cpu", "cuda:0"...
    ``dtype``: "auto" (bf16 on a GPU that supports it, float32 on CPU) or a torch dtype name."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        revision: str | None = None,
        video_preset: str = "qwen",
    ) -> None:
        self.model_id = str(model)
        self.video_preset = video_preset
        self.revision = revision
        self.device = _pick_device(device)
        self.dtype = _pick_dtype(dtype, self.device)
        try:
            self.config = AutoConfig.from_pretrained(self.model_id, revision=revision)
        except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load"
            raise ModelLoadError(
                f"cannot load the config of {self.model_id!r}: {first_line(exc)}. "
                + _load_hint(self.model_id)
            ) from exc
        model_type = getattr(self.config, "model_type", "")
        self._class_name, self.modalities = model_class_for(self.config)
        try:
            self.processor = AutoProcessor.from_pretrained(self.model_id, revision=revision)
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load the processor of {self.model_id!r}: {first_line(exc)}. "
                + _load_hint(self.model_id)
            ) from exc
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        if self.modalities and not hasattr(self.processor, "image_processor"):
            raise ModelLoadError(
                f"{self.model_id!r} is a {model_type} checkpoint but its folder has no image "
                "processor files (preprocessor_config.json); copy them from the base model, "
                "e.g. Qwen/Qwen2.5-VL-7B-Instruct, or save the processor next to the weights."
            )
        if "audio" in self.modalities and not hasattr(self.processor, "feature_extractor"):
            raise ModelLoadError(
                f"{self.model_id!r} is a {model_type} checkpoint but its processor has no audio "
                "feature extractor; save the base model's processor (e.g. Qwen/Qwen2.5-Omni-7B) "
                "next to the weights."
            )
        if (
            getattr(self.tokenizer, "chat_template", None) is None
            and getattr(self.processor, "chat_template", None) is None
        ):
            raise ModelLoadError(
                f"{self.model_id!r} has no chat template; save the base model's processor "
                "(chat_template.json) next to the weights."
            )
        self.tokenizer.padding_side = "left"
        self._model: Any = None

    # -- loading ----------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        if self._model is None:
            import transformers

            cls = getattr(transformers, self._class_name)
            try:
                self._model = cls.from_pretrained(
                    self.model_id, revision=self.revision, dtype=self.dtype
                )
            except Exception as exc:
                raise ModelLoadError(
                    f"cannot load the weights of {self.model_id!r}: {first_line(exc)}. "
                    + _load_hint(self.model_id)
                ) from exc
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
    def _messages(
        self, request: ChatRequest
    ) -> tuple[list[dict[str, Any]], list[Any], list[Any], list[Any]]:
        """Chat-template messages, and the images, videos and audios in placeholder order."""
        messages: list[dict[str, Any]] = []
        images: list[Any] = []
        videos: list[Any] = []
        audios: list[Any] = []
        for m in request.messages:
            content: list[dict[str, Any]] = []
            for p in m.parts:
                if p.type == "text":
                    content.append({"type": "text", "text": p.text})
                elif p.type in ("image", "video"):
                    content.append({"type": p.type})
                    (images if p.type == "image" else videos).append(p.media)
                elif p.type == "audio" and "audio" in self.modalities:
                    content.append({"type": "audio"})
                    audios.append(p.media)
                else:
                    raise MediaError(
                        f"{p.type} input is not supported by the transformers "
                        f"engine for {self.model_id!r} yet"
                    )
            messages.append({"role": m.role, "content": content})
        return messages, images, videos, audios

    def render(self, request: ChatRequest) -> str:
        return self._render(self._messages(request)[0], request.assistant_prefix)

    def _render(self, messages: list[dict[str, Any]], prefix: str) -> str:
        text = self.processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return str(text) + prefix

    def check(self, request: ChatRequest) -> None:
        """Fail early, naming the file, when a request's media cannot be used."""
        for kind in request.modalities():
            if kind not in self.modalities:
                raise MediaError(
                    f"{self.model_id!r} cannot take {kind} input "
                    f"(it takes: text{''.join(', ' + m for m in sorted(self.modalities))})"
                )
        for m in request.messages:
            for p in m.parts:
                if p.type == "image":
                    load_image(p.media)
                elif p.type == "video":
                    from flexjudge.media import probe_video

                    probe_video(p.media)
                elif p.type == "audio":
                    self._check_audio_length(p.media)

    def _audio_limit(self) -> float:
        """Longest clip the feature extractor takes whole (Whisper's 30 s window); a longer one
        would be cut silently, so it is refused instead."""
        fe = self.processor.feature_extractor
        return float(fe.n_samples) / float(fe.sampling_rate)

    def _check_audio_length(self, media: Any) -> None:
        from flexjudge.media import AudioClip, load_audio, probe_audio

        limit = self._audio_limit()
        if isinstance(media, AudioClip) or isinstance(media, tuple):
            clip = load_audio(
                media, target_rate=int(self.processor.feature_extractor.sampling_rate)
            )
            duration, name = clip.duration, clip.source or "in-memory audio clip"
        else:
            duration, _, _ = probe_audio(media)
            name = str(media)
        if duration > limit:
            raise MediaError(
                f"audio {name!r} lasts {duration:.1f} s, longer than the "
                f"{limit:g} s that {self.model_id!r}'s feature extractor takes "
                "(it would be truncated); cut it into shorter clips"
            )

    def _load_audio(self, media: Any) -> Any:
        from flexjudge.media import load_audio

        self._check_audio_length(media)
        return load_audio(media, target_rate=int(self.processor.feature_extractor.sampling_rate))

    # -- generation -------------------------------------------------------------------------
    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        if not requests:
            return []
        texts, images, clips, sounds = [], [], [], []
        for r in requests:
            messages, imgs, vids, auds = self._messages(r)
            texts.append(self._render(messages, r.assistant_prefix))
            images.extend(load_image(i) for i in imgs)
            if vids:
                from flexjudge.media import load_video

                clips.extend(load_video(v, preset=self.video_preset) for v in vids)
            sounds.extend(self._load_audio(a) for a in auds)
        video_args: dict[str, Any] = {}
        if clips:
            # Frames are already sampled and sized (multiples of 28) by flexjudge.media; the
            # metadata carries the real fps, without which the processor assumes 24 fps.
            video_args = dict(
                videos=[c.frames for c in clips],
                videos_kwargs={
                    "video_metadata": [c.processor_metadata() for c in clips],
                    "do_sample_frames": False,
                    "do_resize": False,
                },
            )
        if sounds:
            # Mono float32 in [-1, 1] at the extractor's rate (flexjudge.media.load_audio).
            video_args.update(
                audio=[s.samples for s in sounds],
                sampling_rate=int(self.processor.feature_extractor.sampling_rate),
            )
        try:
            # The chat template already writes any BOS (LLaMA-3's <|begin_of_text|>); training
            # sees it once, so judging must not add a second one.
            inputs = self.processor(
                text=texts,
                images=images or None,
                padding=True,
                add_special_tokens=False,
                return_tensors="pt",
                **video_args,
            )
        except Exception as exc:
            raise EngineError(f"the processor rejected the batch: {first_line(exc)}") from exc
        inputs = inputs.to(self.device)
        prompt_len = inputs["input_ids"].shape[1]
        eos = _eos_ids(self.model.generation_config, self.tokenizer)
        stopper = _StopCounter(self.tokenizer, params.stop, params.stop_count)
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
                out = self.model.generate(**inputs, **gen_kwargs)
        except Exception as exc:
            raise EngineError(f"generate failed: {first_line(exc)}") from exc
        new = out[:, prompt_len:].tolist()
        results: list[list[Completion]] = []
        for i in range(len(requests)):
            row = []
            for k in range(params.n):
                row.append(self._completion(new[i * params.n + k], eos, params))
            results.append(row)
        return results

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
        text, stopped = truncate_at_stop(text, params.stop, params.stop_count)
        reason = "stop" if stopped else "eos" if ended else "length"
        return Completion(text, reason, len(kept) + (1 if ended else 0))  # type: ignore[arg-type]


class _StopCounter(StoppingCriteria):
    """Per-row stop once the stop strings have appeared ``count`` times.

    It decodes only each row's newest token and scans a short tail, so its cost per step does
    not grow with the length of the reasoning (stop strings here are ASCII, which byte-level
    BPE never splits across a multi-byte character).
    """

    def __init__(self, tokenizer: Any, stops: Sequence[str], count: int) -> None:
        self.tokenizer = tokenizer
        self.stops = tuple(stops)
        self.count = count
        self.window = max((len(s) for s in self.stops), default=1) + 16
        self.buffers: list[str] = []
        self.seen: list[int] = []

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        rows = input_ids.shape[0]
        if not self.buffers:
            self.buffers = [""] * rows
            self.seen = [0] * rows
        done = []
        for r, tok in enumerate(input_ids[:, -1].tolist()):
            prev = self.buffers[r]
            piece = self.tokenizer.decode([tok], skip_special_tokens=False)
            buf = prev[-self.window :] + piece
            # count occurrences that end inside the new piece only
            start = max(0, len(buf) - len(piece))
            for s in self.stops:
                i = buf.find(s)
                while i >= 0:
                    if i + len(s) > start:
                        self.seen[r] += 1
                    i = buf.find(s, i + 1)
            self.buffers[r] = buf
            done.append(self.seen[r] >= self.count)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


def _eos_ids(gen_config: Any, tokenizer: Any) -> list[int]:
    eos = getattr(gen_config, "eos_token_id", None)
    ids = list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end >= 0 and im_end != tokenizer.unk_token_id:
        ids.append(im_end)
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted(set(ids))


def _pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        value = getattr(torch, dtype)
    except AttributeError:
        raise EngineError(
            f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16"
        ) from None
    if not isinstance(value, torch.dtype):
        raise EngineError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    return value
