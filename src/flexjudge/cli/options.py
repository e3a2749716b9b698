"""Options shared by the judging commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from flexjudge.judge.api import DEFAULT_MODEL

F = Callable[..., Any]

_ENGINE_OPTIONS = [
    click.option(
        "--model",
        "-m",
        default=DEFAULT_MODEL,
        show_default=True,
        help="Hub id or local checkpoint folder.",
    ),
    click.option(
        "--engine",
        default="transformers",
        show_default=True,
        help="transformers (local weights), vllm (local weights through vLLM) or openai "
        "(an OpenAI-compatible server).",
    ),
    click.option(
        "--base-url", default=None, help="openai engine: the server, e.g. http://127.0.0.1:8000/v1."
    ),
    click.option(
        "--api-key-env",
        default="OPENAI_API_KEY",
        show_default=True,
        help="openai engine: environment variable holding the API key (if any).",
    ),
    click.option(
        "--concurrency",
        default=8,
        show_default=True,
        type=int,
        help="openai engine: requests in flight at once.",
    ),
    click.option(
        "--tensor-parallel-size",
        default=1,
        show_default=True,
        type=int,
        help="vllm engine: GPUs per model replica.",
    ),
    click.option(
        "--max-model-len",
        default=None,
        type=int,
        help="vllm engine: longest prompt plus completion, in tokens [default: the model's].",
    ),
    click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ..."),
    click.option(
        "--dtype",
        default="auto",
        show_default=True,
        help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16.",
    ),
    click.option(
        "--votes",
        "-k",
        default=1,
        show_default=True,
        type=int,
        help="Sampled reasoning paths per order (majority voting).",
    ),
    click.option(
        "--order",
        type=click.Choice(["fixed", "swap", "random"]),
        default="fixed",
        show_default=True,
        help="Position-bias control for pairwise and ranking.",
    ),
    click.option("--temperature", default=0.6, show_default=True, type=float),
    click.option("--top-p", default=0.95, show_default=True, type=float),
    click.option("--max-new-tokens", default=4096, show_default=True, type=int),
    click.option("--seed", default=0, show_default=True, type=int),
    click.option(
        "--budget-forcing",
        default=0,
        show_default=True,
        type=click.IntRange(0, 4),
        help='Times to replace </think> with "Wait" and continue.',
    ),
    click.option(
        "--score-reduce",
        type=click.Choice(["mean", "median"]),
        default="mean",
        show_default=True,
        help="How votes' scores aggregate.",
    ),
    click.option(
        "--batch-size", default=8, show_default=True, type=int, help="Requests per generate call."
    ),
]

_REQUEST_OPTIONS = [
    click.option("--scale", default="1-10", show_default=True, help="1-10, 1-5, 1.0-5.0 ..."),
    click.option("--criteria", default=None, help="Replaces the default criteria sentence."),
    click.option("--reference", default=None, help="A reference answer shown to the judge."),
]


def engine_options(f: F) -> F:
    for opt in reversed(_ENGINE_OPTIONS):
        f = opt(f)
    return f


def request_options(f: F) -> F:
    for opt in reversed(_REQUEST_OPTIONS):
        f = opt(f)
    return f


def judge_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    """Split the engine/judge options out of a command's keyword arguments."""
    keys = (
        "votes",
        "order",
        "temperature",
        "top_p",
        "max_new_tokens",
        "seed",
        "budget_forcing",
        "score_reduce",
        "batch_size",
    )
    kw = {k: opts.pop(k) for k in keys}
    kw["engine"] = opts.pop("engine")
    kw["model"] = opts.pop("model")
    device, dtype = opts.pop("device"), opts.pop("dtype")
    base_url, key_env, concurrency = (
        opts.pop("base_url"),
        opts.pop("api_key_env"),
        opts.pop("concurrency"),
    )
    tensor_parallel, max_model_len = opts.pop("tensor_parallel_size"), opts.pop("max_model_len")
    if kw["engine"] == "transformers":
        kw.update(device=device, dtype=dtype)
    elif kw["engine"] == "vllm":
        kw.update(dtype=dtype, tensor_parallel_size=tensor_parallel, max_model_len=max_model_len)
    elif kw["engine"] == "openai":
        kw.update(base_url=base_url, api_key_env=key_env, concurrency=concurrency)
    return kw
