"""PAMPA permeability with a molecule judge: best-of-N selection (the paper's §4 use, Figure 4
middle) and, on a plain labelled molecule list, the judge's own high/low call.

Data: a CSV with a SMILES column (``smiles``, ``SMILES`` or TDC's ``Drug``) and a binary
permeability label (``label``, ``Label``, TDC's ``Y`` or Mol-LLaMA's ``answer``: 1 / 0,
``high`` / ``low``, "High permeability" / "Low-to-moderate permeability"). The official
example's data (``example/pampa/data/pampa.json``, official-code.md §4.2) is absent from the
repository; its keys are inferred there (``smiles``, ``answer`` = "High permeability" or not);
TDC's ``PAMPA_NCATS`` has ``Drug_ID, Drug, Y`` with Y binary. Neither has a numeric target,
so no correlation with one is offered: the metrics are accuracies.

Splits (chosen from the CSV's header when ``--split`` is not given):

* ``best_of_n`` - one row per *candidate answer*: a ``response`` column (a Mol-LLaMA answer
  ending in "Final answer: ...") and optionally ``id`` (rows with the same id, else the same
  SMILES, are one molecule's N candidates) and ``prediction`` (the candidate's call; parsed
  from the text after "Final answer:" otherwise, with the official regexes). The judge sees the
  answer **truncated before "Final answer:"**, as ``pampa/inference_judge.py`` does, and scores
  it 1.0-10.0. ``best_of_n_accuracy``: per molecule, the top-scored candidate's call against
  the label; ties at the top count as the expected accuracy of the official random
  tie-break (the fraction of correct calls among the tied), which is what its 10 seeded-less
  trials estimate. ``candidate_accuracy`` (a random pick, the N=1 baseline) is reported beside.
* ``direct`` - one row per molecule, no response: the judge grades the claim "High
  permeability." (1.0-10.0; the official rubric's 1 = inaccurate, 10 = accurate, 5 =
  uncertain); a score above 5 is a "high" call, below 5 "low", exactly 5 "uncertain" (wrong).
  ``accuracy`` of that call, and ``spearman`` between the score and the 0/1 label (a
  threshold-free check of the same ordering).

Prompt: the official Flex-Mol-LLaMA PAMPA judge prompt, verbatim (request protocol
``pampa``, ``prompts.protocol.PAMPA_JUDGE_SYSTEM``/``PAMPA_JUDGE_USER``). A Mol-LLaMA-compatible
judge reads the molecule through its graph encoders; any other judge sees it as
:attr:`Pampa.molecule_view` (default ``"both"``: RDKit depiction and text) at the same place.
Official judging was greedy (Mol-LLaMA ``generate`` defaults): T=0 here. With 2 or more
candidates per molecule the paper's ``best_of_{N}_accuracy`` (N of them drawn per trial, 10
trials) is reported too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import Metric, best_of_n, label_accuracy, spearman
from flexjudge.bench.records import open_text
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, Protocol
from flexjudge.prompts import protocol as texts

SMILES_COLUMNS = ("smiles", "SMILES", "Drug")
LABEL_COLUMNS = ("label", "Label", "Y", "answer")

CLAIM = "High permeability."
_FINAL = re.compile(r"final answer\s*:", re.IGNORECASE)
_HIGH = re.compile(r"high permeability", re.IGNORECASE)
_LOW = re.compile(r"low-to-moderate|moderate permeability", re.IGNORECASE)


def parse_call(value: Any) -> str | None:
    """A label or prediction as ``"high"`` / ``"low"`` (None when it says neither)."""
    text = str(value).strip().lower()
    if text in ("1", "1.0", "high", "true"):
        return "high"
    if text in ("0", "0.0", "low", "false", "low-to-moderate"):
        return "low"
    if _HIGH.search(text):
        return "high"
    if _LOW.search(text) or "low permeability" in text:
        return "low"
    return None


def split_answer(response: str) -> tuple[str, str | None]:
    """(rationale before the last "Final answer:", the call after it - official regexes)."""
    found = list(_FINAL.finditer(response))
    if not found:
        return response.strip(), None
    cut = found[-1]
    tail = response[cut.end() :]
    call = "high" if _HIGH.search(tail) else "low" if _LOW.search(tail) else None
    return response[: cut.start()].strip(), call


def _column(header: list[str], names: tuple[str, ...], path: Path, what: str) -> str | None:
    for n in names:
        if n in header:
            return n
    if what:
        raise BenchmarkDataError(
            path, f"no {what} column: expected one of {list(names)}, has {header}"
        )
    return None


def _header(path: Path) -> list[str]:
    with open_text(path, "CSV file") as fh:
        return next(csv.reader(fh), [])


class Pampa(Benchmark):
    name = "pampa"
    title = "PAMPA permeability (best-of-N with a molecule judge)"
    splits = ("best_of_n", "direct")
    media = "molecule"
    protocol = Protocol(
        samples=1,
        order="fixed",
        tie=True,
        temperature=0.0,
        top_p=1.0,
        note="official pampa/inference_judge.py: greedy, one run",
    )
    metric_rules = (
        "best_of_n: per molecule the top judge score among candidates with a valid verdict; "
        "tied tops count as the fraction of correct calls among them (expected value of a "
        "random tie-break); a molecule with no valid verdict is wrong and counted in n_invalid; "
        "a candidate without a parsable call is wrong; candidate_accuracy = mean fraction of "
        "correct candidates per molecule; best_of_{N}_accuracy (N = 2, 4, 8, 16 up to the "
        "fewest candidates of a molecule): the official best_of_N.py, N candidates drawn per "
        "molecule per trial, the top score kept, ties at random, mean (population std) over 10 "
        "trials, random pick and oracle beside. direct: score > 5 = high, < 5 = low, 5 = uncertain "
        "(wrong); invalid wrong; spearman of the score vs the 0/1 label, invalid excluded"
    )
    data_hint = (
        "CSV: smiles (or Drug), label (or Y, answer); best_of_n adds response, id, prediction"
    )
    molecule_view = "both"

    def __init__(self, molecule_view: str | None = None) -> None:
        if molecule_view is not None:
            self.molecule_view = molecule_view

    def split_from(self, data: str | Path | None) -> str | None:
        if data is None or not Path(data).is_file():
            return None
        return "best_of_n" if "response" in _header(Path(data)) else "direct"

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        path = Path(data)
        header = _header(path)
        smiles_col = _column(header, SMILES_COLUMNS, path, "SMILES")
        label_col = _column(header, LABEL_COLUMNS, path, "label")
        if split == "best_of_n" and "response" not in header:
            raise BenchmarkDataError(
                path,
                "best_of_n needs a 'response' column (one row per "
                "candidate); use --split direct for a plain list",
            )
        seen: dict[str, int] = {}
        with open_text(path, "CSV file") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                line = reader.line_num
                smiles = (row.get(smiles_col) or "").strip()
                label = parse_call(row.get(label_col, ""))
                if not smiles:
                    raise BenchmarkDataError(path, "empty SMILES", line=line)
                if label is None:
                    raise BenchmarkDataError(
                        path,
                        f"label {row.get(label_col)!r} is not high/low "
                        "(1/0, 'High permeability', ...)",
                        line=line,
                    )
                # The official Flex-Mol-LLaMA PAMPA judge prompt (request protocol "pampa",
                # verbatim in prompts.protocol): it cuts the answer before "Final answer:".
                base = {
                    "task": "score",
                    "protocol": "pampa",
                    "instruction": texts.PAMPA_QUESTION,
                    "molecules": [smiles],
                    "molecule_view": self.molecule_view,
                    "scale": "1.0-10.0",
                }
                mol = (row.get("id") or "").strip() or smiles
                if split == "direct":
                    yield Item(
                        mol if mol not in seen else f"{mol}#{line}",
                        {**base, "responses": [CLAIM]},
                        label,
                        "all",
                        {"line": line},
                    )
                    seen[mol] = 1
                    continue
                response = row.get("response") or ""
                _, call = split_answer(response)
                if (row.get("prediction") or "").strip():
                    call = parse_call(row["prediction"])
                k = seen.get(mol, 0)
                seen[mol] = k + 1
                yield Item(
                    f"{mol}#{k}",
                    {**base, "responses": [response]},
                    call == label,
                    mol,
                    {"call": call, "label": label, "line": line},
                )

    def predict(self, decision: Decision, item: Item) -> Any:
        return decision.scores[0] if decision.scores else None

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        if split == "direct":
            calls = [
                None if s is None else "high" if s > 5 else "low" if s < 5 else "uncertain"
                for s in cols.preds
            ]
            acc = label_accuracy(calls, cols.golds, vocabulary=("high", "low", "uncertain"))
            acc = Metric(
                acc.name,
                acc.value,
                acc.n,
                acc.n_invalid,
                acc.note,
                acc.kind,
                {"uncertain": sum(c == "uncertain" for c in calls)},
            )
            return {
                "accuracy": acc,
                "spearman": spearman(cols.preds, [1.0 if g == "high" else 0.0 for g in cols.golds]),
            }
        correct = [bool(g) for g in cols.golds]
        out = best_of_n(cols.groups, cols.preds, correct)
        out.update(_best_of_n_trials(cols, correct))
        return out


def _best_of_n_trials(cols: Columns, correct: list[bool]) -> dict[str, Metric]:
    """The paper's best-of-N (official ``best_of_N.py``): N of each molecule's candidates drawn
    without replacement per trial, the top judge score kept, ties broken at random, mean over
    10 trials (std population), beside the random pick and the oracle; N = 2, 4, 8, 16 as far
    as every molecule has that many candidates."""
    from flexjudge.judge.best_of_n_eval import evaluate_scores

    positions = [int(i.rsplit("#", 1)[1]) for i in cols.ids]  # ids are f"{molecule}#{k}"
    per_molecule: dict[str, int] = {}
    for g in cols.groups:
        per_molecule[g] = per_molecule.get(g, 0) + 1
    fewest = min(per_molecule.values(), default=0)
    ns = [n for n in (2, 4, 8, 16) if n <= fewest]
    if not ns:
        return {}
    report = evaluate_scores(
        cols.groups, cols.preds, correct, positions=positions, ns=ns, trials=10, seed=0
    )
    out = {}
    for row in report.rows:
        name = f"best_of_{row.n}_accuracy"
        out[name] = Metric(
            name,
            row.judge.mean,
            report.prompts,
            round(row.no_selection.mean),
            "official best_of_N.py: N of the molecule's candidates per trial, random.choice "
            "among tied tops, mean over 10 trials; a molecule with no valid score is wrong",
            "rate",
            {
                "std": row.judge.std,
                "random": row.random.mean,
                "oracle": row.oracle.mean,
                "trials": report.trials,
            },
        )
    return out
