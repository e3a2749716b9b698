"""The evaluation harness on real benchmark files, judged by a scripted engine (a named fake
that returns exact outputs) so that every metric can be checked by hand; the real tiny-model
runs are in test_bench_run.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from rapidfuzz.distance import Levenshtein
from scipy import stats

from flexjudge import Judge
from flexjudge.bench import iter_mllm_judge_batch, iter_mllm_judge_score
from flexjudge.bench.harness import evaluate, score_verdicts
from flexjudge.bench.spec import Protocol
from flexjudge.bench.suites import get_benchmark
from flexjudge.engines.scripted import ScriptedEngine
from flexjudge.errors import ConfigError

MLLM = (
    Path(__file__).parent / "fixtures" / "benchmarks" / "mllm_as_a_judge" / "Dataset" / "Benchmark"
)
PANDALM = Path(__file__).parent / "fixtures" / "benchmarks" / "pandalm" / "testset-v1.json"


def _images(tmp_path: Path, items) -> Path:
    root = tmp_path / "image"
    for it in items:
        (root / it.image_file).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (10, 200, 10)).save(root / it.image_file)
    return root


def _user(request) -> str:
    return request.messages[-1].text()


def test_score_split_runs_mean_vote_and_paper(tmp_path):
    items = list(iter_mllm_judge_score(MLLM / "score.jsonl"))
    runs = {0: [3, 2, 5], 1: [1, 2, 3], 2: [4, 1, 2]}  # run k's score for item i
    answers = [it.answer for it in items]

    def script(request, k):
        i = next(n for n, a in enumerate(answers) if a in _user(request))
        return f"r</think><answer>{runs[k][i]}</answer>"

    judge = Judge(engine=ScriptedEngine(script))
    r = evaluate(
        "mllm_judge",
        MLLM / "score.jsonl",
        judge,
        tmp_path / "o",
        split="score",
        media_root=_images(tmp_path, items),
    )
    human = [it.human for it in items]
    per_run = [stats.pearsonr(runs[k], human)[0] for k in range(3)]
    m = r["metrics"]
    assert r["protocol"]["samples"] == 3 and r["protocol"]["aggregate"] == "mean" and r["runs"] == 3
    assert m["pearson"]["value"] == pytest.approx(sum(per_run) / 3)  # the paper's "average of 3"
    assert m["pearson@runs_median"]["value"] == pytest.approx(sorted(per_run)[1])
    assert m["pearson@runs_worst"]["value"] == pytest.approx(min(per_run))
    voted = [sum(runs[k][i] for k in range(3)) / 3 for i in range(3)]  # mean of the votes
    assert m["pearson@vote"]["value"] == pytest.approx(stats.pearsonr(voted, human)[0])
    assert r["paper"]["pearson"] == {"Flex-VL-7B": 0.332, "Flex-Omni-7B": 0.306}
    report = (tmp_path / "o" / "report.md").read_text()
    assert "| pearson | " in report and "0.3320" in report and "position" not in report.lower()
    # the same verdicts, scored from the file, give the same numbers
    again = score_verdicts(
        "mllm_judge", tmp_path / "o" / "verdicts.jsonl", MLLM / "score.jsonl", split="score"
    )
    assert again["metrics"] == r["metrics"]


def test_batch_split_distance_and_invalid_as_worst(tmp_path):
    items = list(iter_mllm_judge_batch(MLLM / "batch.jsonl"))
    first = [it.answers[0].answer for it in items]

    def script(request, k):
        if first[0] in _user(request):  # human CDAB: C best ... B worst
            return (
                "r</think><answer>5</answer><answer>2</answer><answer>9</answer><answer>7</answer>"
            )
        return "no answer at all"

    protocol = get_benchmark("mllm_judge").protocol.with_overrides(samples=1)
    r = evaluate(
        "mllm_judge",
        MLLM / "batch.jsonl",
        Judge(engine=ScriptedEngine(script)),
        tmp_path / "o",
        split="batch",
        media_root=_images(tmp_path, items),
        protocol=protocol,
    )
    m = r["metrics"]["batch_distance"]
    assert Levenshtein.distance("CDAB", items[0].human) == 0
    assert m["value"] == pytest.approx(0.5) and m["n_invalid"] == 1 and m["kind"] == "distance"
    assert (
        r["counts"]["invalid"] == 1 and r["runs"] == 1 and "batch_distance@vote" not in r["metrics"]
    )


def test_rerun_answers_from_the_store_and_skip_missing(tmp_path):
    eng = ScriptedEngine(["a</think><answer>8</answer><answer>3</answer>"])
    first = evaluate("pandalm", PANDALM, Judge(engine=eng), tmp_path / "o", limit=4)
    calls = len(eng.calls)
    again = evaluate("pandalm", PANDALM, Judge(engine=eng), tmp_path / "o", limit=4)
    assert len(eng.calls) == calls  # nothing generated twice
    assert again["store"]["generated"] == 0 and again["store"]["from_store"] == 4
    assert again["metrics"] == first["metrics"]
    assert first["position_bias"]["first_position_win_rate"] == 1.0  # always "A"


def test_missing_images_error_or_skip(tmp_path):
    eng = ScriptedEngine(["a</think><answer>8</answer><answer>3</answer>"])
    data = MLLM / "pair.jsonl"
    r = evaluate(
        "mllm_judge",
        data,
        Judge(engine=eng),
        tmp_path / "e",
        split="pair",
        media_root=tmp_path / "nowhere",
    )
    assert r["counts"]["missing_media"] == 3 and r["counts"]["error"] == 3
    assert r["metrics"]["pair_with_tie"]["n_invalid"] == 3 and not eng.calls
    r = evaluate(
        "mllm_judge",
        data,
        Judge(engine=eng),
        tmp_path / "s",
        split="pair",
        media_root=tmp_path / "nowhere",
        missing="skip",
    )
    assert r["counts"]["skipped"] == 3 and r["n_items"] == 0
    assert (tmp_path / "s" / "verdicts.jsonl").read_text() == ""


def test_resize_squashes_images_and_is_recorded(tmp_path):
    seen = []

    def script(request, k):
        seen.extend(p.media.size for m in request.messages for p in m.parts if p.type == "image")
        return "a</think><answer>8</answer><answer>3</answer>"

    items = list(iter_mllm_judge_batch(MLLM / "batch.jsonl"))
    proto = Protocol(samples=1, resize=24)
    r = evaluate(
        "mllm_judge",
        MLLM / "batch.jsonl",
        Judge(engine=ScriptedEngine(script)),
        tmp_path / "o",
        split="batch",
        media_root=_images(tmp_path, items),
        protocol=proto,
    )
    assert seen and set(seen) == {(24, 24)}
    assert r["protocol"]["image_resize"] == "24x24 (squashed)"
    assert Protocol().as_dict()["image_resize"] == "model's own preprocessing"


def test_protocol_and_split_errors():
    with pytest.raises(ConfigError, match="unknown split 'pairs'"):
        get_benchmark("mllm_judge").check_split("pairs")
    with pytest.raises(ConfigError, match="unknown aggregate"):
        Protocol(aggregate="best")
    with pytest.raises(ConfigError, match="unknown benchmark 'mmlu'"):
        get_benchmark("mmlu")
    assert Protocol(resize=448).with_overrides(resize=0).resize is None


def test_cli_list_and_scoring_verdicts(tmp_path):
    exe = shutil.which("flexjudge")
    out = subprocess.run([exe, "eval", "list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "| mllm_judge | pair, score, batch |" in out.stdout
    eng = ScriptedEngine(
        [
            "a</think><answer>8</answer><answer>3</answer>",
            "b</think><answer>1</answer><answer>3</answer>",
        ]
    )
    evaluate("pandalm", PANDALM, Judge(engine=eng), tmp_path / "o", limit=6)
    # a verdict file covering only 6 of 999 items does not match the benchmark: a clear error
    proc = subprocess.run(
        [
            exe,
            "eval",
            "pandalm",
            "--predictions",
            str(tmp_path / "o" / "verdicts.jsonl"),
            "--data",
            str(PANDALM),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "6 verdicts vs 999 items" in proc.stderr
    subset = tmp_path / "six.json"
    subset.write_text(json.dumps(json.loads(PANDALM.read_text())[:6]))
    proc = subprocess.run(
        [
            exe,
            "eval",
            "pandalm",
            "--predictions",
            str(tmp_path / "o" / "verdicts.jsonl"),
            "--data",
            str(subset),
            "--output",
            str(tmp_path / "scored"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    scored = json.loads((tmp_path / "scored" / "metrics.json").read_text())
    judged = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert scored["metrics"] == judged["metrics"]


def test_docs_hold_every_benchmark_reference():
    from flexjudge.cli.eval_cmd import benchmark_reference

    doc = (Path(__file__).parents[1] / "docs" / "evaluation.md").read_text()
    generated = doc.split("<!-- generated: begin -->\n", 1)[1].split("<!-- generated: end -->", 1)[
        0
    ]
    assert generated.strip() == benchmark_reference().strip(), "run: flexjudge eval reference"


def test_shards_judge_apart_and_score_together(tmp_path):
    exe = shutil.which("flexjudge")
    subset = tmp_path / "seven.json"
    subset.write_text(json.dumps(json.loads(PANDALM.read_text())[:7]))
    from flexjudge.run import Shard

    def script(request, k):  # A for even questions, B for odd: a deterministic per-item answer
        i = next(
            n
            for n, it in enumerate(json.loads(subset.read_text()))
            if it["instruction"] in _user(request)
        )
        return (
            "r</think><answer>9</answer><answer>1</answer>"
            if i % 2 == 0
            else "r</think><answer>1</answer><answer>9</answer>"
        )

    whole = evaluate("pandalm", subset, Judge(engine=ScriptedEngine(script)), tmp_path / "whole")
    parts = [
        evaluate(
            "pandalm",
            subset,
            Judge(engine=ScriptedEngine(script)),
            tmp_path / "sharded",
            shard=Shard(i, 3),
        )
        for i in range(3)
    ]
    assert [p["n_items"] for p in parts] == [3, 2, 2] and parts[0]["shard"]["count"] == 3
    files = sorted((tmp_path / "sharded").glob("shard-*/verdicts.jsonl"))
    assert len(files) == 3
    proc = subprocess.run(
        [
            exe,
            "eval",
            "pandalm",
            "--data",
            str(subset),
            "--output",
            str(tmp_path / "scored"),
            *[x for f in files for x in ("--predictions", str(f))],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    scored = json.loads((tmp_path / "scored" / "metrics.json").read_text())
    assert scored["metrics"] == whole["metrics"] and scored["n_items"] == 7
    proc = subprocess.run(
        [
            exe,
            "eval",
            "pandalm",
            "--data",
            str(subset),
            "--predictions",
            str(files[0]),
            "--predictions",
            str(files[0]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "duplicate verdict ids" in proc.stderr


def test_sources_read_folders_and_fail_clearly_on_unreachable_hub_ids(tmp_path, monkeypatch):
    from flexjudge.bench.errors import BenchmarkDataError
    from flexjudge.bench.records import iter_records

    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "test.jsonl").write_text("".join(json.dumps({"i": i}) + "\n" for i in range(3)))
    assert [r["i"] for _, r in iter_records(folder, split="test")] == [0, 1, 2]  # via datasets
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchmarkDataError, match="cannot load as a dataset"):
        list(iter_records("nobody-here/no-such-benchmark", split="test"))
    with pytest.raises(BenchmarkDataError, match="no such file, folder or hub dataset id"):
        list(iter_records(tmp_path / "missing.jsonl"))
