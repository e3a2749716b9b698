"""Bad benchmark input is one clear error naming the file (exit status 2 from the CLI), never a
traceback or a run over nothing: empty files, limits below one, splits a benchmark does not
have, a missing media folder, a VoxSim pair with one clip, an audio row with none, a human
score that only looks like a digit."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from flexjudge import Judge
from flexjudge.bench import BenchmarkDataError, get_benchmark, iter_mllm_judge_score
from flexjudge.bench.harness import evaluate
from flexjudge.engines.scripted import ScriptedEngine
from flexjudge.errors import ConfigError

FIX = Path(__file__).parent / "fixtures" / "benchmarks"
MLLM_SCORE = FIX / "mllm_as_a_judge" / "Dataset" / "Benchmark" / "score.jsonl"
PANDALM = FIX / "pandalm" / "testset-v1.json"


def _judge() -> Judge:
    return Judge(engine=ScriptedEngine(["r</think><answer>8</answer><answer>3</answer>"]))


@pytest.mark.parametrize("label", ["²", "٣", "4.5", True])
def test_human_score_must_be_ascii_digits(tmp_path: Path, label: object) -> None:
    rec = json.loads(MLLM_SCORE.read_text().splitlines()[0]) | {"human": label}
    path = tmp_path / "score.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    with pytest.raises(
        BenchmarkDataError, match=r"score\.jsonl, line 1: human score .* is not an integer"
    ):
        list(iter_mllm_judge_score(path))


@pytest.mark.parametrize("text", ["", "\n\n", "[]"])
def test_an_empty_benchmark_is_an_error(tmp_path: Path, text: str) -> None:
    data = tmp_path / "testset-v1.json"
    data.write_text(text)
    with pytest.raises(BenchmarkDataError, match=r"testset-v1\.json"):
        evaluate("pandalm", data, _judge(), tmp_path / "o")
    jsonl = tmp_path / "alignment.jsonl"
    jsonl.write_text(text if text != "[]" else "")
    with pytest.raises(
        BenchmarkDataError, match="no mj_bench items .alignment.: is the file empty"
    ):
        evaluate("mj_bench", jsonl, _judge(), tmp_path / "m")


def test_limit_below_one_is_refused(tmp_path: Path) -> None:
    for limit in (0, -3):
        with pytest.raises(ConfigError, match=f"limit must be at least 1 item, got {limit}"):
            evaluate("pandalm", PANDALM, _judge(), tmp_path / "o", limit=limit)


def test_audio_rows_without_their_clips(tmp_path: Path) -> None:
    audio = get_benchmark("audio")
    voxsim = tmp_path / "voxsim_test_list.txt"
    voxsim.write_text("a.wav,b.wav,1,x,3.5\nc.wav,,0,x,2.0\n")
    with pytest.raises(BenchmarkDataError, match=r"line 2: a voxsim pair needs two clips"):
        list(audio.items(voxsim, "voxsim", media_root=None, protocol=audio.protocol_for("voxsim")))
    bvcc = tmp_path / "main" / "DATA" / "sets" / "test_mos_list.txt"
    bvcc.parent.mkdir(parents=True)
    bvcc.write_text("sys1-utt1.wav,3.5\n,2.0\n")
    with pytest.raises(BenchmarkDataError, match=r"line 2: no audio file named"):
        list(audio.items(bvcc, "bvcc", media_root=None, protocol=audio.protocol_for("bvcc")))


def _eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("flexjudge"), "eval", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_bad_input_exits_2_with_one_error_line(tiny_vl: Path, tmp_path: Path) -> None:
    empty = tmp_path / "testset-v1.json"
    empty.write_text("[]")
    voxsim = tmp_path / "voxsim_test_list.txt"
    voxsim.write_text("c.wav,,0,x,2.0\n")
    model = ["--model", str(tiny_vl), "--output", str(tmp_path / "o"), "--max-new-tokens", "2"]
    genai = FIX / "genai_bench" / "results" / "image_edition" / "random" / "pairwise.jsonl"
    cases = [
        (["pandalm", "--data", str(empty), *model], "no pandalm items"),
        (["pandalm", "--data", str(PANDALM), "--limit", "0", *model], "--limit"),
        (["pandalm", "--data", str(PANDALM), "--limit", "-1", *model], "--limit"),
        (["genai_bench", "--predictions", str(genai), "--split", "imgs"], "unknown split 'imgs'"),
        (["mllm_judge", "--data", str(MLLM_SCORE), "--images", str(tmp_path / "none"), *model],
         "none"),
        (["audio", "--split", "voxsim", "--data", str(voxsim), *model], "needs two clips"),
    ]  # fmt: skip
    for args, says in cases:
        proc = _eval(*args)
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert lines and lines[-1].startswith("error:") and says in proc.stderr, (args, lines)
        assert "Traceback" not in proc.stderr
