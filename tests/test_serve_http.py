"""``flexjudge serve`` over real HTTP: one uvicorn process for the module (a tiny random
Qwen2.5-VL checkpoint, 4 new tokens), real httpx clients on loopback. Auth, every limit, media
paths and traversal, malformed and fuzzed bodies (never a 5xx), 100 concurrent requests, the
OpenRLHF body, metrics, and the key kept out of answers and logs."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from _serve_helpers import ServeProcess
from flexjudge import Verdict

KEY = "s3cret-serve-key-81f2a"
LIMITS = {"body": 200_000, "items": 8, "responses": 4, "media": 60_000}


def png_bytes(
    color: tuple[int, int, int] = (10, 200, 30), size: tuple[int, int] = (28, 28)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def score(i: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"task": "score", "instruction": "Describe it.", "responses": ["A cat."]}
    if i is not None:
        body["id"] = i
    return {**body, **extra}


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("media")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    (root / "pic.png").write_bytes(png_bytes())
    (root / "sub" / "deep.png").write_bytes(png_bytes((200, 0, 0)))
    (base / "outside.png").write_bytes(png_bytes((0, 0, 200)))
    (root / "link_out.png").symlink_to(base / "outside.png")
    (root / "link_in.png").symlink_to(root / "pic.png")
    (root / "linkdir").symlink_to(base)
    (root / "big.png").write_bytes(os.urandom(LIMITS["media"] + 10))
    return root


@pytest.fixture(scope="module")
def server(
    tiny_vl: Path, media_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("serve-http")
    proc = ServeProcess(
        [
            "--model",
            str(tiny_vl),
            "--device",
            "cpu",
            "--max-new-tokens",
            "4",
            "--api-key-env",
            "FJ_SERVE_TEST_KEY",
            "--media-root",
            str(media_root),
            "--store",
            str(tmp / "store.sqlite"),
            "--max-body-bytes",
            str(LIMITS["body"]),
            "--max-items",
            str(LIMITS["items"]),
            "--max-responses",
            str(LIMITS["responses"]),
            "--max-media-bytes",
            str(LIMITS["media"]),
            "--max-queue",
            "512",
            "--max-batch",
            "16",
        ],
        tmp / "server.log",
        env={"FJ_SERVE_TEST_KEY": KEY},
        key=KEY,
    )
    try:
        yield proc.wait_ready()
    finally:
        assert proc.stop() in (0, -15)  # uvicorn re-raises the SIGTERM it drained for
        assert KEY not in proc.output()  # the key never reaches the log


@pytest.fixture()
def client(server: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as c:
        yield c


def error_type(r: httpx.Response) -> str:
    return str(r.json()["error"]["type"])


# -- auth --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("POST", "/v1/judge"),
        ("POST", "/get_reward"),
        ("GET", "/docs"),
        ("GET", "/nowhere"),
    ],
)
def test_every_endpoint_but_health_needs_the_key(
    server: ServeProcess, method: str, path: str
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": KEY},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": f"Bearer {KEY}x"},
    ):
        r = httpx.request(method, server.url + path, headers=headers, json=score(), timeout=30)
        assert r.status_code == 401, (path, headers)
        assert r.headers["www-authenticate"] == "Bearer"
        assert error_type(r) == "unauthorized" and KEY not in r.text
    assert httpx.get(server.url + "/health", timeout=30).json() == {"status": "ok"}
    # the scheme is case-insensitive
    r = httpx.request(
        method,
        server.url + path,
        headers={"Authorization": f"bearer {KEY}"},
        json=score(),
        timeout=60,
    )
    assert r.status_code != 401


def test_ready_names_the_model(client: httpx.Client, tiny_vl: Path) -> None:
    body = client.get("/ready").json()
    assert (
        body["ready"] is True and body["model"] == str(tiny_vl) and body["engine"] == "transformers"
    )


# -- judging -----------------------------------------------------------------------------------
def test_one_request_gives_one_verdict_and_a_list_gives_a_list(client: httpx.Client) -> None:
    one = client.post("/v1/judge", json=score())
    assert one.status_code == 200
    v = Verdict.model_validate(one.json())
    assert v.id == 0 and v.task == "score" and v.status in ("ok", "invalid") and v.votes
    many = client.post("/v1/judge?votes=false", json=[score("a"), score(7), score()])
    assert many.status_code == 200
    verdicts = [Verdict.model_validate(x) for x in many.json()]
    assert [x.id for x in verdicts] == ["a", 7, 2]  # ids as given; a missing id is the index
    assert all("votes" not in x for x in many.json())


def test_a_bad_request_is_an_error_verdict_in_its_place(client: httpx.Client) -> None:
    body = [
        score("good"),
        {"task": "score"},
        "text",
        {"id": True, **score()},
        score("x", votes=3),
        score("e", responses=[""]),
    ]
    r = client.post("/v1/judge?votes=false", json=body)
    assert r.status_code == 200
    got = r.json()
    assert [v["status"] for v in got][1:] == ["error"] * 5 and got[0]["status"] != "error"
    assert "instruction" in got[1]["error"] and "item 1" in got[1]["error"]
    assert "JSON object" in got[2]["error"]
    assert "id must be a string or a number" in got[3]["error"]
    assert "votes" in got[4]["error"]  # not a request field: settings are the server's
    assert "empty" in got[5]["error"]


# -- limits ------------------------------------------------------------------------------------
def test_body_size_is_refused_by_length_and_while_streaming(client: httpx.Client) -> None:
    big = json.dumps(score(instruction="x" * LIMITS["body"])).encode()
    r = client.post("/v1/judge", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and error_type(r) == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b'{"task": "score", "instruction": "'
        for _ in range(50):
            yield b"y" * 10_000
        yield b'", "responses": ["a"]}'

    r = client.post("/v1/judge", content=chunks())
    assert r.status_code == 413 and error_type(r) == "body_too_large"
    r = client.post("/get_reward", content=big)
    assert r.status_code == 413 and error_type(r) == "body_too_large"


def test_too_many_requests_or_responses_are_refused(client: httpx.Client) -> None:
    r = client.post("/v1/judge", json=[score(i) for i in range(LIMITS["items"] + 1)])
    assert r.status_code == 413 and error_type(r) == "too_many_items"
    wide = {"task": "batch", "instruction": "Rank.", "responses": list("abcde")}
    r = client.post("/v1/judge", json=[score(), wide])
    assert (
        r.status_code == 413
        and error_type(r) == "too_many_responses"
        and "request 1" in r.json()["error"]["message"]
    )
    n = LIMITS["items"] + 1
    r = client.post(
        "/get_reward", json={"query": ["q a"] * n, "prompts": ["q"] * n, "labels": [""] * n}
    )
    assert r.status_code == 413 and error_type(r) == "too_many_items"


def test_media_bytes_are_counted_inline_and_from_files(client: httpx.Client) -> None:
    inline = data_url(os.urandom(LIMITS["media"] // 2 + 100))
    r = client.post("/v1/judge", json=score(images=[inline, inline]))
    assert r.status_code == 413 and error_type(r) == "media_too_large"
    r = client.post("/v1/judge", json=score(images=["big.png"]))
    assert r.status_code == 413 and error_type(r) == "media_too_large"
    r = client.post(
        "/v1/judge",
        json=[
            score(1, images=["pic.png"]),
            score(2, responses=[{"text": "a", "images": ["big.png"]}]),
        ],
    )
    assert r.status_code == 413  # one budget for the whole HTTP request


# -- media -------------------------------------------------------------------------------------
def test_media_inline_and_under_the_root_are_judged(client: httpx.Client, media_root: Path) -> None:
    body = [
        score("inline", images=[data_url(png_bytes())]),
        score("path", images=["pic.png"]),
        score("deep", images=["sub/deep.png", "./sub//deep.png"]),
        score("per-response", responses=[{"text": "A cat.", "images": ["pic.png"]}]),
    ]
    got = client.post("/v1/judge?votes=false", json=body).json()
    assert all(v["status"] != "error" and v["n_votes"] == 1 for v in got), got


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ("../outside.png", "'..'"),
        ("sub/../../outside.png", "'..'"),
        ("sub/../pic.png", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/.ssh/id_rsa", "absolute"),
        ("\\\\host\\share\\x.png", "absolute"),
        ("C:/Windows/win.ini", "absolute"),
        ("link_out.png", "symlink"),
        ("link_in.png", "symlink"),
        ("linkdir/outside.png", "symlink"),
        ("missing.png", "does not exist"),
        ("sub", "folder"),
        ("pic.png\x00.txt", "not a usable path"),
        ("http://169.254.169.254/latest/meta-data", "URLs are not fetched"),
        ("file:///etc/passwd", "URLs are not fetched"),
        ("data:video/mp4;base64,AAAA", "does not fit images"),
        ("data:image/png;base64,@@not-base64@@", "not valid base64"),
        ("data:image/png,rawtext", "data:<type>;base64"),
    ],
)
def test_media_outside_the_root_are_refused(
    client: httpx.Client, media_root: Path, item: str, why: str
) -> None:
    for body in (
        score("shared", images=[item]),
        score("response", responses=[{"text": "a", "images": [item]}]),
    ):
        v = client.post("/v1/judge", json=body).json()
        assert v["status"] == "error" and why in v["error"], v
        assert str(media_root) not in v["error"]  # the server's folders are not disclosed


# -- malformed and fuzzed bodies ---------------------------------------------------------------
NASTY: list[bytes] = [
    b"",
    b" ",
    b"{",
    b"[]",
    b"null",
    b"42",
    b'"string"',
    b"\xff\xfe{}",
    b'{"task": "score", "instruction": "q", "responses": ["a"], "scale": NaN}',
    b'{"id": Infinity}',
    b"[" * 5000 + b"]" * 5000,
    b'{"id": 1' + b"0" * 5000 + b"}",
    b'{"id": 1e400, "task": "score", "instruction": "q", "responses": ["a"]}',
    b'{"task": "score", "instruction": "q", "responses": "a"}',
    b'{"task": "nope", "instruction": "q", "responses": ["a"]}',
    b'{"task": "score", "instruction": "q", "responses": [{"text": "a", "images": "pic.png"}]}',
    b'{"task": "score", "instruction": "q", "responses": [1, 2]}',
    b'{"task": "batch", "instruction": "q", "responses": ["a", "b", "c"], "scale": "1-2"}',
    b'{"task": "pairwise", "instruction": "q", "responses": ["a", "b"], "tie": "yes please"}',
    b'{"task": "score", "instruction": "q", "responses": ["a"], "scale": "10-1"}',
    b'{"task": "score", "instruction": "q", "responses": ["a"], "protocol": "voxsim", "scale": {"a": 1}}',
    b'{"task": "score", "instruction": "\\ud800", "responses": ["a"]}',
    b'{"task": "score", "instruction": "q", "responses": ["a"], "molecules": [null, 3]}',
    b'{"query": "not a list", "prompts": [], "labels": []}',
    b'{"query": ["a"], "prompts": ["a", "b"]}',
    b'{"query": [1], "prompts": [2], "labels": [3]}',
    b'{"query": [], "prompts": []}',
]


def _statuses(server: ServeProcess, bodies: list[bytes]) -> list[tuple[int, str, bytes]]:
    out = []
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as c:
        for body in bodies:
            for path in ("/v1/judge", "/get_reward"):
                r = c.post(path, content=body, headers={"content-type": "application/json"})
                r.json()  # every answer is JSON
                out.append((r.status_code, path, body[:80]))
    return out


def test_malformed_bodies_get_a_named_4xx_or_an_error_verdict(server: ServeProcess) -> None:
    results = _statuses(server, NASTY)
    assert not [r for r in results if r[0] >= 500], results
    assert {code for code, _, _ in results} <= {200, 400, 413}


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": _json,
        "task": st.sampled_from(["score", "pairwise", "batch", "label", "rank", "x"]) | _json,
        "instruction": st.text(max_size=30) | _json,
        "responses": st.lists(st.text(max_size=10) | _json, max_size=4) | _json,
        "images": st.lists(
            st.sampled_from(["pic.png", "../x", "/etc/passwd", "data:image/png;base64,AA"]) | _json,
            max_size=2,
        ),
        "scale": st.sampled_from(["1-10", "1.0-5.0", "0-0", "x"]) | _json,
        "tie": _json,
        "query": st.lists(st.text(max_size=10), max_size=3) | _json,
        "prompts": st.lists(st.text(max_size=10), max_size=3) | _json,
        "labels": _json,
    },
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=st.one_of(_fields, st.lists(_fields, max_size=3), _json), raw=st.binary(max_size=40))
def test_fuzzed_bodies_never_get_a_5xx(server: ServeProcess, body: Any, raw: bytes) -> None:
    encoded = json.dumps(body).encode()
    cut = random.Random(len(encoded)).randrange(len(encoded) + 1)
    results = _statuses(server, [encoded, raw, encoded[:cut], encoded + raw])
    assert not [r for r in results if r[0] >= 500], results


# -- concurrency -------------------------------------------------------------------------------
def test_100_concurrent_requests_are_each_answered_once(server: ServeProcess) -> None:
    batches_before = server.metric("flexjudge_batch_size_count")

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=300) as c:
            return await asyncio.gather(
                *(
                    c.post(
                        "/v1/judge?votes=false",
                        json=score(f"c{i}", instruction=f"Describe item {i}."),
                    )
                    for i in range(100)
                )
            )

    answers = asyncio.run(main())
    assert [r.status_code for r in answers] == [200] * 100
    assert sorted(r.json()["id"] for r in answers) == sorted(f"c{i}" for i in range(100))
    batches = server.metric("flexjudge_batch_size_count") - batches_before
    assert batches < 100  # coalesced: some engine batches held several requests


# -- OpenRLHF, metrics -------------------------------------------------------------------------
def test_get_reward_answers_one_value_per_query(client: httpx.Client) -> None:
    prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    r = client.post(
        "/get_reward",
        json={
            "query": [prompt + "4<|im_end|>", "unrelated"],
            "prompts": [prompt, prompt],
            "labels": ["4", ""],
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"rewards", "scores", "extra_logs"}
    assert len(body["rewards"]) == len(body["scores"]) == 2
    assert set(body["extra_logs"]) == {"judge_valid", "judge_agreement"}
    assert (
        body["extra_logs"]["judge_valid"][1] == 0.0 and body["rewards"][1] == 0.0
    )  # not split: invalid_reward
    assert all(0.0 <= s <= 1.0 for s in body["scores"])


def test_metrics_are_prometheus_text(server: ServeProcess, client: httpx.Client) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    client.post("/v1/judge", json=score("m"))
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    for name in (
        "flexjudge_http_requests",
        "flexjudge_verdicts",
        "flexjudge_queue_depth",
        "flexjudge_batch_size",
        "flexjudge_request_latency_seconds",
        "flexjudge_generated_tokens",
        "flexjudge_rejected",
        "flexjudge_store_hits",
        "flexjudge_store_generated",
        "flexjudge_ready",
    ):
        assert name in families, name
    assert families["flexjudge_request_latency_seconds"].type == "histogram"
    assert server.metric("flexjudge_generated_tokens_total") > 0
    assert server.metric("flexjudge_ready") == 1.0
    assert server.metric("flexjudge_rejected_total", reason="unauthorized") >= 1
    assert server.metric("flexjudge_http_requests_total", endpoint="/v1/judge", code="200") >= 1
