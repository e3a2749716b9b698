"""JudgeLM val 5k (GPT-4 labels), scored like PandaLM (:mod:`._text`).

Data: ``judgelm_val_5k.jsonl``; labels from ``judgelm_val_5k_gpt4.jsonl`` beside it
(line-aligned, ``score: [s1, s2]``: s1 > s2 -> first better, equal -> tie). Items whose GPT-4
score is ``[-1, -1]`` (no judgment) are left out, as JudgeLM's own scorer does, and counted in
the item's absence (the report's ``n``).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.paper import pct
from flexjudge.bench.records import iter_jsonl
from flexjudge.bench.spec import Item, PaperNumbers, Protocol
from flexjudge.bench.suites._text import TextPairwise

# Table 10 ("Agreement" is accuracy)
PAPER: dict[str, PaperNumbers] = {
    "test": pct(
        accuracy=(84.21, 84.12),
        precision=(82.65, 80.95),
        recall=(90.06, 93.51),
        f1=(86.65, 86.78),
    )
}


class JudgeLM(TextPairwise):
    name = "judgelm"
    title = "JudgeLM val 5k (GPT-4 labels)"
    data_hint = "judgelm_val_5k.jsonl with judgelm_val_5k_gpt4.jsonl in the same folder"
    paper = PAPER

    def load_items(
        self, data: str | Path, split: str, *, media_root: Path | None, protocol: Protocol
    ) -> Iterator[Item]:
        data = Path(data)
        labels_path = data.with_name(data.stem + "_gpt4" + data.suffix)
        if not labels_path.is_file():
            raise BenchmarkDataError(
                labels_path, "GPT-4 label file missing (expected beside the data file)"
            )
        for pair in zip_longest(iter_jsonl(data), iter_jsonl(labels_path)):
            if None in pair:
                raise BenchmarkDataError(
                    labels_path, f"has a different number of records than {data}"
                )
            (line, q), (lline, lab) = pair
            if q.get("question_id") != lab.get("question_id"):
                raise BenchmarkDataError(
                    labels_path,
                    f"question_id {lab.get('question_id')!r} does not match line {line} of "
                    f"{data.name} ({q.get('question_id')!r})",
                    line=lline,
                )
            score = lab.get("score")
            if not (
                isinstance(score, list)
                and len(score) == 2
                and all(isinstance(s, (int, float)) for s in score)
            ):
                raise BenchmarkDataError(
                    labels_path, f"score must be [s1, s2], got {score!r}", line=lline
                )
            if score == [-1, -1]:
                continue
            gold = 1 if score[0] > score[1] else 2 if score[0] < score[1] else 0
            for key in ("question_body", "answer1_body", "answer2_body"):
                if not isinstance(q.get(key), str):
                    raise BenchmarkDataError(data, f"missing text field {key!r}", line=line)
            yield Item(
                str(q["question_id"]),
                {
                    "task": "pairwise",
                    "instruction": q["question_body"],
                    "responses": [q["answer1_body"], q["answer2_body"]],
                    "tie": protocol.tie,
                },
                gold,
            )
