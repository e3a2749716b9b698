"""OpenRLHF's reward contract: ``POST /get_reward`` on ``flexjudge serve`` (``--reward.remote_url
http://HOST:PORT/get_reward``), and :func:`reward_func` for its local mode
(``--reward.remote_url /path/to/flexjudge/integrations/reward_func.py``).

The contract (OpenRLHF 0.11): the body is ``{"query": [str], "prompts": [str], "labels":
[str]}``, one value per sample (0.11 sends one sample per request); the answer is
``{"rewards": [float], "scores": [float in 0..1], "extra_logs": {name: [float]}}``.

How a sample becomes a judge request (:func:`split_query`):

* ``query`` is the prompt followed by the response, rendered with the *policy's* chat template;
  ``prompt`` is the same prompt. The **response** is the query after the prompt, with trailing
  end-of-turn and padding tokens (``<|im_end|>``, ``<|endoftext|>``, ``<|eot_id|>``, ``</s>``...)
  and white space removed. Padding tokens before the prompt are skipped. A query that does not
  contain its prompt is an ``"error"`` verdict, never a guess.
* The **instruction** is the last user turn of the prompt for the chat templates recognised
  (ChatML/Qwen, Llama 3, Gemma, Mistral/Llama 2 ``[INST]``), vision placeholders removed;
  for any other prompt, the prompt text with its special tokens removed.
* A non-empty **label** is shown to the judge as the reference answer
  (``--labels-as-reference``, on by default).

The numbers: ``rewards`` and ``scores`` are the verdict's score on 0..1; a query whose verdict
is ``"invalid"`` or ``"error"`` gets ``invalid_reward`` (clamped into 0..1 for ``scores``).
``extra_logs`` has ``judge_valid`` (1 or 0) and ``judge_agreement`` for every query.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from flexjudge.errors import InputError
from flexjudge.integrations.rewards import reward_of
from flexjudge.verdict import Verdict

#: Tokens that end a turn or pad a sequence in common policies' vocabularies.
END_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "<end_of_turn>",
    "<eos>",
    "<pad>",
    "</s>",
    "<|finetune_right_pad_id|>",
)
_TURNS = (
    re.compile(r"<\|im_start\|>user\s*\n(.*?)<\|im_end\|>", re.S),  # ChatML (Qwen)
    re.compile(r"<\|start_header_id\|>user<\|end_header_id\|>\s*(.*?)<\|eot_id\|>", re.S),
    re.compile(r"<start_of_turn>user\s*\n(.*?)<end_of_turn>", re.S),  # Gemma
    re.compile(r"\[INST\](.*?)\[/INST\]", re.S),  # Mistral, Llama 2
)
_SPECIAL = re.compile(r"<\|[^|<>\s]{1,40}\|>|<s>|</s>|<(?:start|end)_of_turn>|<bos>|<eos>|<pad>")
_VISION = re.compile(r"<\|vision_start\|>.*?<\|vision_end\|>", re.S)


def _strip_end(text: str) -> str:
    while True:
        stripped = text.rstrip()
        for token in END_TOKENS:
            if stripped.endswith(token):
                stripped = stripped[: -len(token)]
                break
        else:
            return stripped
        text = stripped


def _only_padding(text: str) -> bool:
    for token in (*END_TOKENS, "<s>", "<bos>", "<|begin_of_text|>"):
        text = text.replace(token, "")
    return not text.strip()


def prompt_instruction(prompt: str) -> str:
    """The instruction inside a chat-templated prompt (module rules)."""
    for pattern in _TURNS:
        turns = pattern.findall(prompt)
        if turns:
            return _SPECIAL.sub("", _VISION.sub("", turns[-1])).strip()
    return _SPECIAL.sub("", _VISION.sub("", prompt)).strip()


def split_query(query: str, prompt: str) -> tuple[str, str]:
    """``(instruction, response)`` of one OpenRLHF sample (module rules)."""
    if not isinstance(query, str) or not isinstance(prompt, str):
        raise InputError("query and prompt must be strings")
    if not prompt:
        raise InputError("the prompt is empty")
    at = query.find(prompt)
    if at < 0 or not _only_padding(query[:at]):
        raise InputError(
            "the query does not start with its prompt (query = prompt + response, rendered "
            "with the same chat template)"
        )
    return prompt_instruction(prompt), _strip_end(query[at + len(prompt) :]).lstrip()


def reward_payload(
    verdicts: Sequence[Verdict], *, scale: str, invalid_reward: float
) -> dict[str, Any]:
    """The ``/get_reward`` answer for ``verdicts``, one value per query (module rules)."""
    rewards, scores, valid, agreement = [], [], [], []
    fallback_score = min(1.0, max(0.0, invalid_reward))
    for v in verdicts:
        r = reward_of(v, scale)
        rewards.append(r.or_(invalid_reward))
        scores.append(r.or_(fallback_score))
        valid.append(1.0 if r.valid else 0.0)
        agreement.append(r.agreement)
    return {
        "rewards": rewards,
        "scores": scores,
        "extra_logs": {"judge_valid": valid, "judge_agreement": agreement},
    }


def query_requests(
    queries: Sequence[Any],
    prompts: Sequence[Any],
    labels: Sequence[Any] | None,
    *,
    scale: str,
    labels_as_reference: bool = True,
) -> list[dict[str, Any] | Verdict]:
    """A score request per query, or the error verdict of a query that cannot be split."""
    from flexjudge.integrations.rewards import score_request

    out: list[dict[str, Any] | Verdict] = []
    for i, (query, prompt) in enumerate(zip(queries, prompts)):
        label = labels[i] if labels is not None else None
        try:
            instruction, response = split_query(query, prompt)
        except InputError as exc:
            out.append(Verdict.failed(i, "score", f"query {i}: {exc}"))
            continue
        ref = label if labels_as_reference and isinstance(label, str) else None
        out.append(score_request(instruction, response, request_id=i, scale=scale, reference=ref))
    return out


# -- local mode ----------------------------------------------------------------------------
class _ServerRewards:
    """The numbers from a running ``flexjudge serve`` (it splits and maps)."""

    def __init__(self, url: str, api_key_env: str | None) -> None:
        from flexjudge.integrations.client import JudgeClient

        self.client = JudgeClient(url, api_key_env=api_key_env)

    def payload(self, queries: Sequence[Any], prompts: Sequence[Any], labels: list[Any]) -> Any:
        return self.client.post(
            "/get_reward", {"query": list(queries), "prompts": list(prompts), "labels": labels}
        )


class _LocalRewards:
    """The numbers from a judge in this process."""

    def __init__(self, backend: Any, scale: str, invalid_reward: float) -> None:
        self.backend = backend
        self.scale = scale
        self.invalid_reward = invalid_reward

    def payload(self, queries: Sequence[Any], prompts: Sequence[Any], labels: list[Any]) -> Any:
        items = query_requests(queries, prompts, labels, scale=self.scale)
        todo = [r for r in items if isinstance(r, Mapping)]
        judged = iter(self.backend.verdicts(todo))
        verdicts = [next(judged) if isinstance(r, Mapping) else r for r in items]
        return reward_payload(verdicts, scale=self.scale, invalid_reward=self.invalid_reward)


_SOURCES: dict[tuple[str, ...], _ServerRewards | _LocalRewards] = {}
_ENV = (
    "FLEXJUDGE_URL",
    "FLEXJUDGE_API_KEY_ENV",
    "FLEXJUDGE_MODEL",
    "FLEXJUDGE_ENGINE",
    "FLEXJUDGE_STORE",
    "FLEXJUDGE_JUDGE_OPTIONS",
    "FLEXJUDGE_SCALE",
    "FLEXJUDGE_INVALID_REWARD",
)


def _source() -> _ServerRewards | _LocalRewards:
    """Where :func:`reward_func` gets its numbers, from the environment (once per process):
    ``FLEXJUDGE_URL`` (a running ``flexjudge serve``; ``FLEXJUDGE_API_KEY_ENV`` names the
    variable holding its key), else ``FLEXJUDGE_MODEL`` judged in this process
    (``FLEXJUDGE_ENGINE``; ``FLEXJUDGE_STORE``, ``{pid}`` replaced by the process id since a
    store has one writer process; ``FLEXJUDGE_JUDGE_OPTIONS`` as JSON, e.g.
    ``{"max_new_tokens": 1024}``; ``FLEXJUDGE_SCALE``, ``FLEXJUDGE_INVALID_REWARD``)."""
    import json

    from flexjudge.errors import ConfigError
    from flexjudge.integrations.backends import make_backend

    env = os.environ
    key = tuple(env.get(k, "") for k in _ENV)
    if key in _SOURCES:
        return _SOURCES[key]
    url, model = env.get("FLEXJUDGE_URL"), env.get("FLEXJUDGE_MODEL")
    source: _ServerRewards | _LocalRewards
    if url:
        source = _ServerRewards(url, env.get("FLEXJUDGE_API_KEY_ENV"))
    elif model:
        try:
            options = json.loads(env.get("FLEXJUDGE_JUDGE_OPTIONS") or "{}")
            invalid = float(env.get("FLEXJUDGE_INVALID_REWARD", "0.0"))
        except ValueError as exc:
            raise ConfigError(
                f"FLEXJUDGE_JUDGE_OPTIONS or FLEXJUDGE_INVALID_REWARD: {exc}"
            ) from exc
        store = env.get("FLEXJUDGE_STORE")
        backend = make_backend(
            model=model,
            engine=env.get("FLEXJUDGE_ENGINE", "transformers"),
            store=store.replace("{pid}", str(os.getpid())) if store else None,
            **options,
        )
        source = _LocalRewards(backend, env.get("FLEXJUDGE_SCALE", "1-10"), invalid)
    else:
        raise ConfigError("set FLEXJUDGE_URL (a running flexjudge serve) or FLEXJUDGE_MODEL")
    _SOURCES[key] = source
    return source


def reward_func(
    queries: Sequence[str],
    prompts: Sequence[str],
    labels: Sequence[str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """OpenRLHF's local ``reward_func(queries, prompts, labels)``: the ``/get_reward`` numbers
    as float32 tensors (module rules; the judge named by the environment, see :func:`_source`).
    Extra keyword arguments (newer OpenRLHF passes ``metas``) are accepted and unused."""
    import torch

    labels_list = list(labels) if labels is not None else [None] * len(queries)
    body = _source().payload(queries, prompts, labels_list)
    return {
        "rewards": torch.tensor(body["rewards"], dtype=torch.float32),
        "scores": torch.tensor(body["scores"], dtype=torch.float32),
        "extra_logs": {
            k: torch.tensor(v, dtype=torch.float32) for k, v in body["extra_logs"].items()
        },
    }
