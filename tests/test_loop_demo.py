"""The loop demo at its quick size, as `flexjudge demo --loop --quick` runs it: a tiny judge and
a tiny policy trained here, then sample -> best-of-n --eval -> sample -> pairs -> dpo ->
sample. At this size the judge's signal is weak, so this checks the machinery: every stage
ran through the stores, the kept pairs are the ones the policy rule allows, DPO's loss fell
and its reward margin rose, and the DPO checkpoint samples again. The full-size numbers are
measured by `flexjudge demo --loop` (docs/loop.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

EXE = shutil.which("flexjudge")


@pytest.mark.slow
def test_the_quick_loop_runs_end_to_end(tmp_path: Path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [EXE, "demo", "--loop", "--quick", "--out", str(tmp_path), "--json"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stderr[-3000:]
    s = json.loads(done.stdout)
    assert s == json.loads((tmp_path / "loop.json").read_text())
    assert 0 <= s["accuracy_before"] <= 1 and 0 <= s["accuracy_after"] <= 1
    best = s["best_of_n"]
    assert [r["n"] for r in best["rows"]] == [2, 4] and best["trials"] == 3
    for row in best["rows"]:
        assert row["random"]["mean"] <= row["oracle"]["mean"]
    both = s["pairs"]["both-orders"]
    assert both["pairs_judged"] == 48 and both["kept"] + sum(both["dropped"].values()) == 48
    assert both["all_won_both_orders_by_chosen"] is True
    # expected-winner keeps a subset of what both-orders keeps: the T = 0.8 winners
    assert s["pairs"]["expected-winner"]["kept"] <= both["kept"]
    if not both["kept"]:  # the quick judge kept nothing: DPO is skipped, and says so
        assert s["dpo"] == {"skipped": "the judge kept no pair"} and s["accuracy_after"] is None
        return
    d = s["dpo"]
    assert d["pairs"] == both["kept"] and d["steps"] >= 1
    assert d["after"]["eval_rewards/margins"] > d["before"]["eval_rewards/margins"]
    assert d["after"]["eval_loss"] < d["before"]["eval_loss"]
    assert (tmp_path / "policy-dpo" / "model.safetensors").is_file()
    rows = [json.loads(line) for line in (tmp_path / "eval-after.jsonl").read_text().splitlines()]
    assert len(rows) == 12 * 4 and all(r["model"].endswith("policy-dpo") for r in rows)
