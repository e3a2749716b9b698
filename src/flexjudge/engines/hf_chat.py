"""A checkpoint's chat plumbing without its weights: config, processor, chat template, media
loading and the end-of-turn ids. Shared by the transformers and the vLLM engine, so that both
render exactly the same prompt and feed exactly the same media, and ``--show-prompt`` never
loads weights."""

from __future__ import annotations

from typing import Any

from flexjudge.engines.base import ChatRequest
from flexjudge.engines.images import load_image
from flexjudge.engines.model_classes import model_class_for
from flexjudge.errors import MediaError, ModelLoadError
from flexjudge.media._common import first_line


def load_hint(model: str) -> str:
    return (
        f"Pass a local checkpoint folder instead (for an offline test model: "
        f"`flexjudge tiny-model DIR`), or make {model!r} available in the Hugging Face cache "
        f"(HF_HOME) on a machine with hub access."
    )


class HFChat:
    """The processor side of a checkpoint (module doc). Raises
    :class:`~flexjudge.errors.ModelLoadError` naming what is missing and what to do."""

    def __init__(
        self, model: str, *, revision: str | None = None, video_preset: str = "qwen"
    ) -> None:
        from transformers import AutoConfig, AutoProcessor

        self.model_id = str(model)
        self.revision = revision
        self.video_preset = video_preset
        try:
            self.config = AutoConfig.from_pretrained(self.model_id, revision=revision)
        except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load"
            raise ModelLoadError(
                f"cannot load the config of {self.model_id!r}: {first_line(exc)}. "
                + load_hint(self.model_id)
            ) from exc
        model_type = getattr(self.config, "model_type", "")
        self.class_name, self.modalities = model_class_for(self.config)
        try:
            self.processor = AutoProcessor.from_pretrained(self.model_id, revision=revision)
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load the processor of {self.model_id!r}: {first_line(exc)}. "
                + load_hint(self.model_id)
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

    # -- prompts ----------------------------------------------------------------------------
    def messages(
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
                        f"{p.type} input is not supported for {self.model_id!r} (it takes: "
                        f"{', '.join(['text', *sorted(self.modalities)])})"
                    )
            messages.append({"role": m.role, "content": content})
        return messages, images, videos, audios

    def render_messages(self, messages: list[dict[str, Any]], prefix: str) -> str:
        text = self.processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return str(text) + prefix

    def render(self, request: ChatRequest) -> str:
        """The exact prompt text the model sees."""
        return self.render_messages(self.messages(request)[0], request.assistant_prefix)

    # -- media ------------------------------------------------------------------------------
    def check(self, request: ChatRequest) -> None:
        """Fail early, naming the file, when a request's media cannot be used."""
        for kind in sorted(request.modalities()):
            if kind not in self.modalities:
                raise MediaError(
                    f"{self.model_id!r} cannot take {kind} input (it takes: "
                    f"{', '.join(['text', *sorted(self.modalities)])})"
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

    @property
    def audio_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    def _audio_limit(self) -> float:
        """Longest clip the feature extractor takes whole (Whisper's 30 s window); a longer one
        would be cut silently, so it is refused instead."""
        fe = self.processor.feature_extractor
        return float(fe.n_samples) / float(fe.sampling_rate)

    def _check_audio_length(self, media: Any) -> None:
        from flexjudge.media import AudioClip, load_audio, probe_audio

        limit = self._audio_limit()
        if isinstance(media, (AudioClip, tuple)):
            clip = load_audio(media, target_rate=self.audio_rate)
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

    def load_audio(self, media: Any) -> Any:
        from flexjudge.media import load_audio

        self._check_audio_length(media)
        return load_audio(media, target_rate=self.audio_rate)

    def load_videos(self, videos: list[Any]) -> list[Any]:
        from flexjudge.media import load_video

        return [load_video(v, preset=self.video_preset) for v in videos]

    # -- decoding ---------------------------------------------------------------------------
    def eos_ids(self, generation_config: Any) -> list[int]:
        """End-of-turn ids: the generation config's, ``<|im_end|>`` where the vocabulary has
        it, and the tokenizer's EOS."""
        eos = getattr(generation_config, "eos_token_id", None)
        ids = list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []
        tok = self.tokenizer
        im_end = tok.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end >= 0 and im_end != tok.unk_token_id:
            ids.append(im_end)
        if tok.eos_token_id is not None:
            ids.append(tok.eos_token_id)
        return sorted(set(ids))
