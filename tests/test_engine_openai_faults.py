"""The OpenAI-compatible engine against a real misbehaving HTTP server on loopback
(tests/faulty_server.py): every call ends within its deadline, malformed answers are errors for
their own item, Retry-After is honoured, and the circuit breaker fails a dead server fast.

Wall-clock bounds carry a generous SLACK: the machine running the suite is shared.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from faulty_server import GOOD, FaultyServer
from flexjudge import Judge
from flexjudge.engines import ChatRequest, Message, Part, SamplingParams
from flexjudge.engines.openai import OpenAIEngine
from flexjudge.errors import ConfigError, EngineError, ServerUnavailable

SLACK = 10.0


@pytest.fixture(scope="module")
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(server: FaultyServer) -> None:
    server.reset()


def chat(text: str = "q", prefix: str = "") -> ChatRequest:
    return ChatRequest((Message("user", (Part("text", text),)),), prefix)


def engine(url: str, **kw: Any) -> OpenAIEngine:
    kw.setdefault("backoff", 0.01)
    return OpenAIEngine("m", base_url=url, api_key_env=None, **kw)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn`` took, and what it returned or raised."""
    t = time.monotonic()
    try:
        out = fn()
    except Exception as exc:
        out = exc
    return time.monotonic() - t, out


P1 = SamplingParams(n=1, max_new_tokens=16)


# -- malformed answers ------------------------------------------------------------------------
MALFORMED = [
    ("empty-choices", "an empty 'choices' list"),
    ("missing-choices", "no 'choices' list"),
    ("short-choices", "an empty 'choices' list"),  # n=1 asked, n-1 = 0 returned
    ("string-choices", "a choice that is a JSON str"),
    ("int-content", "'content' that is a JSON int"),
    ("bad-parts", "a part that is not text ('image_url')"),
    ("not-object", "the body is a JSON list"),
]


@pytest.mark.parametrize(("mode", "why"), MALFORMED)
@pytest.mark.parametrize("n", [1, 3])
def test_malformed_answers_end_as_errors_for_their_item(server, mode, why, n):
    e = engine(server.url(mode))
    elapsed, out = timed(lambda: e.generate([chat()], SamplingParams(n=n, max_new_tokens=8)))
    assert isinstance(out, EngineError) and not isinstance(out, ServerUnavailable)
    assert why in str(out) and "malformed response" in str(out)
    # Not retried (a server that answers garbage answers it again): one request, or two when
    # a short first answer to n=3 is taken as "n is not supported" and a vote is asked alone.
    assert len(server.requests_to(mode)) <= 2 and elapsed < SLACK
    v = Judge(engine=e, votes=n).compare("q", "a", "b")
    assert v.status == "error" and why in v.error


def test_a_short_answer_once_n_is_known_is_an_error(server):
    e = engine(server.url("short-choices"))
    e.supports_n = True  # as if an earlier call had seen the server honour n
    with pytest.raises(EngineError, match="returned 2 choices for n=3"):
        e.generate([chat()], SamplingParams(n=3, max_new_tokens=8))


def test_a_server_ignoring_n_gets_one_request_per_missing_vote(server):
    e = engine(server.url("one-choice"))
    out = e.generate([chat()], SamplingParams(n=3, seed=5, max_new_tokens=8))
    assert [c.text for c in out[0]] == [GOOD] * 3 and e.supports_n is False
    assert [s.body["seed"] for s in server.requests_to("one-choice")] == [5, 6, 7]


def test_content_as_a_list_of_text_parts_is_read(server):
    [[comp]] = engine(server.url("parts-content")).generate([chat()], P1)
    assert comp.text == GOOD and comp.n_tokens == 3


def test_one_bad_item_costs_only_its_own_result(server):
    e = engine(server.url("bad-if", "POISON"))
    batch = [chat("fine"), chat("POISON"), chat("also fine")]
    each = e.generate_each(batch, P1)
    assert isinstance(each[1], EngineError) and "empty 'choices'" in str(each[1])
    assert [c.text for c in each[0]] == [GOOD] and [c.text for c in each[2]] == [GOOD]
    with pytest.raises(EngineError, match="empty 'choices'") as info:
        e.generate(batch, P1)
    assert not isinstance(info.value, ServerUnavailable)  # an item's fault, not the server's


