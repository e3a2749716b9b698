"""VL-RewardBench, MJ-Bench and Multimodal RewardBench suites: real files (the published
VL-RewardBench data.jsonl, small PNGs, a saved `datasets` folder), judged through the one path
with a scripted engine for exact metrics, and once each end to end with the tiny checkpoint."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from flexjudge.bench.harness import evaluate, score_verdicts
from flexjudge.engines.scripted import ScriptedEngine
from flexjudge.judge.api import Judge

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"
VLRB = FIXTURES / "vl_rewardbench" / "data.jsonl"

GOOD, BAD = "the good answer", "the bad answer"


def _png(path: Path, color: tuple[int, int, int] = (200, 30, 30)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (24, 16), color).save(path)
    return path


def _judge_by_content(req, k: int) -> str:
    """A scripted judge that reads the prompt: it prefers the response that says "good" (or
    "bad" when the question says WRONG), ties on TIE and answers nothing usable on INVALID."""
    text = req.messages[1].text()
    if "INVALID" in text:
        return "I cannot decide."
    if "TIE" in text:
        return "r</think><answer>5</answer><answer>5</answer>"
    good_first = text.index(GOOD) < text.index(BAD)
    prefer_first = good_first != ("WRONG" in text)
    return (
        "r</think><answer>8</answer><answer>3</answer>"
        if prefer_first
        else "r</think><answer>3</answer><answer>8</answer>"
    )


def _metrics(result: dict) -> dict:
    return {k: (m["value"], m["n"], m["n_invalid"]) for k, m in result["metrics"].items()}


def _verdicts(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "verdicts.jsonl").read_text().splitlines()]


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("flexjudge"), "eval", *args, "--max-new-tokens", "4"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


# --------------------------------------------------------------------------------------------
# VL-RewardBench
# --------------------------------------------------------------------------------------------


def _vlrb_record(i: int, folder: str, better_first: bool, query: str) -> dict:
    responses = [GOOD, BAD] if better_first else [BAD, GOOD]
    return {
        "id": f"x-{i}",
        "image_path": f"images/{folder}/{i}.png",
        "query": query,
        "response": responses,
        "human_ranking": [0, 1] if better_first else [1, 0],
        "models": ["m1", "m2"],
        "judge": "human",
        "query_source": "test",
    }


def _vlrb_file(tmp_path: Path) -> Path:
    rows = [
        _vlrb_record(0, "wildvision-battle", True, "q0"),  # general, right
        _vlrb_record(1, "vlfeedback", False, "q1 WRONG"),  # general, wrong
        _vlrb_record(2, "vlfeedback", False, "q2"),  # general, right
        _vlrb_record(3, "povid", True, "q3"),  # hallucination, right
        _vlrb_record(4, "rlhf-v", True, "q4 INVALID"),  # hallucination, invalid
        _vlrb_record(5, "reasoning_tasks", False, "q5"),  # reasoning, right
        _vlrb_record(6, "reasoning_tasks", True, "q6 TIE"),  # reasoning, equal scores
        _vlrb_record(7, "somewhere-else", True, "q7"),  # unknown category, right
    ]
    data = tmp_path / "vlrb" / "data.jsonl"
    data.parent.mkdir(parents=True)
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for r in rows:
        _png(data.parent / r["image_path"])
    return data


def test_vl_rewardbench_metrics_exact_and_rescored(tmp_path):
    data = _vlrb_file(tmp_path)
    engine = ScriptedEngine(_judge_by_content)
    out = tmp_path / "out"
    result = evaluate("vl_rewardbench", data, Judge(engine=engine), out)
    assert result["protocol"]["samples"] == 5 and result["protocol"]["order"] == "random"
    assert result["protocol"]["tie"] is False and result["runs"] == 5
    # tie=False: equal scores are an invalid vote, so item 6 is invalid like item 4 (both wrong)
    assert [v["status"] for v in _verdicts(out)] == ["ok"] * 4 + ["invalid", "ok", "invalid", "ok"]
    m = _metrics(result)
    # headline: the mean over the 5 runs (n and n_invalid summed over runs); @vote: per item
    assert m["overall"] == (pytest.approx(5 / 8), 40, 10)
    assert m["overall@vote"] == (pytest.approx(5 / 8), 8, 2)
    assert m["general"] == (pytest.approx(2 / 3), 15, 0)
    assert m["hallucination"] == (pytest.approx(1 / 2), 10, 5)
    assert m["reasoning"] == (pytest.approx(1 / 2), 10, 5)
    assert m["macro"][0] == pytest.approx((2 / 3 + 1 / 2 + 1 / 2) / 3)
    assert m["macro@vote"][0] == pytest.approx((2 / 3 + 1 / 2 + 1 / 2) / 3)
    assert m["unknown"] == (1.0, 5, 0)  # reported, in overall, not in macro
    assert result["paper"]["overall"]["Flex-VL-7B"] == pytest.approx(0.486)
    assert "position_bias" in result
    rescored = score_verdicts("vl_rewardbench", out / "verdicts.jsonl", data)
    assert rescored["metrics"] == result["metrics"]
    # the prompt does not invite a tie
    system = engine.calls[0][0][0].messages[0].text()
    assert "DO NOT assign the same score" in system


def test_vl_rewardbench_random_order_on_the_published_file(tmp_path):
    """The file lists the better response first 1245/1250 times; random order shows it first
    about half the time, and un-swapping gives back a perfect judge's perfect accuracy."""
    from flexjudge.bench.suites import get_benchmark
    from flexjudge.bench.suites.vl_rewardbench import iter_vl_rewardbench
    from flexjudge.prompts.build import neutralize

    items = list(iter_vl_rewardbench(VLRB))
    assert sum(1 for it in items if it.better == 0) == 1245
    for it in items:
        _png(tmp_path / it.image_path)
    better_of: dict[tuple[str, str], set[str]] = {}
    for it in items:
        pair = tuple(sorted(neutralize(r) for r in it.responses))
        better_of.setdefault(pair, set()).add(neutralize(it.responses[it.better]))
    better_shown_first: list[bool] = []

    def perfect(req, k):
        text = req.messages[1].text()
        first, second = text.split("[Assistant 1's Answer]\n", 1)[1].split(
            "\n\n[Assistant 2's Answer]\n", 1
        )
        is_first = better_of[tuple(sorted((first, second)))] == {first}
        better_shown_first.append(is_first)
        return (
            "r</think><answer>9</answer><answer>2</answer>"
            if is_first
            else "r</think><answer>2</answer><answer>9</answer>"
        )

    bench = get_benchmark("vl_rewardbench")
    protocol = bench.protocol.with_overrides(samples=1)  # the suite's order, one sample: fast
    engine = ScriptedEngine(perfect)
    result = evaluate(
        "vl_rewardbench",
        VLRB,
        Judge(engine=engine),
        tmp_path / "out",
        media_root=tmp_path,
        protocol=protocol,
    )
    # identical records (same prompt, same image file) are answered from the store
    assert len(better_shown_first) + result["store"]["from_store"] == 1250
    share = sum(better_shown_first) / len(better_shown_first)
    assert 0.45 < share < 0.55, share
    m = _metrics(result)
    assert m["overall"][1] == 1250
    assert m["general"][1] == 183 and m["hallucination"][1] == 749 and m["reasoning"][1] == 318
    assert m["overall"][0] == 1.0  # every presented order mapped back to the file's order


