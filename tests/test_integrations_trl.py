"""TRL: a real ``GRPOTrainer`` run of 2 steps on a tiny LLaMA-3 policy with ``JudgeReward``
(synchronous, a judge in the test's process) and ``AsyncJudgeReward`` (through a real
``flexjudge serve``) as its reward functions; the adapters called as TRL calls them
(conversational prompts and completions, an ``images`` column of PIL images, ``log_metric``).

The judge with known numbers is the openai engine against ``tests/faulty_server.py``'s ``ok``
mode (always 9 on 1-10: 0.889); a tiny random Qwen2.5-VL checkpoint gives the invalid path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from _serve_helpers import ServeProcess
from faulty_server import FaultyServer
from flexjudge import Judge
from flexjudge.errors import ConfigError
from flexjudge.integrations.trl import AsyncJudgeReward, JudgeReward

NINE = 8 / 9


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyServer]:
    with FaultyServer() as s:
        yield s


@pytest.fixture(scope="module")
def server(
    upstream: FaultyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("serve-trl")
    args = ["--engine", "openai", "--model", "judge", "--base-url", upstream.url("ok")]
    proc = ServeProcess([*args, "--store", str(tmp / "store.sqlite")], tmp / "server.log")
    try:
        yield proc.wait_ready()
    finally:
        proc.stop()


def conversational(n: int) -> dict[str, Any]:
    prompts = [
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": f"Describe picture {i}."},
        ]
        for i in range(n)
    ]
    completions = [
        [{"role": "assistant", "content": f"A red square, number {i}."}] for i in range(n)
    ]
    return {"prompts": prompts, "completions": completions, "completion_ids": [[1, 2, 3]] * n}


def test_async_reward_through_the_server_with_images(
    server: ServeProcess, upstream: FaultyServer
) -> None:
    reward = AsyncJudgeReward(url=server.url, name="judge")
    logged: dict[str, float] = {}
    upstream.reset()
    pictures = [
        [Image.new("RGB", (32, 32), (200, 0, 0))],
        [Image.new("RGB", (32, 32), (0, 0, 200))],
        [],
    ]
    kw = conversational(3)
    kw["completions"][2] = [
        {"role": "assistant", "content": ""}
    ]  # an empty answer: an error verdict
    out = asyncio.run(
        reward(
            **kw, trainer_state=None, images=pictures, log_metric=lambda k, v: logged.update({k: v})
        )
    )
    assert out[:2] == pytest.approx([NINE, NINE]) and out[2] is None and len(out) == 3
    assert logged == {"judge/valid_fraction": pytest.approx(2 / 3)}
    sent = [str(s.body) for s in upstream.requests_to("ok")]
    assert len(sent) == 2 and all(
        "data:image/png;base64" in s for s in sent
    )  # the pictures reached the judge
    assert any("Describe picture 0." in s and "number 0" in s for s in sent)
    reward.close()


def test_a_large_batch_goes_in_bodies_the_server_takes(server: ServeProcess) -> None:
    before = server.metric("flexjudge_http_requests_total", endpoint="/v1/judge", code="200")
    reward = JudgeReward(url=server.url)
    out = reward(**conversational(70))
    reward.close()
    assert out == pytest.approx([NINE] * 70)
    after = server.metric("flexjudge_http_requests_total", endpoint="/v1/judge", code="200")
    assert after - before == 2  # 64 + 6: the server's --max-items is 64
    assert server.metric("flexjudge_rejected_total", reason="too_many_items") == 0


def test_sync_reward_in_process_on_a_tiny_checkpoint(tiny_vl: Path, tmp_path: Path) -> None:
    reward = JudgeReward(
        model=str(tiny_vl), store=tmp_path / "r.sqlite", max_new_tokens=4, device="cpu"
    )
    try:
        out = reward(
            prompts=["Say hi.", "Say bye."],
            completions=["Hi!", "Bye!"],
            completion_ids=[[1], [2]],
            trainer_state=None,
        )
        assert out == [None, None]  # a random checkpoint never answers in the format: excluded
        with_default = JudgeReward(
            model=str(tiny_vl), on_invalid=0.0, max_new_tokens=4, device="cpu"
        )
        assert with_default(prompts=["Say hi."], completions=["Hi!"]) == [0.0]
        with_default.close()
    finally:
        reward.close()
    assert (tmp_path / "r.sqlite").is_file()


def test_a_judge_given_in_is_synchronous_only(upstream: FaultyServer) -> None:
    with Judge("judge", engine="openai", base_url=upstream.url("ok")) as judge:
        assert JudgeReward(judge=judge)(prompts=["q"], completions=["a"]) == pytest.approx([NINE])
        with pytest.raises(ConfigError, match="synchronous"):
            asyncio.run(AsyncJudgeReward(judge=judge)(prompts=["q"], completions=["a"]))
    with pytest.raises(ConfigError, match="exactly one of"):
        JudgeReward(url="http://127.0.0.1:9", model="m")


@pytest.mark.slow
def test_grpo_trainer_two_steps_with_judge_rewards(
    server: ServeProcess, upstream: FaultyServer, tmp_path: Path
) -> None:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from flexjudge.testing.tiny import build_tiny_model

    policy_dir = build_tiny_model(tmp_path / "policy", arch="llama3")
    data = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": f"Name a colour, {i}."}], "solution": "blue"}
            for i in range(4)
        ]
    )
    judge = Judge("judge", engine="openai", base_url=upstream.url("ok"))
    sync_reward = JudgeReward(judge=judge, name="judge_sync", reference_column="solution")
    async_reward = AsyncJudgeReward(url=server.url, name="judge_async")
    requests_before = server.metric(
        "flexjudge_http_requests_total", endpoint="/v1/judge", code="200"
    )
    config = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=8,
        logging_steps=1,
        learning_rate=1e-4,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(policy_dir),
        reward_funcs=[sync_reward, async_reward],  # type: ignore[list-item]  # TRL's hint omits async
        args=config,
        train_dataset=data,
        processing_class=AutoTokenizer.from_pretrained(policy_dir),
    )
    trainer.train()
    judge.close()
    logs = [e for e in trainer.state.log_history if "rewards/judge_sync/mean" in e]
    assert trainer.state.global_step == 2 and len(logs) == 2
    for entry in logs:
        assert entry["rewards/judge_sync/mean"] == pytest.approx(NINE)
        assert entry["rewards/judge_async/mean"] == pytest.approx(NINE)
        assert entry["judge_sync/valid_fraction"] == pytest.approx(1.0)
    assert (
        server.metric("flexjudge_http_requests_total", endpoint="/v1/judge", code="200")
        - requests_before
        == 2
    )
    assert any(
        "blue" in str(s.body) for s in upstream.requests_to("ok")
    )  # the solution, as reference
    async_reward.close()
