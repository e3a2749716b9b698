"""verl: ``compute_score`` called the way verl's reward managers call it (keyword arguments
``data_source``, ``solution_str``, ``ground_truth``, ``extra_info`` with verl's own
``num_turns`` and ``rollout_reward_scores``, the config's ``reward_kwargs`` bound on top, many
samples at once from executor threads), and ``compute_score_async`` awaited from an event loop.

Behind the server: the openai engine against ``tests/faulty_server.py``'s ``ok`` mode (always
9 on 1-10: 0.889). In process: a tiny random checkpoint (always invalid)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from _serve_helpers import ServeProcess
from faulty_server import FaultyServer
from flexjudge.integrations import verl

NINE = 8 / 9
KEYS = {"score", "judge_valid", "judge_agreement"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyServer]:
    with FaultyServer() as s:
        yield s


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verl-media")
    Image.new("RGB", (32, 32), (0, 120, 0)).save(root / "q1.png")
    return root


@pytest.fixture(scope="module")
def server(
    upstream: FaultyServer, media_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("serve-verl")
    proc = ServeProcess(
        [
            "--engine",
            "openai",
            "--model",
            "judge",
            "--base-url",
            upstream.url("ok"),
            "--media-root",
            str(media_root),
            "--store",
            str(tmp / "store.sqlite"),
            "--api-key-env",
            "FJ_VERL_KEY",
        ],
        tmp / "server.log",
        env={"FJ_VERL_KEY": "verl-test-key"},
        key="verl-test-key",
    )
    try:
        yield proc.wait_ready()
    finally:
        proc.stop()
        verl._BACKENDS.clear()


def row(i: int, **info: Any) -> dict[str, Any]:
    """What verl's reward manager passes for one sample."""
    extra = {
        "question": f"What is shown in picture {i}?",
        "num_turns": None,
        "rollout_reward_scores": {},
        **info,
    }
    return {
        "data_source": "vqa",
        "solution_str": f"A green square {i}.",
        "ground_truth": "a green square",
        "extra_info": extra,
    }


def test_compute_score_from_executor_threads(
    server: ServeProcess, upstream: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FJ_VERL_KEY", "verl-test-key")
    # verl binds the config's reward_kwargs, then calls per sample in run_in_executor
    fn = functools.partial(
        verl.compute_score, judge_url=server.url, api_key_env="FJ_VERL_KEY", invalid_reward=-1.0
    )
    rows = [row(i) for i in range(6)] + [
        row(6, images=["q1.png"]),
        row(7, question=None),
        row(8, images=["../x.png"]),
    ]
    upstream.reset()

    async def main() -> list[dict[str, float]]:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(
            *(loop.run_in_executor(None, functools.partial(fn, **r)) for r in rows)
        )

    results = asyncio.run(main())
    assert all(set(r) == KEYS for r in results)  # the same keys for every sample
    assert [r["score"] for r in results[:7]] == pytest.approx([NINE] * 7)
    assert [r["judge_valid"] for r in results] == [1.0] * 7 + [0.0, 0.0]
    assert (
        results[7]["score"] == results[8]["score"] == -1.0
    )  # no question; a path leaving the root
    sent = [str(s.body) for s in upstream.requests_to("ok")]
    assert (
        len(sent) == 7 and sum("data:image" in s for s in sent) == 1
    )  # the picture, read under the root
    assert all("a green square" in s for s in sent)  # ground_truth shown as the reference


def test_compute_score_async(server: ServeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXJUDGE_URL", server.url)
    monkeypatch.setenv("FLEXJUDGE_API_KEY_ENV", "FJ_VERL_KEY")
    monkeypatch.setenv("FJ_VERL_KEY", "verl-test-key")

    async def main() -> list[dict[str, float]]:
        return await asyncio.gather(
            *(verl.compute_score_async(**row(i), ground_truth_as_reference=False) for i in range(4))
        )

    results = asyncio.run(main())
    assert [r["score"] for r in results] == pytest.approx([NINE] * 4)
    assert all(set(r) == KEYS for r in results)


def test_compute_score_in_process(tiny_vl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXJUDGE_URL", raising=False)
    fn = functools.partial(verl.compute_score, model=str(tiny_vl), max_new_tokens=4, device="cpu")
    try:
        results = [fn(**row(i)) for i in range(2)]
    finally:
        for backend in list(verl._BACKENDS.values()):
            backend.close()
        verl._BACKENDS.clear()
    assert results == [{"score": 0.0, "judge_valid": 0.0, "judge_agreement": 0.0}] * 2
