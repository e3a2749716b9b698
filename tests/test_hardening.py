"""Faults found by trying flexjudge as a hostile user would, each pinned by a test: stop tags
inside the reasoning, molecule paths, broken checkpoints, two runs on one store, async use."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from flexjudge import Judge, OutputError
from flexjudge.cli.main import cli
from flexjudge.engines import ScriptedEngine
from flexjudge.engines.base import SamplingParams, truncate_at_stop
from flexjudge.store import Store

QUOTING = (
    "The prompt says to close each score with </answer>, as in <answer>3</answer><answer>5"
    "</answer>. Both are fine.\n</think><answer>8</answer><answer>4</answer>"
)


def test_stop_tags_count_only_after_the_last_think_close():
    params = SamplingParams(stop=("</answer>",), stop_count=2, stop_after="</think>")
    text, stopped = params.truncate(QUOTING + " trailing")
    assert stopped and text == QUOTING
    # Without the rule the vote would have been cut inside its reasoning.
    cut, _ = truncate_at_stop(QUOTING, ("</answer>",), 2)
    assert cut.endswith("<answer>3</answer>") and "</think>" not in cut


def test_a_vote_whose_reasoning_quotes_the_tag_stays_valid():
    v = Judge(engine=ScriptedEngine([QUOTING])).compare("q", "a", "b")
    assert v.ok and v.scores == [8.0, 4.0]


def test_the_transformers_stop_counter_waits_for_the_think_close(tiny_vl):
    """Feed the real tokenizer's tokens one by one through the engine's stopping criterion."""
    import torch
    from transformers import AutoProcessor

    from flexjudge.engines.hf import StopCounter

    tok = AutoProcessor.from_pretrained(tiny_vl).tokenizer
    ids = tok(QUOTING + " and more", add_special_tokens=False)["input_ids"]
    params = SamplingParams(stop=("</answer>",), stop_count=2, stop_after="</think>")
    counter = StopCounter(tok, params)
    stop_at = None
    for k in range(1, len(ids) + 1):
        if bool(counter(torch.tensor([ids[:k]]), torch.zeros(1, 1))[0]):
            stop_at = k
            break
    assert stop_at is not None
    assert tok.decode(ids[:stop_at]).endswith("<answer>4</answer>")


def test_molecule_files_resolve_against_the_request_file(tiny_vl, tmp_path, monkeypatch):
    from rdkit import Chem

    folder = tmp_path / "data"
    folder.mkdir()
    Chem.MolToMolFile(Chem.MolFromSmiles("CCO"), str(folder / "m.mol"))
    # A different molecule under the same name in the working directory must not be used.
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    Chem.MolToMolFile(Chem.MolFromSmiles("c1ccccc1"), str(elsewhere / "m.mol"))
    monkeypatch.chdir(elsewhere)
    line = {
        "task": "score",
        "instruction": "q",
        "responses": ["a"],
        "molecules": ["m.mol"],
        "molecule_view": "text",
    }
    (folder / "r.jsonl").write_text(json.dumps(line) + "\n")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(folder / "r.jsonl"),
            "--model",
            str(tiny_vl),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--max-new-tokens",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    from flexjudge.run import read_requests

    request = next(read_requests(folder / "r.jsonl"))
    assert request.molecules == [str(folder / "m.mol")]
    prompt = Judge(str(tiny_vl)).prompt(request)
    assert "CCO" in prompt and "c1ccccc1" not in prompt


@pytest.fixture()
def broken(tiny_vl: Path, tmp_path: Path) -> Path:
    """The tiny checkpoint with its weights cut in half."""
    folder = tmp_path / "broken"
    shutil.copytree(tiny_vl, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


def test_a_broken_checkpoint_is_an_error_exit_and_loads_once(broken, tmp_path, monkeypatch):
    result = CliRunner().invoke(
        cli,
        ["score", "--model", str(broken), "-i", "q", "-r", "a", "--max-new-tokens", "2", "--json"],
    )
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["status"] == "error"

    from flexjudge.engines import model_classes

    calls = []
    real = model_classes.load_model_class

    def counting(config):
        calls.append(1)
        return real(config)

    monkeypatch.setattr("flexjudge.engines.hf.load_model_class", counting)
    requests = tmp_path / "r.jsonl"
    requests.write_text(
        "".join(
            json.dumps({"task": "score", "instruction": "q", "responses": [f"a{i}"]}) + "\n"
            for i in range(10)
        )
    )
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(requests),
            "--model",
            str(broken),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--batch-size",
            "2",
        ],
    )
    assert result.exit_code == 1, result.output  # every item failed
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and all(r["status"] == "error" for r in rows)
    assert "cannot load the weights" in rows[0]["error"]
    assert len(calls) == 1  # loaded once, not once per batch


def test_a_second_writer_of_a_store_is_refused_naming_the_holder(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path, lock=True):
        with pytest.raises(OutputError, match=f"process {os.getpid()}"):
            Store(path, lock=True)
        readers = Store(path)  # reading (export, merge sources) takes no lock
        readers.close()
    Store(path, lock=True).close()  # released when the first closed


def test_a_second_run_on_the_same_output_fails_at_once(tiny_vl, tmp_path):
    requests = tmp_path / "r.jsonl"
    requests.write_text(json.dumps({"task": "score", "instruction": "q", "responses": ["a"]}))
    out = tmp_path / "o.jsonl"
    with Store(out.with_suffix(".sqlite"), lock=True):  # as a running `flexjudge run` holds it
        result = CliRunner().invoke(
            cli, ["run", str(requests), "--model", str(tiny_vl), "-o", str(out)]
        )
    assert result.exit_code == 2
    assert f"in use by another run (process {os.getpid()})" in result.output


def test_async_twins_and_sync_calls_inside_a_running_loop():
    judge = Judge(engine=ScriptedEngine(["ok</think><answer>7</answer>"]))

    async def main():
        a = await judge.ascore("q", "a")
        b = await judge.acompare("q", "a", "b", tie=True)
        batch = await judge.arun([{"task": "score", "instruction": "q", "responses": ["x"]}] * 3)
        inside = judge.score("q", "a")  # a sync call from a coroutine works as well
        return a, b, batch, inside

    a, b, batch, inside = asyncio.run(main())
    assert a.ok and a.scores == [7.0] and inside.ok
    assert b.status == "invalid"  # one answer where two are needed: counted, not guessed
    assert [v.scores for v in batch] == [[7.0]] * 3


def test_async_twins_with_a_store(tmp_path):
    """The store's connection serves the worker threads the async twins run in."""
    engine = ScriptedEngine(["ok</think><answer>7</answer>"])
    with Judge(engine=engine, store=tmp_path / "s.sqlite") as judge:

        async def main():
            return await asyncio.gather(*(judge.ascore("q", f"a{i}") for i in range(6)))

        verdicts = asyncio.run(main())
        again = asyncio.run(main())
    assert all(v.ok for v in verdicts + again)
    assert len(engine.calls) == 6  # the second round came from the store


def test_a_frame_folder_video_is_cached_by_its_frames(tmp_path):
    """The store hashes media with media_digest's rules: a folder of frames by its frames (it
    used to fail, trying to read the folder as a file)."""
    from PIL import Image

    frames = tmp_path / "clip"
    frames.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 32), (10 * i, 0, 0)).save(frames / f"{i:03d}.png")
    engine = ScriptedEngine(["ok</think><answer>6</answer>"])
    with Judge(engine=engine, store=tmp_path / "s.sqlite") as judge:
        first = judge.score("q", "a", videos=[str(frames)])
        again = judge.score("q", "a", videos=[str(frames)])
        Image.new("RGB", (32, 32), (0, 99, 0)).save(frames / "001.png")  # new content
        changed = judge.score("q", "a", videos=[str(frames)])
    assert first.ok and again.ok and changed.ok
    assert len(engine.calls) == 2  # the repeat came from the store, the changed clip did not
