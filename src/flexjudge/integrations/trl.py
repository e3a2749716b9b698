"""Flex-Judge as a TRL reward function, for ``GRPOTrainer``, ``RLOOTrainer`` and
``OnlineDPOTrainer`` (TRL 1.16)::

    from flexjudge.integrations.trl import JudgeReward, AsyncJudgeReward

    reward = JudgeReward(url="http://127.0.0.1:8000")              # a running flexjudge serve
    reward = JudgeReward(model="flex-vl-7b", store="rewards.sqlite", max_new_tokens=1024)
    trainer = GRPOTrainer(model=policy, reward_funcs=reward, ...)
    trainer = GRPOTrainer(model=policy, reward_funcs=AsyncJudgeReward(url=...), ...)

How a sample becomes a judge request (a single-score request, the ``flexjudge run`` schema):

* **instruction**: the prompt. A conversational prompt (a list of messages) gives the text of
  its last user message (text parts joined; image parts are the ``images`` column's).
* **response**: the completion's text; a conversational completion
  (``[{"role": "assistant", "content": ...}]``) gives its assistant contents joined.
* **images**: the dataset's ``images`` column (a list per row) or ``image`` column (one per
  row), when present. Sent inline to a remote judge (PIL images as PNG).
* **reference**: the column named by ``reference_column`` (e.g. ``"solution"``), when given.

What comes back: one value per prompt, exactly ``len(prompts)``: the verdict's score on 0..1
(:func:`flexjudge.integrations.rewards.reward_of`), or ``None`` where the verdict is
``"invalid"`` or ``"error"`` (TRL excludes the sample), or ``on_invalid`` there when set. The
share of valid verdicts is logged through TRL's ``log_metric`` as ``<name>/valid_fraction``.

:class:`JudgeReward` is synchronous (OnlineDPO calls reward functions synchronously; GRPO and
RLOO call it in their training loop). :class:`AsyncJudgeReward` has an async ``__call__``:
GRPO and RLOO run it concurrently with other async reward functions on their event loop.
The judge runs behind ``url=`` (``flexjudge serve``), or in this process on a thread of its
own with ``model=`` (thread- and loop-safe), or as the ``judge=`` you built (synchronous only,
called in the trainer's thread).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flexjudge.integrations.backends import Backend, make_backend
from flexjudge.integrations.rewards import reward_of, score_request
from flexjudge.judge.api import Judge
from flexjudge.verdict import Verdict

log = logging.getLogger(__name__)


def message_text(content: Any) -> str:
    """The text of a message's content: a string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def prompt_instruction(prompt: Any) -> str:
    """The instruction a prompt asks: the prompt, or its last user message's text."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        return message_text(users[-1].get("content")) if users else ""
    return ""


def completion_text(completion: Any) -> str:
    """A completion's text: the string, or its assistant messages' contents joined."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(
            message_text(m.get("content"))
            for m in completion
            if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant"
        )
    return ""


def _row_images(kwargs: Mapping[str, Any], i: int) -> list[Any]:
    if kwargs.get("images") is not None:
        row = kwargs["images"][i]
        return [] if row is None else list(row) if isinstance(row, (list, tuple)) else [row]
    if kwargs.get("image") is not None:
        row = kwargs["image"][i]
        return [] if row is None else [row]
    return []


class _JudgeRewardBase:
    """What both classes share (see the module docstring)."""

    def __init__(
        self,
        *,
        url: str | None = None,
        model: str | None = None,
        judge: Judge | None = None,
        api_key_env: str | None = None,
        scale: str = "1-10",
        reference_column: str | None = None,
        criteria: str | None = None,
        on_invalid: float | None = None,
        name: str = "flexjudge",
        timeout: float = 180.0,
        inline_media: bool = True,
        engine: str = "transformers",
        store: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> None:
        self.__name__ = name  # TRL names a reward function by it (rewards/<name>/mean)
        self.scale = scale
        self.reference_column = reference_column
        self.criteria = criteria
        self.on_invalid = on_invalid
        self.backend: Backend = make_backend(
            url=url,
            model=model,
            judge=judge,
            api_key_env=api_key_env,
            timeout=timeout,
            inline_media=inline_media,
            engine=engine,
            store=store,
            **options,
        )

    def requests(
        self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """One judge request per (prompt, completion) pair (module rules)."""
        refs = kwargs.get(self.reference_column) if self.reference_column else None
        out = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions)):
            ref = refs[i] if refs is not None else None
            out.append(
                score_request(
                    prompt_instruction(prompt),
                    completion_text(completion),
                    request_id=i,
                    scale=self.scale,
                    reference=ref if isinstance(ref, str) else None,
                    criteria=self.criteria,
                    media={"images": _row_images(kwargs, i)},
                )
            )
        return out

    def rewards(self, verdicts: list[Verdict], kwargs: Mapping[str, Any]) -> list[float | None]:
        values = [reward_of(v, self.scale) for v in verdicts]
        failed = [v for v in verdicts if v.status != "ok"]
        if failed:
            log.info(
                "%d of %d verdicts were not ok (first: %s: %s)",
                len(failed),
                len(verdicts),
                failed[0].status,
                failed[0].error,
            )
        log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
        if callable(log_metric) and verdicts:
            log_metric(f"{self.__name__}/valid_fraction", 1 - len(failed) / len(verdicts))
        if self.on_invalid is None:
            return [r.value for r in values]
        return [r.or_(self.on_invalid) for r in values]

    def close(self) -> None:
        self.backend.close()


class JudgeReward(_JudgeRewardBase):
    """A synchronous TRL reward function backed by Flex-Judge (module docstring)."""

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        verdicts = self.backend.verdicts(self.requests(prompts, completions, kwargs))
        return self.rewards(verdicts, kwargs)


class AsyncJudgeReward(_JudgeRewardBase):
    """An async TRL reward function backed by Flex-Judge (module docstring)."""

    async def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        verdicts = await self.backend.averdicts(self.requests(prompts, completions, kwargs))
        return self.rewards(verdicts, kwargs)