# -- deadlines --------------------------------------------------------------------------------
def test_a_trickling_server_is_cut_off_at_the_deadline(server):
    # One byte every 0.5 s keeps every read under httpx's per-read timeout; the wall-clock
    # deadline around the attempt still ends it.
    e = engine(server.url("trickle", "0.5"), timeout=1.5, max_retries=1)
    elapsed, out = timed(lambda: e.generate([chat()], P1))
    assert isinstance(out, EngineError) and "no complete answer within 1.5 s" in str(out)
    assert len(server.requests_to("trickle", "0.5")) == 2
    assert 2.9 <= elapsed < 3.0 + SLACK


def test_a_silent_server_costs_one_timeout_per_attempt(server):
    e = engine(server.url("silent"), timeout=1.0, max_retries=0)
    elapsed, out = timed(lambda: e.generate([chat()], P1))
    assert isinstance(out, EngineError) and "within 1 s (timeout)" in str(out)
    assert 0.9 <= elapsed < 1.0 + SLACK


def test_total_timeout_bounds_a_whole_call(server):
    e = engine(server.url("silent"), timeout=60.0, max_retries=3, total_timeout=1.0)
    elapsed, out = timed(lambda: e.generate([chat(), chat("r")], P1))
    assert isinstance(out, EngineError) and "total time budget of 1 s exhausted" in str(out)
    assert elapsed < 1.0 + SLACK


def test_a_dropped_connection_is_retried(server):
    e = engine(server.url("drop"), max_retries=1)
    with pytest.raises(EngineError, match="giving up after 2 attempts.*RemoteProtocolError"):
        e.generate([chat()], P1)
    assert len(server.requests_to("drop")) == 2


# -- Retry-After ------------------------------------------------------------------------------
def gap(server: FaultyServer, mode: str, arg: str) -> float:
    first, second = server.requests_to(mode, arg)
    return second.at - first.at


def test_retry_after_in_seconds_is_honoured(server):
    [[comp]] = engine(server.url("retry-after", "1.5")).generate([chat()], P1)
    assert comp.text == GOOD
    # backoff is 0.01 s: only the server's Retry-After explains the wait
    assert 1.4 <= gap(server, "retry-after", "1.5") < 1.5 + SLACK


def test_retry_after_as_an_http_date_is_honoured(server):
    [[comp]] = engine(server.url("retry-after-date", "3")).generate([chat()], P1)
    assert comp.text == GOOD
    # an HTTP date has whole seconds: "3 s ahead" is 2 to 3 s ahead
    assert 1.5 <= gap(server, "retry-after-date", "3") < 3.0 + SLACK


def test_retry_after_beyond_the_cap_fails_at_once(server):
    e = engine(server.url("throttle", "3600"), retry_after_cap=5)
    elapsed, out = timed(lambda: e.generate([chat()], P1))
    assert isinstance(out, ServerUnavailable)
    assert "retry after 3600 s" in str(out) and "retry_after_cap=5 s" in str(out)
    assert len(server.requests_to("throttle", "3600")) == 1 and elapsed < SLACK


def test_rate_limits_are_retried_within_the_bound_and_count_once_per_request(server):
    e = engine(server.url("throttle", "0.2"), max_retries=2, breaker_threshold=2)
    elapsed, out = timed(lambda: e.generate([chat()], P1))
    assert isinstance(out, EngineError) and "giving up after 3 attempts (HTTP 429" in str(out)
    assert len(server.requests_to("throttle", "0.2")) == 3 and 0.39 <= elapsed < SLACK
    # a 429 is a live server asking to slow down: only a request that ran out of attempts
    # on it counts towards the breaker, once
    assert e.breaker.failures == 1 and not e.breaker.is_open
    with pytest.raises(EngineError):
        e.generate([chat()], P1)
    assert e.breaker.is_open


# -- the circuit breaker ----------------------------------------------------------------------
def test_a_500_storm_opens_the_breaker_and_the_rest_fail_fast(server):
    e = engine(server.url("storm", "500"), breaker_threshold=3, max_retries=2, concurrency=2)
    elapsed, each = timed(lambda: e.generate_each([chat(str(i)) for i in range(8)], P1))
    sent = len(server.requests_to("storm", "500"))
    assert all(isinstance(r, EngineError) for r in each) and elapsed < SLACK
    # K failures open it; at most the requests already in flight follow
    assert 3 <= sent <= 3 + 2
    opened = [r for r in each if isinstance(r, ServerUnavailable)]
    assert len(opened) >= 6
    assert all("circuit breaker open" in str(r) and "HTTP 500" in str(r) for r in opened)
    # later calls fail at once without a request, through the judge too
    elapsed, out = timed(lambda: e.generate([chat("late")], P1))
    assert isinstance(out, ServerUnavailable) and elapsed < SLACK
    verdicts = list(Judge(engine=e).run([_pairwise(i) for i in range(8)]))
    assert [v.status for v in verdicts] == ["error"] * 8
    assert all("circuit breaker open" in v.error for v in verdicts)
    assert len(server.requests_to("storm", "500")) == sent


