"""Secrets never reach what flexjudge prints, logs or writes: the API key, `Authorization`
values and URL credentials, against a real server on loopback that echoes request headers into
its error bodies (tests/faulty_server.py); and the redaction helpers themselves."""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from faulty_server import FaultyServer
from flexjudge import Judge
from flexjudge.engines import ChatRequest, Message, Part, SamplingParams
from flexjudge.engines.openai import OpenAIEngine
from flexjudge.errors import EngineError
from flexjudge.redact import cap, redact, server_text, strip_url_credentials, url_secrets
from flexjudge.store.keys import canonical_json, engine_identity

KEY_ENV = "FLEXJUDGE_TEST_SECRET_KEY"
#: HTTP Basic for the URL credentials "u:p", as the server receives (and echoes) it.
BASIC = base64.b64encode(b"u:p").decode()


@pytest.fixture(scope="module")
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(server: FaultyServer) -> None:
    server.reset()


@pytest.fixture()
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    token = f"sk-fj-{uuid.uuid4().hex}"
    monkeypatch.setenv(KEY_ENV, token)
    return token


def chat() -> ChatRequest:
    return ChatRequest((Message("user", (Part("text", "q"),)),))


def assert_clean(texts: list[str], forbidden: list[str]) -> None:
    for text in texts:
        for secret in forbidden:
            assert secret not in text, f"{secret!r} leaked into {text[:300]!r}"


ECHOING = ["echo:500", "echo:400", "echo:200", "echo:401", "echo-raw:500", "echo-raw:400"]


@pytest.mark.parametrize("spec", ECHOING)
@pytest.mark.parametrize("creds", ["bearer", "url"])
def test_an_echoed_credential_never_reaches_errors_verdicts_logs_or_info(
    server, key, caplog, spec, creds
):
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    mode, _, arg = spec.partition(":")
    if creds == "bearer":
        url, env, sent, forbidden = server.url(mode, arg), KEY_ENV, f"Bearer {key}", [key]
    else:  # credentials in the URL travel as Basic auth and take precedence over the key
        url, env, sent = server.url(mode, arg, userinfo="u:p"), None, f"Basic {BASIC}"
        forbidden = ["u:p", BASIC]
    e = OpenAIEngine("m", base_url=url, api_key_env=env, max_retries=1, backoff=0.01)
    with pytest.raises(EngineError) as info:
        e.generate([chat()], SamplingParams(max_new_tokens=8))
    verdict = Judge(engine=e).compare("q", "a", "b")
    # The test can fail: the server got the credential and sent it back in its body.
    seen = server.requests_to(mode, arg)
    assert seen and all(s.headers["Authorization"] == sent for s in seen)
    texts = [
        str(info.value),
        repr(info.value),
        str(info.value.__cause__),
        json.dumps(verdict.to_json()),
        caplog.text,
        repr(e.info),
        canonical_json(engine_identity(e)),
        e.base_url,
    ]
    assert verdict.status == "error" and "engine failed" in verdict.error
    assert_clean(texts, forbidden)


def test_url_credentials_are_sent_as_basic_auth_and_kept_out_of_info(server):
    e = OpenAIEngine("m", base_url=server.url("ok", userinfo="u:p"), api_key_env=None)
    e.generate([chat()], SamplingParams(max_new_tokens=8))
    assert server.requests_to("ok")[-1].headers["Authorization"] == f"Basic {BASIC}"
    assert e.info.details == {"base_url": f"http://127.0.0.1:{server.port}/ok/v1"}
    assert "u:p" not in canonical_json(engine_identity(e))


def test_a_key_with_a_line_break_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-secret-part\nX-Injected: 1")
    with pytest.raises(Exception, match=KEY_ENV) as info:
        OpenAIEngine("m", base_url="http://127.0.0.1:1/v1", api_key_env=KEY_ENV)
    assert "sk-secret-part" not in str(info.value)


