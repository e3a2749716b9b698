"""OpenRLHF: ``/get_reward`` called exactly as OpenRLHF 0.11 calls it (``requests.post`` with
its body, no auth header, a 180 s timeout), the ``reward_func.py`` file loaded as OpenRLHF
loads it, and the query split on prompts rendered by real chat templates.

The judge behind the server is the openai engine against ``tests/faulty_server.py`` in its
``ok`` mode: a real HTTP server that always answers with the same valid judgement (9 on 1-10),
so the numbers are known. (A tiny random checkpoint never produces a valid verdict.)"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from _serve_helpers import ServeProcess
from faulty_server import FaultyServer
from flexjudge.errors import InputError
from flexjudge.integrations import openrlhf
from flexjudge.integrations.openrlhf import split_query

NINE = 8 / 9  # 9 on 1-10, on 0..1


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyServer]:
    with FaultyServer() as s:
        yield s


@pytest.fixture(scope="module")
def server(
    upstream: FaultyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("serve-openrlhf")
    proc = ServeProcess(
        [
            "--engine",
            "openai",
            "--model",
            "judge",
            "--base-url",
            upstream.url("ok"),
            "--store",
            str(tmp / "store.sqlite"),
            "--invalid-reward",
            "-1.0",
        ],
        tmp / "server.log",
    )
    try:
        yield proc.wait_ready()
    finally:
        proc.stop()


def _render(model: Path, question: str) -> str:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": question},
    ]
    return str(tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))


def test_split_on_real_chat_templates(tiny_vl: Path, tiny_llama: Path) -> None:
    qwen = _render(tiny_vl, "What is 2+2?")
    assert "<|im_start|>" in qwen
    assert split_query(qwen + "It is 4.<|im_end|>" + "<|endoftext|>" * 3, qwen) == (
        "What is 2+2?",
        "It is 4.",
    )
    assert split_query("<|endoftext|>" * 2 + qwen + "4<|im_end|>", qwen) == (
        "What is 2+2?",
        "4",
    )  # left padding
    llama = _render(tiny_llama, "Name a colour.")
    assert "<|start_header_id|>" in llama
    assert split_query(llama + "Blue.<|eot_id|>", llama) == ("Name a colour.", "Blue.")
    plain = "Question: name a colour.\nAnswer:"
    assert split_query(plain + " Blue.</s>", plain) == (plain, "Blue.")
    with pytest.raises(InputError, match="does not start with its prompt"):
        split_query("something else entirely", qwen)
    with pytest.raises(InputError, match="does not start with its prompt"):
        split_query("noise " + qwen + "4", qwen)


def _openrlhf_post(url: str, queries: list[str], prompts: list[str], labels: list[str]) -> dict:
    """What OpenRLHF 0.11's request_api_wrapper does."""
    response = requests.post(
        url=url,
        json={"query": queries, "prompts": prompts, "labels": labels},
        headers={"Content-Type": "application/json"},
        timeout=180,
    )
    response.raise_for_status()
    return response.json()


def test_get_reward_answers_openrlhf(
    server: ServeProcess, upstream: FaultyServer, tiny_vl: Path
) -> None:
    prompt = _render(tiny_vl, "What is 2+2?")
    upstream.reset()
    body = _openrlhf_post(
        f"{server.url}/get_reward", [prompt + "It is 4.<|im_end|>"], [prompt], ["4 exactly"]
    )
    assert body["rewards"] == pytest.approx([NINE]) and body["scores"] == pytest.approx([NINE])
    assert body["extra_logs"] == {"judge_valid": [1.0], "judge_agreement": [1.0]}
    sent = str(upstream.requests_to("ok")[0].body)
    assert (
        "What is 2+2?" in sent and "It is 4." in sent and "4 exactly" in sent
    )  # the label, as reference
    assert "im_start" not in sent  # the policy's template is not shown to the judge


def test_a_query_without_its_prompt_gets_the_invalid_reward(server: ServeProcess) -> None:
    body = _openrlhf_post(
        f"{server.url}/get_reward", ["unrelated text"], ["<|im_start|>user\nq<|im_end|>"], [""]
    )
    assert body == {
        "rewards": [-1.0],
        "scores": [0.0],
        "extra_logs": {"judge_valid": [0.0], "judge_agreement": [0.0]},
    }


def _load_reward_func() -> object:
    """As OpenRLHF loads a ``--reward.remote_url`` that ends in .py."""
    import flexjudge.integrations.reward_func as shim

    spec = importlib.util.spec_from_file_location("reward_func", shim.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


@pytest.fixture()
def fresh_sources() -> Iterator[None]:
    openrlhf._SOURCES.clear()
    yield
    for source in openrlhf._SOURCES.values():
        if isinstance(source, openrlhf._LocalRewards):
            source.backend.close()
    openrlhf._SOURCES.clear()


def test_reward_func_file_through_the_server(
    server: ServeProcess, tiny_vl: Path, monkeypatch: pytest.MonkeyPatch, fresh_sources: None
) -> None:
    import torch

    monkeypatch.setenv("FLEXJUDGE_URL", server.url)
    prompt = _render(tiny_vl, "Say hi.")
    out = _load_reward_func()(  # type: ignore[operator]
        [prompt + "Hi!<|im_end|>", "junk"], [prompt, prompt], ["", ""]
    )
    assert out["rewards"].dtype == torch.float32
    assert out["rewards"].tolist() == pytest.approx([NINE, -1.0])
    assert out["scores"].tolist() == pytest.approx([NINE, 0.0])
    assert out["extra_logs"]["judge_valid"].tolist() == [1.0, 0.0]


def test_reward_func_judging_in_process(
    tiny_vl: Path, monkeypatch: pytest.MonkeyPatch, fresh_sources: None, tmp_path: Path
) -> None:
    monkeypatch.delenv("FLEXJUDGE_URL", raising=False)
    monkeypatch.setenv("FLEXJUDGE_MODEL", str(tiny_vl))
    monkeypatch.setenv("FLEXJUDGE_JUDGE_OPTIONS", '{"max_new_tokens": 4, "device": "cpu"}')
    monkeypatch.setenv("FLEXJUDGE_INVALID_REWARD", "-0.5")
    monkeypatch.setenv("FLEXJUDGE_STORE", str(tmp_path / "r-{pid}.sqlite"))
    prompt = _render(tiny_vl, "Say hi.")
    out = _load_reward_func()([prompt + "Hi!<|im_end|>"] * 3, [prompt] * 3, None)  # type: ignore[operator]
    # a random checkpoint never answers in the format: invalid, so the stand-in, flagged
    assert out["rewards"].tolist() == [-0.5] * 3 and out["scores"].tolist() == [0.0] * 3
    assert out["extra_logs"]["judge_valid"].tolist() == [0.0] * 3
    assert list(tmp_path.glob("r-*.sqlite"))  # the completions went through the store
