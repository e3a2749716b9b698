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
  error verdict that says so.

Item ids: the record's ``idx`` (or ``index``), else its 0-based row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.loaders import genai_bench_task
from flexjudge.bench.metrics import GENAI_VOTES, Metric, label_accuracy
from flexjudge.bench.predictions import GENAI_VOTE_MAP
from flexjudge.bench.sources import iter_records, resolve_media
from flexjudge.bench.spec import Benchmark, Columns, Decision, Item, Protocol
from flexjudge.prompts.protocol import GENAI_CRITERIA

_GOLD_WINNER = {"leftvote": "A", "rightvote": "B", "tievote": "tie", "bothbad_vote": "tie"}
_EDIT_TEXT = (
    "[Source Image Prompt]\n{source}\n\n[Target Image Prompt]\n{target}\n\n[Editing Prompt]\n{edit}"
)
_NO_MEDIA = (
    "this record has no media (a published judge-result file?): judge from the GenAI-Bench "
    "dataset (TIGER-Lab/GenAI-Bench or a local copy with its images/videos)"
)


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

    def split_from(self, data: str | Path | None) -> str | None:
        return genai_bench_task(data) if data is not None else None

    def items(
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
