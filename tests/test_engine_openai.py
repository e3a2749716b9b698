"""The OpenAI-compatible engine: against a real `transformers serve` on loopback, and against
httpx.MockTransport (a named fake) for faults a real server will not produce on demand."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from flexjudge import Judge
from flexjudge.engines import ChatRequest, Message, Part, SamplingParams
from flexjudge.engines.openai import OpenAIEngine
from flexjudge.errors import EngineError

GOOD = "Assistant 1 is right.\n</think><answer>9</answer><answer>2</answer>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(trained_vl: Path):
    """A real `transformers serve` process serving the demo-trained tiny checkpoint."""
    exe = shutil.which("transformers")
    if exe is None:
        pytest.skip("transformers serve is not installed (pip install 'transformers[serving]')")
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [exe, "serve", str(trained_vl), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("transformers serve exited")
                time.sleep(0.5)
        else:
            pytest.fail("transformers serve did not start in 120 s")
        yield url, str(trained_vl)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_real_server_judges_text_and_images(served, png):
    url, model = served
    engine = OpenAIEngine(model, base_url=url)
    judge = Judge(engine=engine, votes=3, order="swap", max_new_tokens=96)
    v = judge.compare("Name a fruit.", "apple", "dog", images=[png])
    assert v.n_votes == 6
    assert engine.supports_n is False  # transformers serve answers n>1 with one choice
    assert engine.supports_prefill is False  # and rejects continue_final_message
    # its reasoning parser splits <think>; the engine puts it back so the parser sees one text
    assert any("</think><answer>" in vote.text for vote in v.votes)
    assert v.status in ("ok", "invalid")
    text_only = judge.score("Name a colour.", "red")
    assert text_only.n_votes == 3
    # token counts come from the response's top-level usage
    chat = ChatRequest((Message("user", (Part("text", "Say hi."),)),))
    [[comp]] = engine.generate([chat], SamplingParams(n=1, max_new_tokens=8, seed=1))
    assert 0 < comp.n_tokens <= 8


def test_run_command_against_the_server(served, png, tmp_path):
    url, model = served
    lines = [
        {
            "id": f"r{i}",
            "task": "pairwise",
            "instruction": "Name a fruit.",
            "responses": ["apple", "cat"],
            "images": [png.name],
        }
        for i in range(3)
    ]
    requests = png.parent / "requests.jsonl"
    requests.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "v.jsonl"
    subprocess.run(
        [
            shutil.which("flexjudge"),
            "run",
            str(requests),
            "--engine",
            "openai",
            "--base-url",
            url,
            "--model",
            model,
            "--output",
            str(out),
            "--max-new-tokens",
            "96",
            "--votes",
            "2",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["r0", "r1", "r2"]
    assert all(r["status"] in ("ok", "invalid") and len(r["votes"]) == 2 for r in rows)


# ---- faults, through httpx.MockTransport ------------------------------------------------------


def chat() -> ChatRequest:
    return ChatRequest((Message("user", (Part("text", text="q"),)),), "<think>\n")


def reply(content: str, n: int = 1, reasoning: str | None = None) -> dict:
    msg = {"role": "assistant", "content": content}
    if reasoning is not None:
        msg["reasoning_content"] = reasoning
    return {"choices": [{"index": i, "message": msg, "finish_reason": "stop"} for i in range(n)]}


def engine_with(handler, **kw) -> OpenAIEngine:
    return OpenAIEngine(
        "m", base_url="http://fake/v1", transport=httpx.MockTransport(handler), backoff=0.01, **kw
    )


def test_usage_is_read_from_the_top_level_and_shared_among_choices():
    def handler(request):
        return httpx.Response(
            200,
            json={
                **reply("x</think><answer>3</answer>", n=2),
                "usage": {"prompt_tokens": 50, "completion_tokens": 12},
            },
        )

    chat = ChatRequest((Message("user", (Part("text", "q"),)),))
    comps = engine_with(handler).generate([chat], SamplingParams(n=2, max_new_tokens=16))[0]
    assert [c.n_tokens for c in comps] == [6, 6]


def test_retries_429_and_bad_bodies_then_succeeds():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        if len(calls) == 1:
            return httpx.Response(429, text="slow down")
        if len(calls) == 2:
            return httpx.Response(200, text='{"choices": [')  # truncated body
        return httpx.Response(200, json=reply(GOOD))

    out = engine_with(handler).generate([chat()], SamplingParams(max_new_tokens=50))
    assert out[0][0].text == GOOD and len(calls) == 3
    assert all(c["max_tokens"] == 50 for c in calls)  # always sent


def test_persistent_500_becomes_an_error_verdict_not_a_crash():
    engine = engine_with(lambda r: httpx.Response(500, text="boom"), max_retries=2)
    with pytest.raises(EngineError, match="giving up after 3 attempts.*HTTP 500"):
        engine.generate([chat()], SamplingParams())
    v = Judge(engine=engine).compare("q", "a", "b")
    assert v.status == "error" and "HTTP 500" in v.error


def test_timeouts_are_retried_and_bounded():
    def handler(request):
        raise httpx.ReadTimeout("too slow", request=request)

    t = time.perf_counter()
    with pytest.raises(EngineError, match="ReadTimeout"):
        engine_with(handler, max_retries=2).generate([chat()], SamplingParams())
    assert time.perf_counter() - t < 5


def test_wrong_key_and_unknown_model_are_clear():
    with pytest.raises(EngineError, match="refused the API key"):
        engine_with(lambda r: httpx.Response(401)).generate([chat()], SamplingParams())
    with pytest.raises(EngineError, match="is the model 'm' served there"):
        engine_with(lambda r: httpx.Response(404, text="no such model")).generate(
            [chat()], SamplingParams()
        )


def test_n_is_detected_not_assumed():
    seen = []

    def honours(request):
        body = json.loads(request.content)
        seen.append(body["n"])
        return httpx.Response(200, json=reply(GOOD, n=body["n"]))

    e = engine_with(honours)
    assert len(e.generate([chat()], SamplingParams(n=4))[0]) == 4 and seen == [4] and e.supports_n

    seeds = []

    def ignores(request):
        body = json.loads(request.content)
        seeds.append(body.get("seed"))
        return httpx.Response(200, json=reply(GOOD, n=1))

    e = engine_with(ignores)
    out = e.generate([chat(), chat()], SamplingParams(n=3, seed=10))
    assert [len(x) for x in out] == [3, 3] and e.supports_n is False
    assert seeds[:3] == [10, 11, 12]  # the missing votes come from distinct seeds


def test_prefill_detection_and_split_reasoning_give_the_same_verdict():
    def vllm_like(request):
        body = json.loads(request.content)
        assert (
            body["continue_final_message"] is True
            and body["messages"][-1]["content"] == "<think>\n"
        )
        return httpx.Response(200, json=reply(GOOD))

    def serve_like(request):
        body = json.loads(request.content)
        if "continue_final_message" in body:
            return httpx.Response(422, text="Unexpected fields: {'continue_final_message'}")
        reasoning, content = GOOD.split("\n</think>")
        return httpx.Response(200, json=reply(content, reasoning=reasoning))

    def inline_unprimed(request):
        body = json.loads(request.content)
        if "continue_final_message" in body:
            return httpx.Response(400, text="add_generation_prompt is not supported")
        return httpx.Response(200, json=reply("<think>\n" + GOOD))

    verdicts = []
    for handler in (vllm_like, serve_like, inline_unprimed):
        engine = engine_with(handler)
        verdicts.append(Judge(engine=engine).compare("q", "a", "b").to_json(votes=False))
    assert verdicts[0] == verdicts[1] == verdicts[2]
    assert verdicts[0]["winner"] == "A" and verdicts[0]["scores"] == [9.0, 2.0]


def test_images_go_as_data_urls_and_missing_files_are_named(png, tmp_path):
    bodies = []

    def handler(request):
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=reply(GOOD))

    Judge(engine=engine_with(handler)).compare("q", "a", "b", images=[png])
    part = bodies[0]["messages"][1]["content"][0]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    from flexjudge import MediaError

    with pytest.raises(MediaError, match="gone.png"):
        Judge(engine=engine_with(handler)).compare("q", "a", "b", images=[tmp_path / "gone.png"])
