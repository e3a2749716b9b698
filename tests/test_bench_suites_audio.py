"""The ``audio`` benchmark (NISQA, BVCC, SOMOS, VoxSim) and the ``pampa`` molecule benchmark.

Exact metrics: the scripted engine (a named fake) answers a known score per audio file through
the real harness; the expected correlations are computed here with scipy on the same numbers.
Real judging: tiny Qwen2.5-Omni / tiny VL checkpoints through ``flexjudge eval``.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from flexjudge import Judge
from flexjudge.bench.harness import evaluate, score_verdicts
from flexjudge.bench.suites import get_benchmark
from flexjudge.engines import ChatRequest, ScriptedEngine
from flexjudge.prompts import protocol as texts

sf = pytest.importorskip("soundfile")

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"
SOMOS_LIST = FIXTURES / "somos" / "test_mos_list.csv"


def wav(path: Path, rate: int = 16000, freq: float = 220.0, seconds: float = 0.3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, subtype="PCM_16")
    return path


def audio_names(req: ChatRequest) -> list[str]:
    return [Path(str(p.media)).name for m in req.messages for p in m.parts if p.type == "audio"]


def scripted(by_file: dict[str, str]) -> ScriptedEngine:
    """Answers ``<answer>{by_file[first audio's name]}</answer>`` (a raw string: "bad" is an
    output with no answer tag)."""

    def script(req: ChatRequest, k: int) -> str:
        out = by_file[audio_names(req)[0]]
        return "r</think>" + (f"<answer>{out}</answer>" if out != "bad" else "no answer")

    return ScriptedEngine(script, modalities=("image", "video", "audio"))


def metric(result: dict, name: str) -> dict:
    return result["metrics"][name]


# --------------------------------------------------------------------------------------------
# Layouts and items
# --------------------------------------------------------------------------------------------


def test_registered_with_splits_and_protocols():
    b = get_benchmark("audio")
    assert b.splits == ("nisqa", "bvcc", "somos", "voxsim") and b.media == "audio"
    assert {s: b.protocol_for(s).temperature for s in b.splits} == {
        "nisqa": 0.6,
        "bvcc": 0.5,
        "somos": 0.5,
        "voxsim": 0.6,
    }
    assert all(b.protocol_for(s).samples == 1 and b.protocol_for(s).top_p == 0.95 for s in b.splits)
    assert b.check_split(None, SOMOS_LIST) == "somos"
    assert b.check_split(None, "/d/bvcc/main/DATA/sets/test_mos_list.txt") == "bvcc"
    assert b.check_split(None, "/d/voxsim_test_list.txt") == "voxsim"
    assert b.check_split("voxsim", SOMOS_LIST) == "voxsim"


def test_somos_fixture_items_and_systems():
    b = get_benchmark("audio")
    items = list(b.items(SOMOS_LIST, "somos", media_root=None, protocol=b.protocol_for("somos")))
    assert len(items) == 3000 and len({i.id for i in items}) == 3000
    assert len({i.meta["system"] for i in items}) == 201
    first = items[0]
    assert first.id == "LJ002-0181_110.wav" and first.gold == 4.0 and first.meta["system"] == "110"
    assert first.problem and "missing" in first.problem
    assert first.request["protocol"] == "audio_mos" and first.request["scale"] == "1.0-5.0"
    assert first.request["instruction"] == texts.AUDIO_MOS_QUESTION
    assert first.request["responses"][0]["text"] == texts.AUDIO_MOS_ANSWER
    # golds are the published means, not rounded to one decimal
    assert any(abs(i.gold - 3.3333333333333335) < 1e-12 for i in items)


def test_somos_fixture_all_audio_missing_is_counted(tmp_path):
    engine = scripted({})
    r = evaluate("audio", SOMOS_LIST, Judge(engine=engine), tmp_path / "out", split="somos")
    assert engine.calls == []  # nothing judged
    assert (
        r["n_items"] == 3000
        and r["counts"]["missing_media"] == 3000
        and r["counts"]["error"] == 3000
    )
    for k in ("utterance_lcc", "utterance_srcc", "system_lcc", "system_srcc"):
        assert metric(r, k)["value"] is None
    assert metric(r, "utterance_lcc")["n_invalid"] == 3000
    assert metric(r, "system_lcc")["n"] == 201 and metric(r, "system_lcc")["n_invalid"] == 201
    assert r["paper"]["system_lcc"] == {"Flex-Omni-7B": 0.323}
    skipped = evaluate(
        "audio",
        SOMOS_LIST,
        Judge(engine=engine),
        tmp_path / "skip",
        split="somos",
        missing="skip",
        limit=10,
    )
    assert skipped["counts"]["skipped"] == 10 and skipped["n_items"] == 0


# --------------------------------------------------------------------------------------------
# Exact metrics through the harness (scripted engine)
# --------------------------------------------------------------------------------------------

SOMOS_ROWS = [  # utterance, gold MOS, scripted output
    ("s1_001.wav", 2.0, "2.5"),
    ("s2_001.wav", 3.25, "3.0"),
    ("s1_002.wav", 4.5, "4.1"),
    ("s2_002.wav", 3.3333333333333335, "bad"),
    ("s3_002.wav", 4.0, "3.9"),
    ("s1_003.wav", 1.5, "2.2"),
    ("s2_003.wav", 2.75, "1.8"),
    ("s3_003.wav", 3.0, "3.4"),
    ("s1_004.wav", 4.75, "4.4"),
    ("s2_004.wav", 4.25, "4.6"),
]


def somos_tree(root: Path, system_csv: dict[str, float] | None = None) -> Path:
    lst = root / "training_files" / "split1" / "clean" / "test_mos_list.txt"
    lst.parent.mkdir(parents=True)
    lst.write_text("utteranceId,mean\n" + "".join(f"{u},{m}\n" for u, m, _ in SOMOS_ROWS))
    for i, (u, _, _) in enumerate(SOMOS_ROWS):
        wav(root / "audios" / u, freq=150 + 20 * i)
    if system_csv is not None:
        (lst.parent / "test_system.csv").write_text(
            "systemId,mean\n" + "".join(f"{s},{m}\n" for s, m in system_csv.items())
        )
    return lst


def expected_system(
    values: dict[str, list[float]], targets: dict[str, float]
) -> tuple[float, float]:
    names = sorted(values)
    xs, ys = [float(np.mean(values[s])) for s in names], [targets[s] for s in names]
    return stats.pearsonr(xs, ys)[0], stats.spearmanr(xs, ys)[0]


def test_somos_exact_metrics_and_rescoring(tmp_path):
    lst = somos_tree(tmp_path / "somos")
    engine = scripted({u: out for u, _, out in SOMOS_ROWS})
    out = tmp_path / "out"
    r = evaluate("audio", lst, Judge(engine=engine), out)  # split from the path
    assert r["split"] == "somos" and r["protocol"]["temperature"] == 0.5
    assert engine.calls and all(p.temperature == 0.5 and p.top_p == 0.95 for _, p in engine.calls)
    valid = [(float(o), m, u.split("_")[1][:3]) for u, m, o in SOMOS_ROWS if o != "bad"]
    preds, golds = [v[0] for v in valid], [v[1] for v in valid]
    lcc, srcc = metric(r, "utterance_lcc"), metric(r, "utterance_srcc")
    assert lcc["value"] == pytest.approx(stats.pearsonr(preds, golds)[0], abs=1e-12)
    assert srcc["value"] == pytest.approx(stats.spearmanr(preds, golds)[0], abs=1e-12)
    assert lcc["n"] == 10 and lcc["n_invalid"] == 1 and r["counts"]["invalid"] == 1
    # not the official 3.0 fallback
    with_fallback = [float(o) if o != "bad" else 3.0 for _, _, o in SOMOS_ROWS]
    assert lcc["value"] != pytest.approx(
        stats.pearsonr(with_fallback, [m for _, m, _ in SOMOS_ROWS])[0]
    )
    # system level: mean of valid predictions vs mean utterance MOS (no system file here)
    sys_preds: dict[str, list[float]] = {}
    sys_golds: dict[str, list[float]] = {}
    for u, m, o in SOMOS_ROWS:
        s = u.split("_")[1][:3]
        sys_golds.setdefault(s, []).append(m)
        if o != "bad":
            sys_preds.setdefault(s, []).append(float(o))
    e_lcc, e_srcc = expected_system(sys_preds, {s: float(np.mean(v)) for s, v in sys_golds.items()})
    assert metric(r, "system_lcc")["value"] == pytest.approx(e_lcc, abs=1e-12)
    assert metric(r, "system_srcc")["value"] == pytest.approx(e_srcc, abs=1e-12)
    assert (
        metric(r, "system_lcc")["n"] == 4
        and metric(r, "system_lcc")["details"]["invalid_utterances"] == 1
    )
    assert "mean MOS of the system's utterances" in metric(r, "system_lcc")["note"]
    # the written verdicts score to the same metrics
    again = score_verdicts("audio", out / "verdicts.jsonl", lst)
    assert again["metrics"] == r["metrics"] and again["counts"] == r["counts"]
    assert json.loads((out / "metrics.json").read_text())["metrics"] == r["metrics"]


def test_somos_system_file_targets(tmp_path):
    targets = {"001": 3.9, "002": 2.0, "003": 3.1, "004": 4.0}
    lst = somos_tree(tmp_path / "somos", targets)
    r = evaluate(
        "audio", lst, Judge(engine=scripted({u: o for u, _, o in SOMOS_ROWS})), tmp_path / "o"
    )
    sys_preds: dict[str, list[float]] = {}
    for u, _, o in SOMOS_ROWS:
        if o != "bad":
            sys_preds.setdefault(u.split("_")[1][:3], []).append(float(o))
    e_lcc, e_srcc = expected_system(sys_preds, targets)
    assert metric(r, "system_lcc")["value"] == pytest.approx(e_lcc, abs=1e-12)
    assert metric(r, "system_srcc")["value"] == pytest.approx(e_srcc, abs=1e-12)
    assert "system MOS file" in metric(r, "system_lcc")["note"]


def test_bvcc_layout_systems_and_missing(tmp_path):
    data = tmp_path / "bvcc" / "main" / "DATA"
    rows = [
        ("sysA-u1.wav", 2.5, "2.0"),
        ("sysA-u2.wav", 3.0, "3.5"),
        ("sysB-u1.wav", 4.5, "4.0"),
        ("sysB-u2.wav", 4.0, "4.5"),
        ("sysC-u1.wav", 1.25, "1.5"),
        ("sysC-u2.wav", 2.0, None),
    ]
    (data / "sets").mkdir(parents=True)
    (data / "sets" / "test_mos_list.txt").write_text("".join(f"{w},{m}\n" for w, m, _ in rows))
    (data / "mydata_system.csv").write_text("system_ID,mean\nsysA,2.9\nsysB,4.1\nsysC,1.6\n")
    for i, (w, _, o) in enumerate(rows):
        if o is not None:  # sysC-u2.wav is missing on disk
            wav(data / "wav" / w, freq=180 + 25 * i)  # distinct content: the store keys by it
    engine = scripted({w: o for w, _, o in rows if o})
    r = evaluate(
        "audio",
        data / "sets" / "test_mos_list.txt",
        Judge(engine=engine),
        tmp_path / "o",
        split="bvcc",
    )
    assert r["counts"]["missing_media"] == 1 and r["counts"]["error"] == 1 and r["n_items"] == 6
    preds = [float(o) for _, _, o in rows if o]
    golds = [m for _, m, o in rows if o]
    assert metric(r, "utterance_lcc")["value"] == pytest.approx(
        stats.pearsonr(preds, golds)[0], abs=1e-12
    )
    assert metric(r, "utterance_lcc")["n_invalid"] == 1
    e_lcc, e_srcc = expected_system(
        {"sysA": [2.0, 3.5], "sysB": [4.0, 4.5], "sysC": [1.5]},
        {"sysA": 2.9, "sysB": 4.1, "sysC": 1.6},
    )
    assert metric(r, "system_lcc")["value"] == pytest.approx(e_lcc, abs=1e-12)
    assert metric(r, "system_srcc")["value"] == pytest.approx(e_srcc, abs=1e-12)
    assert r["paper"]["utterance_lcc"] == {"Flex-Omni-7B": 0.081}


def test_nisqa_folder_of_sets_combined_and_per_set(tmp_path):
    corpus = tmp_path / "NISQA_Corpus"
    sets = {
        "NISQA_TEST_FOR": [("a.wav", 1.8, "2.0"), ("b.wav", 3.6, "3.1"), ("c.wav", 4.2, "4.8")],
        "NISQA_TEST_P501": [("d.wav", 2.2, "1.9"), ("e.wav", 4.4, "3.0"), ("f.wav", 3.1, "3.3")],
    }
    by_file = {}
    for name, rows in sets.items():
        (corpus / name).mkdir(parents=True)
        lines = ["db,filepath_deg,mos"] + [f"{name},{name}/deg/{f},{m}" for f, m, _ in rows]
        (corpus / name / f"{name}_file.csv").write_text("\n".join(lines) + "\n")
        for f, _, o in rows:  # paths relative to the corpus root; distinct content per file
            wav(corpus / name / "deg" / f, rate=22050, freq=200 + 30 * len(by_file))
            by_file[f] = o
    r = evaluate("audio", corpus, Judge(engine=scripted(by_file)), tmp_path / "o", split="nisqa")
    assert r["counts"]["ok"] == 6 and r["protocol"]["temperature"] == 0.6
    allp = [float(o) for rows in sets.values() for _, _, o in rows]
    allg = [m for rows in sets.values() for _, m, _ in rows]
    assert metric(r, "utterance_lcc")["value"] == pytest.approx(
        stats.pearsonr(allp, allg)[0], abs=1e-12
    )
    assert metric(r, "utterance_srcc")["value"] == pytest.approx(
        stats.spearmanr(allp, allg)[0], abs=1e-12
    )
    p501 = sets["NISQA_TEST_P501"]
    assert metric(r, "utterance_srcc/NISQA_TEST_P501")["value"] == pytest.approx(
        stats.spearmanr([float(o) for *_, o in p501], [m for _, m, _ in p501])[0], abs=1e-12
    )
    assert "system_lcc" not in r["metrics"]
    # one CSV alone: its paths still resolve from the corpus root
    one = evaluate(
        "audio",
        corpus / "NISQA_TEST_FOR" / "NISQA_TEST_FOR_file.csv",
        Judge(engine=scripted(by_file)),
        tmp_path / "o1",
    )
    assert one["split"] == "nisqa" and one["counts"]["ok"] == 3


def test_voxsim_two_audios_and_prompt(tmp_path):
    root = tmp_path / "voxsim"
    rows = [
        ("spk1/a.wav", "spk1/b.wav", 1, 5.5, "5.1"),
        ("spk1/a.wav", "spk2/c.wav", 0, 1.5, "2.4"),
        ("spk2/c.wav", "spk2/d.wav", 1, 4.0, "4.9"),
        ("spk2/d.wav", "spk3/e.wav", 0, 2.0, "1.2"),
    ]
    for i, p in enumerate(sorted({p for r in rows for p in r[:2]})):
        wav(root / "wav" / p, freq=160 + 40 * i)
    (root / "voxsim_test_list.txt").write_text(
        "".join(f"{a},{b},{s},x,{m}\n" for a, b, s, m, _ in rows)
    )
    outs = {f"{Path(a).name}|{Path(b).name}": o for a, b, _, _, o in rows}
    seen: list[ChatRequest] = []

    def script(req: ChatRequest, k: int) -> str:
        seen.append(req)
        return f"r</think><answer>{outs['|'.join(audio_names(req))]}</answer>"

    r = evaluate(
        "audio", root / "voxsim_test_list.txt", Judge(engine=ScriptedEngine(script)), tmp_path / "o"
    )
    assert r["split"] == "voxsim" and r["counts"]["ok"] == 4
    user = seen[0].messages[1].text()
    assert texts.VOXSIM_QUESTION in user and texts.VOXSIM_ANSWER in user
    assert "1.0 to 6.0" in seen[0].messages[0].text()
    preds, golds = [float(r_[4]) for r_ in rows], [r_[3] for r_ in rows]
    assert metric(r, "utterance_lcc")["value"] == pytest.approx(
        stats.pearsonr(preds, golds)[0], abs=1e-12
    )
    assert set(r["metrics"]) == {"utterance_lcc", "utterance_srcc"}


# --------------------------------------------------------------------------------------------
# Real tiny Omni checkpoint through the CLI
# --------------------------------------------------------------------------------------------


def test_cli_eval_somos_with_tiny_omni(tiny_omni, tmp_path):
    lst = somos_tree(tmp_path / "somos")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            shutil.which("flexjudge"),
            "eval",
            "audio",
            "--split",
            "somos",
            "--data",
            str(lst),
            "--model",
            str(tiny_omni),
            "--output",
            str(out),
            "--limit",
            "2",
            "--max-new-tokens",
            "4",
            "--device",
            "cpu",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "metrics.json").read_text())
    assert result["n_items"] == 2 and result["counts"]["missing_media"] == 0
    assert result["counts"]["ok"] + result["counts"]["invalid"] == 2
    assert set(result["metrics"]) == {
        "utterance_lcc",
        "utterance_srcc",
        "system_lcc",
        "system_srcc",
    }
    verdicts = [json.loads(x) for x in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [v["id"] for v in verdicts] == ["s1_001.wav", "s2_001.wav"]
    assert "utterance_lcc" in proc.stdout


# --------------------------------------------------------------------------------------------
# PAMPA
# --------------------------------------------------------------------------------------------

ASPIRIN, CAFFEINE = "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"


def pampa_candidates(tmp_path: Path) -> Path:
    rows = [  # id, smiles, label, response (rationale + final answer), scripted score
        (
            "m1",
            ASPIRIN,
            "High permeability",
            "R11 polar.\n\nFinal answer: High permeability",
            "8.5",
        ),
        (
            "m1",
            ASPIRIN,
            "High permeability",
            "R12 big.\n\nFinal answer: Low-to-moderate permeability",
            "6.0",
        ),
        (
            "m2",
            CAFFEINE,
            "Low-to-moderate permeability",
            "R21 x.\n\nFinal answer: High permeability",
            "7.0",
        ),
        (
            "m2",
            CAFFEINE,
            "Low-to-moderate permeability",
            "R22 y.\n\nFinal answer: Low-to-moderate permeability",
            "7.0",
        ),
        (
            "m2",
            CAFFEINE,
            "Low-to-moderate permeability",
            "R23 z.\n\nFinal answer: moderate permeability",
            "5.0",
        ),
        ("m3", "CCO", "1", "R31 w.\n\nFinal answer: Low-to-moderate permeability", "bad"),
    ]
    import csv

    path = tmp_path / "pampa_candidates.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "smiles", "answer", "response"])
        w.writerows(r[:4] for r in rows)
    return path


def rationale_script(req: ChatRequest, k: int) -> str:
    scores = {"R11": "8.5", "R12": "6.0", "R21": "7.0", "R22": "7.0", "R23": "5.0", "R31": "bad"}
    user = req.messages[1].text()
    assert "Final answer" not in user and texts.PAMPA_QUESTION in user
    out = next(v for k_, v in scores.items() if k_ in user)
    # The PAMPA prompt does not prime <think> (as the official judge): the output opens it.
    return "<think>r</think>" + (f"<answer>{out}</answer>" if out != "bad" else "none")


def test_pampa_best_of_n_exact(tmp_path):
    data = pampa_candidates(tmp_path)
    engine = ScriptedEngine(rationale_script, modalities=("image", "video", "audio"))
    out = tmp_path / "o"
    r = evaluate("pampa", data, Judge(engine=engine), out)
    assert r["split"] == "best_of_n" and r["n_items"] == 6 and r["counts"]["invalid"] == 1
    assert all(p.temperature == 0.0 for _, p in engine.calls)
    # m1: top 8.5 is correct -> 1; m2: tie at 7.0 between a wrong and a right call -> 0.5;
    # m3: its only candidate has no valid score -> wrong, counted
    bon = metric(r, "best_of_n_accuracy")
    assert (
        bon["value"] == pytest.approx((1 + 0.5 + 0) / 3) and bon["n"] == 3 and bon["n_invalid"] == 1
    )
    # random pick: m1 1/2, m2 2/3, m3 0/1
    assert metric(r, "candidate_accuracy")["value"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert score_verdicts("pampa", out / "verdicts.jsonl", data)["metrics"] == r["metrics"]


def test_pampa_direct_and_molecule_view(tmp_path):
    from flexjudge.bench.suites.pampa import Pampa
    from flexjudge.media.molecules import canonical_smiles

    data = tmp_path / "pampa.csv"
    data.write_text(f"Drug_ID,Drug,Y\na,{ASPIRIN},1\nb,{CAFFEINE},0\nc,CCO,1\nd,CCN,0\n")
    scores = {"a": "8.0", "b": "3.0", "c": "5.0", "d": "6.5"}
    by_smiles = {
        canonical_smiles(s): v
        for s, v in ((ASPIRIN, "a"), (CAFFEINE, "b"), ("CCO", "c"), ("CCN", "d"))
    }

    def script(req: ChatRequest, k: int) -> str:  # the text view shows the canonical SMILES
        shown = re.search(r"SMILES: (\S+)", req.messages[1].text()).group(1)
        key = by_smiles[shown]
        return f"<think>r</think><answer>{scores[key]}</answer>"

    engine = ScriptedEngine(script, modalities=("image", "video", "audio"))
    r = evaluate("pampa", data, Judge(engine=engine), tmp_path / "o")
    assert r["split"] == "direct"
    # calls: a high (right), b low (right), c uncertain (wrong), d high (wrong)
    acc = metric(r, "accuracy")
    assert acc["value"] == 0.5 and acc["details"]["uncertain"] == 1
    assert metric(r, "spearman")["value"] == pytest.approx(
        stats.spearmanr([8.0, 3.0, 5.0, 6.5], [1, 0, 1, 0])[0], abs=1e-12
    )
    # molecules shown as image + text by default; the view is the benchmark's setting
    kinds = {p.type for p in engine.calls[0][0][0].messages[1].parts}
    assert "image" in kinds
    item = next(
        Pampa(molecule_view="text").items(data, "direct", media_root=None, protocol=Pampa.protocol)
    )
    assert item.request["molecule_view"] == "text" and item.gold == "high"


def test_cli_eval_pampa_with_tiny_vl(tiny_vl, tmp_path):
    data = pampa_candidates(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            shutil.which("flexjudge"),
            "eval",
            "pampa",
            "--data",
            str(data),
            "--model",
            str(tiny_vl),
            "--output",
            str(out),
            "--limit",
            "2",
            "--max-new-tokens",
            "4",
            "--device",
            "cpu",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "metrics.json").read_text())
    assert result["split"] == "best_of_n" and result["n_items"] == 2
    assert result["counts"]["ok"] + result["counts"]["invalid"] == 2
    assert metric(result, "best_of_n_accuracy")["n"] == 1


def test_pampa_best_of_n_trials_follow_the_official_script(tmp_path):
    """Two candidates per molecule: best_of_2 draws both every trial, so the judge's pick is
    fixed - m1's right answer scores higher (1), m2 has no right answer (0)."""
    data = tmp_path / "bon.csv"
    rows = [
        ("m1", ASPIRIN, "High permeability", "A9 ok.\n\nFinal answer: High permeability"),
        (
            "m1",
            ASPIRIN,
            "High permeability",
            "A3 no.\n\nFinal answer: Low-to-moderate permeability",
        ),
        (
            "m2",
            CAFFEINE,
            "High permeability",
            "B8 no.\n\nFinal answer: Low-to-moderate permeability",
        ),
        (
            "m2",
            CAFFEINE,
            "High permeability",
            "B2 no.\n\nFinal answer: Low-to-moderate permeability",
        ),
    ]
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "smiles", "label", "response"])
        w.writerows(rows)

    def script(req: ChatRequest, k: int) -> str:
        mark = re.search(r"[AB](\d) ", req.messages[1].text()).group(1)
        return f"<think>r</think><answer>{mark}.0</answer>"

    r = evaluate("pampa", data, Judge(engine=ScriptedEngine(script)), tmp_path / "o")
    bo2 = metric(r, "best_of_2_accuracy")
    assert bo2["value"] == pytest.approx(0.5) and bo2["details"]["oracle"] == pytest.approx(0.5)
    assert bo2["details"]["std"] == 0.0 and bo2["details"]["trials"] == 10
