"""Flex-Judge as verl's custom reward function (verl 0.9)::

    custom_reward_function.path=$(python -c "import flexjudge.integrations.verl as m; print(m.__file__)")
    custom_reward_function.name=compute_score          # or compute_score_async
    +custom_reward_function.reward_kwargs.judge_url=http://127.0.0.1:8000

verl calls ``compute_score(data_source=..., solution_str=..., ground_truth=...,
extra_info=...)`` once per sample (from executor threads, concurrently), adding the
``reward_kwargs`` of its config as keyword arguments. verl does not pass the prompt, so the
data preparation puts the question (and its media) into each row's ``extra_info``:

==================  ===========================================================================
``extra_info`` key   meaning
==================  ===========================================================================
``question``         the instruction the response answers (required)
``images`` ...       ``images``, ``videos``, ``audios``, ``molecules``: lists of paths (for a
                     server: relative to its ``--media-root``, or local files sent inline) or
                     SMILES strings
``criteria``         optional criteria sentence
``reference``        optional reference answer; else a non-empty string ``ground_truth`` is
                     shown as the reference (``ground_truth_as_reference=False`` turns it off)
==================  ===========================================================================

``reward_kwargs``: ``judge_url`` (a running ``flexjudge serve``) and ``api_key_env``, or
``model`` (a judge in each reward worker process, on its own thread; ``engine``, ``store``
and the judge's settings such as ``max_new_tokens`` alongside); ``scale`` (default 1-10),
``invalid_reward`` (default 0.0), ``inline_media`` (default True). The environment variables
``FLEXJUDGE_URL`` / ``FLEXJUDGE_API_KEY_ENV`` stand in for ``judge_url`` / ``api_key_env``.

The answer is a dict with the same keys for every sample: ``score`` (the verdict's score on
0..1, or ``invalid_reward``), ``judge_valid`` (1.0 or 0.0) and ``judge_agreement``; verl takes
``score`` as the reward and logs the others.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from flexjudge.integrations.backends import Backend, make_backend
from flexjudge.integrations.rewards import reward_of, score_request
from flexjudge.verdict import Verdict

_MEDIA = ("images", "videos", "audios", "molecules")
_BACKENDS: dict[tuple[Any, ...], Backend] = {}
_LOCK = threading.Lock()


def _backend(kwargs: dict[str, Any]) -> Backend:
    """One backend per process and configuration (verl calls from many threads)."""
    url = kwargs.pop("judge_url", None) or os.environ.get("FLEXJUDGE_URL")
    key_env = kwargs.pop("api_key_env", None) or os.environ.get("FLEXJUDGE_API_KEY_ENV")
    options = {k: v for k, v in kwargs.items() if v is not None}
    if url:
        options.pop("model", None)
    key = (url, key_env, tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _LOCK:
        if key not in _BACKENDS:
            _BACKENDS[key] = make_backend(url=url, api_key_env=key_env, **options)
        return _BACKENDS[key]


def _request(
    solution_str: str, ground_truth: Any, extra_info: Any, as_reference: bool, scale: str
) -> dict[str, Any]:
    info: Mapping[str, Any] = extra_info if isinstance(extra_info, Mapping) else {}
    question = info.get("question")
    reference = info.get("reference")
    if reference is None and as_reference and isinstance(ground_truth, str):
        reference = ground_truth
    return score_request(
        question if isinstance(question, str) else "",
        solution_str,
        request_id=0,
        scale=scale,
        reference=reference if isinstance(reference, str) else None,
        criteria=info.get("criteria") if isinstance(info.get("criteria"), str) else None,
        media={k: list(info[k]) for k in _MEDIA if _is_list(info.get(k))},
    )


def _is_list(value: Any) -> bool:
    # parquet gives numpy arrays for list columns
    return isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray"


def _result(verdict: Verdict, scale: str, invalid_reward: float) -> dict[str, float]:
    r = reward_of(verdict, scale)
    return {
        "score": r.or_(invalid_reward),
        "judge_valid": 1.0 if r.valid else 0.0,
        "judge_agreement": r.agreement,
    }


def _split(kwargs: dict[str, Any]) -> tuple[str, float, bool, dict[str, Any]]:
    scale = str(kwargs.pop("scale", "1-10"))
    invalid = float(kwargs.pop("invalid_reward", 0.0))
    as_reference = bool(kwargs.pop("ground_truth_as_reference", True))
    for unused in ("reward_router_address", "reward_model_tokenizer"):  # verl's own extras
        kwargs.pop(unused, None)
    return scale, invalid, as_reference, kwargs


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """One sample's reward (module docstring)."""
    scale, invalid, as_reference, rest = _split(dict(kwargs))
    request = _request(solution_str, ground_truth, extra_info, as_reference, scale)
    verdict = _backend(rest).verdicts([request])[0]
    return _result(verdict, scale, invalid)


async def compute_score_async(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, float]:
    """The same, as a coroutine (for verl's async reward loop)."""
    scale, invalid, as_reference, rest = _split(dict(kwargs))
    request = _request(solution_str, ground_truth, extra_info, as_reference, scale)
    verdict = (await _backend(rest).averdicts([request]))[0]
    return _result(verdict, scale, invalid)