def _pairwise(i: int) -> dict[str, Any]:
    return {"id": i, "task": "pairwise", "instruction": "q", "responses": ["a", "b"]}


def test_the_breaker_lets_a_probe_through_after_its_cooldown_and_a_success_closes_it(server):
    url = server.url("flaky", "3")  # three 500s, then good answers
    e = engine(url, breaker_threshold=2, max_retries=0, breaker_cooldown=0.3)
    for _ in range(2):
        with pytest.raises(EngineError, match="HTTP 500"):
            e.generate([chat()], P1)
    assert e.breaker.is_open
    with pytest.raises(ServerUnavailable, match="circuit breaker open"):
        e.generate([chat()], P1)
    assert len(server.requests_to("flaky", "3")) == 2  # nothing sent while open
    time.sleep(0.4)
    with pytest.raises(EngineError, match="HTTP 500"):  # the probe, failing: open again
        e.generate([chat()], P1)
    with pytest.raises(ServerUnavailable):
        e.generate([chat()], P1)
    time.sleep(0.4)
    [[comp]] = e.generate([chat()], P1)  # the probe succeeds: closed
    assert comp.text == GOOD and not e.breaker.is_open and e.breaker.failures == 0
    assert len(e.generate([chat(), chat("b")], P1)) == 2
    assert len(server.requests_to("flaky", "3")) == 6


def test_a_refused_key_is_a_server_wide_error(server):
    with pytest.raises(ServerUnavailable, match=r"refused the API key \(HTTP 401\)"):
        engine(server.url("storm", "401")).generate([chat()], P1)
    assert len(server.requests_to("storm", "401")) == 1


# -- server text in messages ------------------------------------------------------------------
def test_an_html_error_page_is_summarised_in_one_short_line(server):
    e = engine(server.url("html", "502"), max_retries=0)
    with pytest.raises(EngineError) as info:
        e.generate([chat()], P1)
    msg = str(info.value)
    assert "HTTP 502" in msg and "502 Bad Gateway" in msg and "more characters" in msg
    assert "<" not in msg and "noise" not in msg and "\n" not in msg and len(msg) < 400
    with pytest.raises(EngineError, match="HTTP 200 with a body that is not JSON"):
        engine(server.url("html", "200"), max_retries=0).generate([chat()], P1)


# -- event loops ------------------------------------------------------------------------------
def test_generate_works_inside_a_running_event_loop(server):
    e = engine(server.url("ok"))

    async def app() -> Any:
        assert asyncio.get_running_loop()  # a notebook or an async web app
        return e.generate([chat(), chat("b")], P1)

    out = asyncio.run(app())
    assert [[c.text for c in x] for x in out] == [[GOOD], [GOOD]]


def test_agenerate_is_a_coroutine_for_async_callers(server):
    e = engine(server.url("ok"), concurrency=2)

    async def app() -> Any:
        return await asyncio.gather(
            e.agenerate([chat("a"), chat("b")], P1), e.agenerate_each([chat("c")], P1)
        )

    both, each = asyncio.run(app())
    assert len(both) == 2 and [c.text for c in each[0]] == [GOOD]


# -- options ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", 0),
        ("timeout", -1.0),
        ("timeout", math.nan),
        ("connect_timeout", 0),
        ("max_retries", -1),
        ("max_retries", 21),
        ("max_retries", 1.5),
        ("retry_after_cap", -1),
        ("breaker_threshold", 0),
        ("breaker_cooldown", -0.5),
        ("total_timeout", 0),
        ("backoff", -1),
        ("concurrency", 0),
        ("timeout", "10"),
    ],
)
def test_out_of_range_options_are_named(option, value):
    with pytest.raises(ConfigError, match=f"^{option} must be"):
        OpenAIEngine("m", base_url="http://127.0.0.1:1/v1", **{option: value})


@pytest.mark.parametrize("url", ["", "ftp://host/v1", "127.0.0.1:8000/v1", "http:///v1"])
def test_a_base_url_that_is_not_http_is_refused(url):
    with pytest.raises(ConfigError, match="base-url"):
        OpenAIEngine("m", base_url=url)
