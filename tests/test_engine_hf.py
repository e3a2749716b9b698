"""The transformers engine on real tiny checkpoints, loaded through from_pretrained."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flexjudge import Judge, MediaError, ModelLoadError
from flexjudge.engines import ChatRequest, Message, Part, SamplingParams
from flexjudge.engines.hf import TransformersEngine


def chat(text: str, image=None) -> ChatRequest:
    parts = ([Part("image", media=image)] if image is not None else []) + [Part("text", text=text)]
    return ChatRequest((Message("user", tuple(parts)),), "<think>\n")


@pytest.fixture(scope="module")
def engine(tiny_vl: Path) -> TransformersEngine:
    return TransformersEngine(str(tiny_vl), device="cpu")


def test_votes_share_one_generate_call_and_batches_pad_left(engine, png, monkeypatch):
    calls = []
    original = engine.model.generate

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(engine.model, "generate", spy)
    params = SamplingParams(n=4, max_new_tokens=6, seed=1)
    out = engine.generate([chat("short"), chat("a much longer prompt " * 5, png)], params)
    assert len(calls) == 1 and calls[0]["num_return_sequences"] == 4
    assert [len(c) for c in out] == [4, 4]
    ids = calls[0]["input_ids"]
    assert (ids[0, 0] == engine.tokenizer.pad_token_id).item()  # left padding
    assert all(c.finish_reason == "length" and c.n_tokens == 6 for row in out for c in row)


def test_seed_makes_sampling_reproducible(engine):
    p = SamplingParams(n=2, max_new_tokens=8, seed=7)
    a = engine.generate([chat("hello")], p)
    b = engine.generate([chat("hello")], p)
    c = engine.generate([chat("hello")], SamplingParams(n=2, max_new_tokens=8, seed=8))
    assert [x.text for x in a[0]] == [x.text for x in b[0]]
    assert [x.text for x in a[0]] != [x.text for x in c[0]]


def test_random_model_output_is_an_explicit_invalid_verdict(tiny_vl, png):
    v = Judge(str(tiny_vl), votes=2, order="swap", max_new_tokens=12, device="cpu").compare(
        "Which is better?", "one", "two", images=[png]
    )
    assert v.status == "invalid" and v.winner is None and v.n_votes == 4
    assert all(vote.text and vote.reason for vote in v.votes)


def test_trained_model_stops_after_its_answers(trained_vl):
    v = Judge(str(trained_vl), votes=2, max_new_tokens=96, device="cpu").compare(
        "Repeat the word: plum", "plum", "plum kiwi"
    )
    stopped = [vote for vote in v.votes if vote.finish_reason in ("stop", "eos")]
    assert stopped, [vote.text for vote in v.votes]
    for vote in v.votes:
        if vote.finish_reason == "stop":
            assert vote.text.endswith("</answer>") and vote.text.count("</answer>") == 2


def test_show_prompt_needs_no_weights(tiny_vl):
    engine = TransformersEngine(str(tiny_vl), device="cpu")
    text = engine.render(chat("look", image="unused.png"))
    assert "<|vision_start|><|image_pad|><|vision_end|>" in text
    assert engine._model is None


def test_missing_and_corrupt_images_name_the_file(tiny_vl, tmp_path):
    judge = Judge(str(tiny_vl), max_new_tokens=4, device="cpu")
    with pytest.raises(MediaError, match="nope.png.*does not exist"):
        judge.compare("q", "a", "b", images=[str(tmp_path / "nope.png")])
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(MediaError, match="broken.png.*cannot be read"):
        judge.score("q", "a", images=[str(bad)])
    out = list(
        judge.run(
            [
                {
                    "id": "bad",
                    "task": "score",
                    "instruction": "q",
                    "responses": ["a"],
                    "images": [str(bad)],
                },
                {"id": "good", "task": "score", "instruction": "q", "responses": ["a"]},
            ]
        )
    )
    assert [v.status for v in out] == ["error", "invalid"]
    assert "broken.png" in out[0].error


def test_load_errors_say_what_to_pass(tiny_vl, tmp_path):
    with pytest.raises(ModelLoadError, match="tiny-model"):
        TransformersEngine(str(tmp_path / "no-such-model"))
    bare = tmp_path / "weights-only"
    bare.mkdir()
    for name in ("config.json", "model.safetensors", "generation_config.json"):
        shutil.copy(tiny_vl / name, bare / name)
    with pytest.raises(ModelLoadError, match="processor"):
        TransformersEngine(str(bare))


def test_real_qwen_vocabulary_checkpoint_generates(tiny_vl_qwen, png):
    v = Judge(str(tiny_vl_qwen), max_new_tokens=4, device="cpu").score("q", "a", images=[png])
    assert v.status == "invalid" and v.votes[0].finish_reason == "length"


def test_budget_forcing_continues_a_real_model(trained_vl):
    v = Judge(str(trained_vl), budget_forcing=1, max_new_tokens=160, device="cpu").score(
        "Name a fruit.", "apple"
    )
    text = v.votes[0].text
    # the first </think> was replaced by "Wait" and the model went on from there
    assert "Wait" in text
    assert text.count("</think>") <= 1
