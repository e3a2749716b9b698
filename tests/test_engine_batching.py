"""The transformers engine's two schedules on real tiny checkpoints (Qwen2.5-VL and LLaMA-3).

The refill schedule (rows leave the batch when they stop; queued rows are prefilled into the
freed slots) must keep the engine's contract: with greedy decoding every row of a mixed-length
batch, refilled or not, generates exactly what it generates alone on the static schedule; a
call of one row samples exactly as ``model.generate`` does (same seeded draws, same stop
cut); rows stop at the stop strings, EOS or the token limit. Calls with media keep the static
schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flexjudge.engines import ChatRequest, SamplingParams
from flexjudge.engines.hf import TransformersEngine
from flexjudge.prompts import build_chat
from flexjudge.request import JudgeRequest


@pytest.fixture(scope="module", params=["qwen2_5_vl", "llama3"])
def engine(request: pytest.FixtureRequest, tiny_vl: Path, tiny_llama: Path) -> TransformersEngine:
    path = tiny_vl if request.param == "qwen2_5_vl" else tiny_llama
    return TransformersEngine(str(path), device="cpu")


def chats(n: int = 5) -> list[ChatRequest]:
    """Prompts of clearly different lengths, so that a batch is padded."""
    return [
        build_chat(
            JudgeRequest.build(
                task="pairwise",
                instruction="Which answer is better? " * (1 + 3 * i),
                responses=[f"first {i}", "second " * (i + 1)],
            )
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("width", [None, 2, 3])
def test_every_row_generates_what_it_would_alone(engine, width):
    greedy = SamplingParams(n=1, temperature=0.0, max_new_tokens=10, seed=0)
    requests = chats()
    alone = [engine._generate_static([c], greedy)[0][0] for c in requests]
    engine.max_batch_rows = width  # 2 and 3 rows for 5 requests: slots are refilled
    try:
        assert engine._refills(requests)
        together = [cs[0] for cs in engine.generate(requests, greedy)]
    finally:
        engine.max_batch_rows = None
    assert together == alone


def test_one_row_samples_exactly_like_generate(engine):
    request = chats()[2]
    # a stop string the random model writes often, counted three times: the "stop" cut
    stop = SamplingParams(
        n=1, temperature=0.9, max_new_tokens=24, seed=3, stop=("e",), stop_count=3
    )
    static, refill = engine._generate_static([request], stop), engine.generate([request], stop)
    assert refill == static and refill[0][0].finish_reason == "stop"
    # votes of one request decode in lockstep until the first stops: the same draws
    votes = SamplingParams(n=3, temperature=0.9, max_new_tokens=8, seed=5)
    assert engine.generate([request], votes) == engine._generate_static([request], votes)


def test_refill_sampling_is_seeded_and_cut_by_the_rules(engine):
    params = SamplingParams(
        n=4, temperature=1.0, max_new_tokens=12, seed=11, stop=("a",), stop_count=2
    )
    engine.max_batch_rows = 3
    try:
        first = engine.generate(chats(4), params)
        again = engine.generate(chats(4), params)
        other = engine.generate(chats(4), SamplingParams(**{**params.__dict__, "seed": 12}))
    finally:
        engine.max_batch_rows = None
    assert first == again and first != other
    assert [len(cs) for cs in first] == [4, 4, 4, 4]
    for c in (c for cs in first for c in cs):
        assert c.text == params.truncate(c.text)[0]
        assert (c.finish_reason == "stop") == params.truncate(c.text)[1]
        assert 1 <= c.n_tokens <= 12 and c.finish_reason in ("stop", "length", "eos")


def test_greedy_votes_are_identical(engine):
    # model.generate refuses num_return_sequences > 1 without sampling; refilled rows do not
    votes = engine.generate(chats(2), SamplingParams(n=3, temperature=0.0, max_new_tokens=6))
    assert all(len({c.text for c in cs}) == 1 for cs in votes)


def test_media_calls_and_own_inputs_keep_the_static_schedule(engine, tiny_vl, png):
    with_image = build_chat(
        JudgeRequest.build(task="score", instruction="q", responses=["a"], images=[str(png)])
    )
    assert not engine._refills([chats(1)[0], with_image])

    class OwnInputs(TransformersEngine):
        def _inputs(self, requests: Any) -> Any:
            return super()._inputs(requests)

    assert not OwnInputs(str(tiny_vl), device="cpu")._refills(chats(1))
