"""A synthetic judging task whose answers a program can verify: "repeat the word".

A response is *exact* (the word), *padded* (the word plus another word) or *wrong* (another
word). Quality is exact > padded > wrong, so single scores, pairwise winners and rankings all
have a known truth, and the reasoning that justifies them can be written mechanically in the
paper's reason-first layout. Small enough for a 1M-parameter model to learn in seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from flexjudge.request import JudgeRequest, Task
from flexjudge.train.data import TrainingExample

WORDS = (
    "apple banana cherry grape lemon mango melon orange peach pear plum kiwi lime "
    "cat dog horse mouse tiger lion bear wolf fox owl duck goat sheep "
    "red blue green yellow purple brown black white pink grey "
    "river mountain forest desert ocean island valley"
).split()

Level = Literal["exact", "padded", "wrong"]
LEVELS: tuple[Level, ...] = ("exact", "padded", "wrong")
#: Points per level on each training scale.
POINTS = {"1-10": {"exact": 9, "padded": 5, "wrong": 2}, "1-5": {"exact": 5, "padded": 3, "wrong": 1}}
_VERDICT = {
    "exact": "which matches the word exactly",
    "padded": "which has the word but adds an extra word",
    "wrong": "which is a different word and does not match",
}


@dataclass(frozen=True)
class Item:
    """A request with its truth: levels of each response in request order."""

    request: JudgeRequest
    levels: tuple[Level, ...]
    example: TrainingExample

    @property
    def gold_winner(self) -> str | None:
        if self.request.task is not Task.PAIRWISE:
            return None
        a, b = (LEVELS.index(x) for x in self.levels)
        return "A" if a < b else "B" if b < a else "tie"


def _response(rng: random.Random, word: str, level: Level) -> str:
    other = rng.choice([w for w in WORDS if w != word])
    return {"exact": word, "padded": f"{word} {other}", "wrong": other}[level]


def make_item(rng: random.Random, task: Task, scale: str, item_id: str) -> Item:
    word = rng.choice(WORDS)
    if task is Task.SCORE:
        levels: tuple[Level, ...] = (rng.choice(LEVELS),)
    elif task is Task.PAIRWISE:
        levels = tuple(rng.sample(LEVELS, 2))  # type: ignore[assignment]
    else:
        levels = tuple(rng.sample(LEVELS, 3))  # type: ignore[assignment]
    responses = [_response(rng, word, lv) for lv in levels]
    request = JudgeRequest.build(id=item_id, task=task, instruction=f"Repeat the word: {word}",
                                 responses=responses, scale=scale)
    lines = [f"The instruction asks to repeat the word {word}."]
    for i, (text, lv) in enumerate(zip(responses, levels)):
        who = "The assistant" if task is Task.SCORE else f"Assistant {i + 1}"
        lines.append(f"{who} wrote {text}, {_VERDICT[lv]}.")
    answers = [str(POINTS[scale][lv]) for lv in levels]
    example = TrainingExample(request, " ".join(lines), answers)
    return Item(request, levels, example)


def make_set(n: int, seed: int, *, mix: dict[Task, float] | None = None,
             prefix: str = "item") -> list[Item]:
    """``n`` items with a seeded mix of formats and both training scales."""
    rng = random.Random(seed)
    mix = mix or {Task.PAIRWISE: 0.4, Task.SCORE: 0.3, Task.BATCH: 0.3}
    tasks, weights = zip(*mix.items())
    return [make_item(rng, rng.choices(tasks, weights)[0], rng.choice(("1-10", "1-5")),
                      f"{prefix}-{i}") for i in range(n)]