def test_vl_rewardbench_id_prefix_rule_matches_the_image_folders():
    from flexjudge.bench.suites.vl_rewardbench import category_of_id, iter_vl_rewardbench

    items = list(iter_vl_rewardbench(VLRB))
    assert all(category_of_id(it.id) == it.category for it in items)


def test_vl_rewardbench_dataset_folder_with_image_column(tmp_path):
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    ds = datasets.Dataset.from_dict(
        {
            "id": ["RLAIF-V-1", "mathverse-2", "wildvision-3"],
            "query": ["q1", "q2 WRONG", "q3"],
            "response": [[GOOD, BAD], [BAD, GOOD], [GOOD, BAD]],
            "human_ranking": [[0, 1], [1, 0], [0, 1]],
            "image": [Image.new("RGB", (20, 20), (i * 50, 0, 0)) for i in range(3)],
        },
        features=datasets.Features(
            {
                "id": datasets.Value("string"),
                "query": datasets.Value("string"),
                "response": datasets.Sequence(datasets.Value("string")),
                "human_ranking": datasets.Sequence(datasets.Value("int64")),
                "image": datasets.Image(),
            }
        ),
    )
    folder = tmp_path / "vlrb_ds"
    ds.save_to_disk(str(folder))
    out = tmp_path / "out"
    result = evaluate(
        "vl_rewardbench", folder, Judge(engine=ScriptedEngine(_judge_by_content)), out
    )
    m = _metrics(result)
    assert m["overall@vote"] == (pytest.approx(2 / 3), 3, 0)
    assert m["hallucination@vote"] == (1.0, 1, 0) and m["reasoning@vote"] == (0.0, 1, 0)
    assert m["general@vote"] == (1.0, 1, 0)
    assert (
        score_verdicts("vl_rewardbench", out / "verdicts.jsonl", folder)["metrics"]
        == result["metrics"]
    )


