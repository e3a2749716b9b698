"""GenAI-Bench (Jiang et al.): image generation, image editing and video generation, judged
with the four-way verdict ([[A>B]], [[B>A]], [[A=B=Good]], [[A=B=Bad]]) against the human vote.

Data, either of:

* the benchmark dataset - a dataset folder or the hub id ``TIGER-Lab/GenAI-Bench`` (config =
  split, hub split ``test_v1``), or a local JSONL / JSON / CSV with the same fields: ``prompt``,
  ``left_image``/``right_image`` (generation), ``source_prompt``, ``target_prompt``,
  ``instruct_prompt``, ``source_image``, ``left_output_image``/``right_output_image`` (editing),
  ``left_video``/``right_video`` (video), and the human vote in ``vote_type`` (or
  ``human_vote``). Media are dataset image cells, PIL images, or paths under ``--media``.
* a published judge-result file (``results/<task>/<judge>/pairwise.jsonl``): it has the human
  votes but no media, so it serves for scoring verdicts; judging from it makes every item an
  error verdict that says so. Its ``model_vote`` s are a published format
  (``genai_bench_results``), read by the leaderboard's vote map (:data:`GENAI_VOTE_MAP`).

Item ids: the record's ``idx`` (or ``index``), else its 0-based row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.metrics import GENAI_VOTES, Metric, label_accuracy
from flexjudge.bench.paper import pair, pct
from flexjudge.bench.records import Fields, iter_jsonl, iter_records, match_ids, resolve_media
from flexjudge.bench.spec import (
    Benchmark,
    Columns,
    Decision,
    Item,
    PaperNumbers,
    PredictionFormat,
    Protocol,
    Published,
)
from flexjudge.prompts.protocol import GENAI_CRITERIA

__all__ = [
    "FORMATS",
    "GENAI_TASKS",
    "GENAI_VOTE_MAP",
    "GenAIBench",
    "GenAIBenchRecord",
    "genai_bench_task",
    "genai_vote",
    "iter_genai_bench",
]

#: GenAI-Bench task names as used in its result paths (``image_edition`` = image editing).
GENAI_TASKS: tuple[str, ...] = ("image_generation", "image_edition", "video_generation")

#: GenAI-Bench's published mapping from a judge's verdict to a human vote. ``[[A=B]]`` is an
#: older tie spelling some judges emit; the leaderboard counts it as ``tievote``.
GENAI_VOTE_MAP: dict[str, str] = {
    "[[A>B]]": "leftvote",
    "[[B>A]]": "rightvote",
    "[[A=B=Good]]": "tievote",
    "[[A=B=Bad]]": "bothbad_vote",
    "[[A=B]]": "tievote",
}

_GOLD_WINNER = {"leftvote": "A", "rightvote": "B", "tievote": "tie", "bothbad_vote": "tie"}
_EDIT_TEXT = (
    "[Source Image Prompt]\n{source}\n\n[Target Image Prompt]\n{target}\n\n[Editing Prompt]\n{edit}"
)
_NO_MEDIA = (
    "this record has no media (a published judge-result file?): judge from the GenAI-Bench "
    "dataset (TIGER-Lab/GenAI-Bench or a local copy with its images/videos)"
)


@dataclass(frozen=True)
class GenAIBenchRecord:
    """One record of a GenAI-Bench judge result file (``results/<task>/<judge>/pairwise.jsonl``).

    ``model_vote`` is kept raw (a ``[[...]]`` string, free text, or ``None`` for a refusal);
    ``prompt`` is ``prompt``, or ``instruct_prompt`` for image editing. The judge's long
    ``response`` text is not kept.
    """

    idx: int
    human_vote: str
    model_vote: str | None
    correct: bool | None
    prompt: str | None
    line: int


def genai_bench_task(path: Path | str) -> str | None:
    """The GenAI-Bench task named by a path component (``image_generation``...), else None."""
    for part in reversed(Path(path).parts):
        if part in GENAI_TASKS:
            return part
    return None


def iter_genai_bench(path: Path | str) -> Iterator[GenAIBenchRecord]:
    """Stream a GenAI-Bench ``pairwise.jsonl``. ``human_vote`` must be one of the four votes."""
    path = Path(path)
    for lineno, obj in iter_jsonl(path):
        f = Fields(obj, path, line=lineno)
        human = f.text("human_vote")
        if human not in GENAI_VOTES:
            raise f.fail(f"human_vote {human!r} is not one of {list(GENAI_VOTES)}")
        prompt = f.text("prompt", optional=True)
        if prompt is None:
            prompt = f.text("instruct_prompt", optional=True)
        yield GenAIBenchRecord(
            idx=f.integer("idx"),
            human_vote=human,
            model_vote=f.text("model_vote", optional=True),
            correct=f.get("correct", bool, optional=True),
            prompt=prompt,
            line=lineno,
        )


def genai_vote(model_vote: object) -> str | None:
    """Map a judge verdict to a GenAI-Bench vote by :data:`GENAI_VOTE_MAP`; anything else
    (``None``, free text such as ``"[[Model A is better: [[A>B]] ]]"``) -> ``None`` (invalid)."""
    return GENAI_VOTE_MAP.get(model_vote) if isinstance(model_vote, str) else None


# Table 3; "+ Majority Voting" (7 samples in the official scorer) as accuracy@vote
PAPER: dict[str, PaperNumbers] = {
    "image_generation": {**pct(accuracy=(43.32, 38.15)), "accuracy@vote": pair(0.4634, 0.4167)},
    "image_edition": {**pct(accuracy=(47.41, 46.73)), "accuracy@vote": pair(0.5419, 0.5201)},
    "video_generation": {**pct(accuracy=(44.78, 37.10)), "accuracy@vote": pair(0.4734, 0.4425)},
}


class GenAIBench(Benchmark):
    name = "genai_bench"
    title = "GenAI-Bench"
    splits = ("image_generation", "image_edition", "video_generation")
    pairwise = True
    media = "image/video"
    protocol = Protocol(
        samples=1,
        aggregate="vote",
        order="fixed",
        tie=True,
        temperature=0.6,
        top_p=0.95,
        note="official: one run, no swapping, T=0.6, top-p 0.95, media "
        "squashed to 448x448 (images; --resize 448 to match); the paper's '+ Majority "
        "Voting' rows are 7 samples with a plurality vote: --samples 7 (accuracy@vote)",
    )
    metric_rules = (
        "accuracy: 4-way exact match with the human vote (tievote and bothbad_vote are "
        "classes like the others), micro over items; verdict [[A>B]]->leftvote, "
        "[[B>A]]->rightvote, [[A=B=Good]]->tievote, [[A=B=Bad]]->bothbad_vote; an invalid "
        "verdict is wrong and counted"
    )
    data_hint = "TIGER-Lab/GenAI-Bench (dataset folder or hub id), config = split"
    paper = PAPER

    def split_from(self, data: str | Path | None) -> str | None:
        return genai_bench_task(data) if data is not None else None

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        for row, (line, rec) in enumerate(iter_records(data, split="test_v1", config=split)):
            vote = rec.get("vote_type", rec.get("human_vote"))
            if vote not in GENAI_VOTES:
                raise BenchmarkDataError(
                    data, f"human vote {vote!r} is not one of {list(GENAI_VOTES)}", line=line
                )
            key = rec.get("idx", rec.get("index", row))
            yield self._item(str(key), rec, split, vote, media_root)

    def _item(
        self, key: str, rec: dict[str, Any], split: str, vote: str, root: Path | None
    ) -> Item:
        kind = "video" if split == "video_generation" else "image"
        if split == "image_edition":
            names = ("left_output_image", "right_output_image")
            instruction = _EDIT_TEXT.format(
                source=rec.get("source_prompt", ""),
                target=rec.get("target_prompt", ""),
                edit=rec.get("instruct_prompt", ""),
            )
        else:
            names = (f"left_{kind}", f"right_{kind}")
            instruction = str(rec.get("prompt") or "")
        fields: dict[str, Any] = {
            "task": "label",
            "instruction": instruction,
            "criteria": GENAI_CRITERIA[split],
        }
        if not any(n in rec for n in names):
            return Item(key, fields, vote, split, problem=_NO_MEDIA)
        problems = []
        responses = []
        for n in names:
            media, problem = resolve_media(rec.get(n), root, kind)
            problems.append(problem)
            responses.append({f"{kind}s": [media] if media is not None else []})
        fields["responses"] = responses
        if split == "image_edition":
            source, problem = resolve_media(rec.get("source_image"), root, "image")
            problems.append(problem)
            fields["images"] = [source] if source is not None else []
        found = [p for p in problems if p]
        return Item(key, fields, vote, split, problem="; ".join(found) if found else None)

    def predict(self, decision: Decision, item: Item) -> Any:
        return GENAI_VOTE_MAP.get(decision.label or "")

    def gold_winner(self, item: Item) -> str | None:
        return _GOLD_WINNER[item.gold]

    def score(self, cols: Columns, split: str) -> dict[str, Metric]:
        return {"accuracy": label_accuracy(cols.preds, cols.golds, vocabulary=GENAI_VOTES)}


# --------------------------------------------------------------------------------------------
# Published judge results (``results/<task>/<judge>/pairwise.jsonl``)
# --------------------------------------------------------------------------------------------


def _is_result_file(kind: str, first: dict[str, Any] | None, path: Path) -> bool:
    return (
        kind == "lines"
        and first is not None
        and "human_vote" in first
        and "model_vote" in first
        and "status" not in first
    )


def _read_results(paths: Sequence[Path], data: Path | None, split: str | None) -> Published:
    predictions = paths[0]
    split = split or genai_bench_task(data or predictions) or genai_bench_task(predictions)
    if split is None:
        raise BenchmarkDataError(
            predictions,
            f"no GenAI-Bench task in the path: pass the split ({', '.join(GENAI_TASKS)})",
        )
    split = GenAIBench().check_split(split)
    recs = list(iter_genai_bench(predictions))
    pred_ids = [str(r.idx) for r in recs]
    if data is None:
        item_ids, labels = pred_ids, [r.human_vote for r in recs]
    else:
        human = [(str(r.idx), r.human_vote) for r in iter_genai_bench(data)]
        item_ids, labels = [i for i, _ in human], [v for _, v in human]
    pos = match_ids(pred_ids, item_ids, predictions, data or predictions)
    cols = Columns()
    null_votes = 0
    for iid, label in zip(item_ids, labels):
        vote = recs[pos[iid]].model_vote
        null_votes += vote is None
        cols.add(Item(iid, None, label, split), genai_vote(vote))
    invalid = sum(p is None for p in cols.preds)
    return Published(
        split,
        cols,
        counts={
            "invalid": invalid,
            "null_votes": null_votes,
            "unmapped_votes": invalid - null_votes,
        },
    )


FORMATS = (
    PredictionFormat(
        name="genai_bench_results",
        benchmark="genai_bench",
        summary="GenAI-Bench judge results (results/<task>/<judge>/pairwise.jsonl: idx, "
        "model_vote, human_vote)",
        rules=(
            "4-way accuracy vs human_vote, micro over items; [[A>B]]->leftvote, [[B>A]]->rightvote, "
            "[[A=B=Good]]->tievote, [[A=B=Bad]]->bothbad_vote, [[A=B]]->tievote; anything else "
            "(null, free text) invalid and counted wrong; the split is the task named in the path"
        ),
        recognise=_is_result_file,
        read=_read_results,
        data="optional",
        example="flexjudge eval genai_bench --predictions "
        "results/image_generation/gemini-1.5-pro/pairwise.jsonl",
    ),
)