# -- the CLI, end to end ----------------------------------------------------------------------
@pytest.mark.slow
def test_flexjudge_run_writes_no_secret_to_output_store_or_terminal(server, key, tmp_path):
    lines = [
        {"id": f"r{i}", "task": "pairwise", "instruction": "q", "responses": ["a", "b"]}
        for i in range(3)
    ]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    runs = {
        # credentials in the URL, a server echoing the Basic header they become
        "basic": server.url("echo", "500", userinfo="u:p"),
        # the key from the environment, echoed raw (without "Bearer")
        "bearer": server.url("echo-raw", "500"),
        # a good server: the store then holds completions keyed by the engine's identity
        "good": server.url("ok", userinfo="u:p"),
    }
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    produced: list[bytes] = []
    for name, url in runs.items():
        out = tmp_path / name / "verdicts.jsonl"
        out.parent.mkdir()
        proc = subprocess.run(
            [
                *(shutil.which("flexjudge") or "flexjudge", "run", str(requests)),
                *("--engine", "openai", "--base-url", url, "--model", "m"),
                *("--api-key-env", KEY_ENV, "--output", str(out), "--max-new-tokens", "16"),
                *("--timeout", "10", "--max-retries", "1"),
            ],
            capture_output=True,
            timeout=300,
            env=env,
        )
        # exit status 1: every request was an error (a dead server), 0 otherwise
        assert proc.returncode == (0 if name == "good" else 1), proc.stderr.decode()[-2000:]
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        want = "ok" if name == "good" else "error"
        assert [r["status"] for r in rows] == [want] * 3, rows
        files = sorted(p for p in out.parent.iterdir() if p.is_file())
        assert any(p.suffix == ".sqlite" for p in files)
        produced += [proc.stdout, proc.stderr] + [p.read_bytes() for p in files]
        if name == "good":  # the store keys the engine by its credential-free URL
            stored = b"".join(p.read_bytes() for p in files if ".sqlite" in p.name)
            assert f"127.0.0.1:{server.port}/ok/v1".encode() in stored
    # The credentials did travel, so the checks below can fail.
    assert server.requests_to("echo", "500")[0].headers["Authorization"] == f"Basic {BASIC}"
    assert server.requests_to("echo-raw", "500")[0].headers["Authorization"] == f"Bearer {key}"
    for blob in produced:
        for secret in (key, "u:p", BASIC):
            assert secret.encode() not in blob


# -- the redaction helpers --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("Authorization: Bearer sk-abc123def", "sk-abc123def"),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz"),
        ("proxy-authorization=tok_9f8e7d", "tok_9f8e7d"),
        ("sent Bearer eyJhbGciOi.J9.x-y_z", "eyJhbGciOi"),
        ('{"x-api-key": "k-123456"}', "k-123456"),
        ("GET /v1?api_key=qwerty123&x=1", "qwerty123"),
        ("password: hunter22", "hunter22"),
        ("fetch https://alice:s3cr3t@host/v1 failed", "s3cr3t"),
    ],
)
def test_credential_shaped_values_are_masked_without_being_named(text, leak):
    out = redact(text)
    assert leak not in out and "***" in out


def test_named_secrets_are_masked_in_every_form_and_ordinary_words_survive():
    secret = "sk-live/ab+cd"
    text = (
        f"raw {secret}, quoted sk-live%2Fab%2Bcd, b64 {base64.b64encode(secret.encode()).decode()}"
    )
    assert redact(text, [secret]).count("***") == 3
    # short or empty "secrets" are not searched for (they would eat ordinary words)
    assert redact("cmpl upstream max_tokens=5", ["u", "", None]) == "cmpl upstream max_tokens=5"


def test_url_credentials_are_stripped_and_the_rest_kept_verbatim():
    assert strip_url_credentials("https://u:p@h:8000/v1") == "https://h:8000/v1"
    assert strip_url_credentials("http://h/v1?api-version=2024&a=b c") == (
        "http://h/v1?api-version=2024&a=b c"
    )
    assert strip_url_credentials("http://h/v1?key=abc&x=1") == "http://h/v1?key=***&x=1"
    assert url_secrets("http://user:pa%40ss@h/") == [
        "pa%40ss",
        "user:pa%40ss",
        "user:pa@ss",
        "pa@ss",
    ]
    assert url_secrets("http://h/") == []


def test_cap_keeps_one_short_line():
    assert cap("a\n\n b\t\x00c") == "a b c"
    long = cap("x" * 1000, 50)
    assert long.startswith("x" * 50) and long.endswith("[950 more characters]")
    # redaction comes before the cap, so a secret straddling the cut cannot leave a prefix
    text = "y" * 45 + "sk-abcdefghijkl"
    assert "sk-abc" not in server_text(text, ["sk-abcdefghijkl"], 50)