def test_vl_rewardbench_missing_image_error_or_skip(tmp_path):
    data = _vlrb_file(tmp_path)
    (data.parent / "images" / "povid" / "3.png").unlink()
    result = evaluate(
        "vl_rewardbench", data, Judge(engine=ScriptedEngine(_judge_by_content)), tmp_path / "err"
    )
    assert result["counts"]["missing_media"] == 1 and result["counts"]["error"] == 1
    verdict = _verdicts(tmp_path / "err")[3]
    assert verdict["status"] == "error" and "3.png" in verdict["error"]
    assert _metrics(result)["hallucination@vote"] == (
        0.0,
        2,
        2,
    )  # the missing one is wrong, invalid
    skipped = evaluate(
        "vl_rewardbench",
        data,
        Judge(engine=ScriptedEngine(_judge_by_content)),
        tmp_path / "skip",
        missing="skip",
    )
    assert skipped["counts"]["skipped"] == 1 and skipped["n_items"] == 7
    assert _metrics(skipped)["hallucination@vote"] == (0.0, 1, 1)


def test_vl_rewardbench_cli_with_tiny_model(tiny_vl, tmp_path):
    images = tmp_path / "imgs"
    from flexjudge.bench.suites.vl_rewardbench import iter_vl_rewardbench

    for it, _ in zip(iter_vl_rewardbench(VLRB), range(3)):
        _png(images / it.image_path)
    out = tmp_path / "eval"
    proc = _run_cli(
        "vl_rewardbench",
        "--data",
        str(VLRB),
        "--images",
        str(images),
        "--model",
        str(tiny_vl),
        "--output",
        str(out),
        "--limit",
        "3",
        "--samples",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    verdicts = _verdicts(out)
    assert [v["id"] for v in verdicts] == ["1", "2", "3"]
    assert all(v["status"] == "invalid" and v.get("winner") is None for v in verdicts)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (
        metrics["metrics"]["overall"]["n"] == 3 and metrics["metrics"]["overall"]["n_invalid"] == 3
    )
    assert metrics["metrics"]["overall"]["value"] == 0.0  # invalid counted wrong, never a tie
    assert (out / "report.md").is_file()


# --------------------------------------------------------------------------------------------
# MJ-Bench
# --------------------------------------------------------------------------------------------


def _mj_script(req, k: int) -> str:
    """Image judge: the question names the outcome per presented order. KEEP: prefer the first
    shown image; GOOD0: prefer image0 wherever it is shown (its image is red); TIE; INVALID."""
    text = req.messages[1].text()
    if "INVALID" in text:
        return "no idea"
    if "TIE" in text:
        return "r</think><answer>6</answer><answer>6</answer>"
    images = [p.media for p in req.messages[1].parts if p.type == "image"]
    from PIL import Image

    first = Image.open(images[0]) if isinstance(images[0], str) else images[0]
    first_is_image0 = first.convert("RGB").getpixel((0, 0)) == (200, 30, 30)
    want_image0 = "GOOD1" not in text
    return (
        "r</think><answer>8</answer><answer>2</answer>"
        if first_is_image0 == want_image0
        else "r</think><answer>2</answer><answer>8</answer>"
    )


def _mj_records(tmp_path: Path) -> list[dict]:
    rows = []
    for i, (caption, label) in enumerate(
        [
            ("a cat", 0),
            ("a dog", 0),
            ("a car GOOD1", 0),
            ("a tree TIE", 0),
            ("a cup INVALID", 1),
            ("a hat GOOD1", 1),
        ]
    ):
        _png(tmp_path / "mj" / f"{i}_0.png", (200, 30, 30))
        _png(tmp_path / "mj" / f"{i}_1.png", (30, 30, 200))
        rows.append(
            {"caption": caption, "image0": f"{i}_0.png", "image1": f"{i}_1.png", "label": label}
        )
    return rows


def test_mj_bench_with_and_without_tie_exact(tmp_path):
    rows = _mj_records(tmp_path)
    data = tmp_path / "mj" / "safety.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    engine = ScriptedEngine(_mj_script)
    out = tmp_path / "out"
    result = evaluate("mj_bench", data, Judge(engine=engine), out)  # split from the file name
    assert result["split"] == "safety" and result["protocol"]["order"] == "swap"
    assert result["protocol"]["tie"] is True and result["runs"] == 2  # both orders
    # items: 0,1 right (image0 preferred, gold A); 2 wrong (B); 3 tie; 4 invalid; 5 right (B)
    winners = [v.get("winner") for v in _verdicts(out)]
    assert winners == ["A", "A", "B", "tie", None, "B"]
    m = _metrics(result)
    assert m["accuracy_with_tie"] == (pytest.approx(3 / 6), 6, 1)
    assert m["accuracy_without_tie"] == (pytest.approx(3 / 5), 5, 1)
    assert result["metrics"]["accuracy_without_tie"]["details"]["predicted_ties_excluded"] == 1
    assert result["paper"]["accuracy_with_tie"]["Flex-VL-7B"] == pytest.approx(0.5751)
    # the perspective's criteria sentence, both images as the candidates
    from flexjudge.prompts.protocol import MJ_BENCH_CRITERIA

    chat = engine.calls[0][0][0]
    assert MJ_BENCH_CRITERIA["safety"] in chat.messages[0].text()
    assert "[Assistant 1's Image]" in chat.messages[1].text()
    assert sum(1 for p in chat.messages[1].parts if p.type == "image") == 2
    rescored = score_verdicts("mj_bench", out / "verdicts.jsonl", data)
    assert rescored["metrics"] == result["metrics"]


def test_mj_bench_dataset_folder_missing_image_and_bias(tmp_path):
    datasets = pytest.importorskip("datasets")
    from flexjudge.errors import ConfigError

    rows = _mj_records(tmp_path)[:3]
    cols = {k: [r[k] for r in rows] for k in ("caption", "label")}
    cols["image0"] = [str(tmp_path / "mj" / r["image0"]) for r in rows]
    cols["image1"] = [str(tmp_path / "mj" / r["image1"]) for r in rows]
    ds = (
        datasets.Dataset.from_dict(cols)
        .cast_column("image0", datasets.Image())
        .cast_column("image1", datasets.Image())
    )
    folder = tmp_path / "mj_ds"
    datasets.DatasetDict({"alignment": ds}).save_to_disk(str(folder))
    result = evaluate(
        "mj_bench",
        folder,
        Judge(engine=ScriptedEngine(_mj_script)),
        tmp_path / "o",
        split="alignment",
    )
    assert _metrics(result)["accuracy_with_tie"] == (pytest.approx(2 / 3), 3, 0)
    with pytest.raises(ConfigError, match="bias"):
        evaluate(
            "mj_bench",
            folder,
            Judge(engine=ScriptedEngine(_mj_script)),
            tmp_path / "b",
            split="bias",
        )
    # a missing file: an error verdict, counted; --missing skip leaves it out
    data = tmp_path / "mj" / "quality.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "mj" / "1_1.png").unlink()
    err = evaluate("mj_bench", data, Judge(engine=ScriptedEngine(_mj_script)), tmp_path / "e")
    assert err["counts"]["missing_media"] == 1 and _metrics(err)["accuracy_with_tie"][2] == 1
    assert "1_1.png" in _verdicts(tmp_path / "e")[1]["error"]
    skip = evaluate(
        "mj_bench", data, Judge(engine=ScriptedEngine(_mj_script)), tmp_path / "s", missing="skip"
    )
    assert skip["counts"]["skipped"] == 1 and _metrics(skip)["accuracy_with_tie"][1] == 2


def test_mj_bench_cli_with_tiny_model(tiny_vl, tmp_path):
    rows = _mj_records(tmp_path)[:3]
    data = tmp_path / "mj" / "alignment.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "eval"
    proc = _run_cli(
        "mj_bench",
        "--data",
        str(data),
        "--images",
        str(tmp_path / "mj"),
        "--model",
        str(tiny_vl),
        "--output",
        str(out),
        "--limit",
        "3",
    )
    assert proc.returncode == 0, proc.stderr
    verdicts = _verdicts(out)
    assert len(verdicts) == 3 and all(v["status"] == "invalid" for v in verdicts)
    metrics = json.loads((out / "metrics.json").read_text())
    with_tie = metrics["metrics"]["accuracy_with_tie"]
    assert with_tie["n_invalid"] == 3 and with_tie["details"]["predicted_ties"] == 0  # not ties
    assert metrics["metrics"]["accuracy_without_tie"]["n"] == 3


# --------------------------------------------------------------------------------------------
# Multimodal RewardBench
# --------------------------------------------------------------------------------------------


def _mmrb_file(tmp_path: Path) -> Path:
    spec = [  # (ID, Category, better, question marker)
        ("nocaps_1", "open_generation/correctness_task", "Output1", ""),
        ("visitbench_2", "open_generation/preference_task", "Output2", " WRONG"),
        ("mmmu-s_3", "knowledge", "Output2", ""),
        ("mathvista_4", "reasoning", "Output1", ""),
        ("EMMA-Coding_5", "reasoning", "Output2", " INVALID"),
        ("image2struct_6", "reasoning", "Output1", ""),
        ("pairs_7", "safety", "Output1", " WRONG"),
        ("hateful_8", "safety", "Output2", ""),
        ("RealworldQA_9", "vqa", "Output1", ""),
        ("new_10", "brand_new", "Output1", ""),
    ]
    rows = []
    for rid, cat, better, marker in spec:
        outs = [GOOD, BAD] if better == "Output1" else [BAD, GOOD]
        image = f"images/{rid.split('_')[0]}/{rid}.png"
        _png(tmp_path / "data" / image)
        rows.append(
            {
                "ID": rid,
                "Text": f"question {rid}{marker}",
                "Image": image,
                "Output1": outs[0],
                "Output2": outs[1],
                "Better": better,
                "Category": cat,
            }
        )
    data = tmp_path / "data" / "all_data.json"
    data.write_text(json.dumps(rows, indent=2))
    return data


def test_multimodal_rewardbench_exact(tmp_path):
    data = _mmrb_file(tmp_path)
    out = tmp_path / "out"
    result = evaluate(
        "multimodal_rewardbench", data, Judge(engine=ScriptedEngine(_judge_by_content)), out
    )
    m = _metrics(result)
    assert next(iter(result["metrics"])) == "overall"
    assert m["overall"] == (pytest.approx(7 / 10), 10, 1)
    assert m["general_correctness"] == (1.0, 1, 0)
    assert m["general_preference"] == (0.0, 1, 0)
    assert m["knowledge"] == (1.0, 1, 0)
    assert m["reasoning_math"] == (1.0, 1, 0)
    assert m["reasoning_coding"] == (pytest.approx(1 / 2), 2, 1)
    assert m["safety"] == (pytest.approx(1 / 2), 2, 0)
    assert m["safety/bias"] == (0.0, 1, 0) and m["safety/toxicity"] == (1.0, 1, 0)
    assert m["vqa"] == (1.0, 1, 0) and m["unknown"] == (1.0, 1, 0)
    assert result["paper"]["overall"]["Flex-VL-7B"] == pytest.approx(0.686)
    assert [v["id"] for v in _verdicts(out)][:2] == ["nocaps_1", "visitbench_2"]
    assert (
        score_verdicts("multimodal_rewardbench", out / "verdicts.jsonl", data)["metrics"]
        == result["metrics"]
    )


def test_multimodal_rewardbench_cli_with_tiny_model(tiny_vl, tmp_path):
    data = _mmrb_file(tmp_path)
    (tmp_path / "data" / "images" / "mmmu-s" / "mmmu-s_3.png").unlink()
    out = tmp_path / "eval"
    proc = _run_cli(
        "multimodal_rewardbench",
        "--data",
        str(data),
        "--model",
        str(tiny_vl),
        "--output",
        str(out),
        "--limit",
        "3",
    )
    assert proc.returncode == 0, proc.stderr
    verdicts = _verdicts(out)
    assert [v["status"] for v in verdicts] == ["invalid", "invalid", "error"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["counts"]["missing_media"] == 1
    assert (
        metrics["metrics"]["overall"]["n_invalid"] == 3
        and metrics["metrics"]["overall"]["value"] == 0.0
    )
