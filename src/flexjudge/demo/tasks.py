"""A synthetic judging task whose answers a program can verify: "name a <category>".

The instruction asks for a word of one category (fruit, animal or colour); each response is
one word. A response from the asked category is *right*, one from the category paired with it
is *near* (fruit-colour, animal-colour, colour-fruit) and any other is *wrong*, so single
scores, pairwise winners and rankings all have a known truth, and the reasoning that justifies
them can be written mechanically in the paper's reason-first layout.

Why this task: a 1M-parameter model trained for a few minutes on a CPU does not learn to copy
arbitrary words from its context (a first "repeat the word" task reached valid outputs but
chance accuracy), while naming a word's category and looking it up in a small table is within
its reach. The reasoning names categories, not the words themselves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from flexjudge.request import JudgeRequest, Task
from flexjudge.testing.tiny.corpus import DEMO_CATEGORIES, DEMO_WORDS
from flexjudge.train.data import TrainingExample

#: Three words per category: with twelve, the tiny model had not learned the word-to-category
#: lookup after 900 steps (slot accuracy at chance); with three it reached 0.90 (measured with
#: all three formats mixed and half the rows without the system prompt). Defined beside the
#: tiny vocabulary, which is built around these words.
CATEGORIES = DEMO_CATEGORIES
NEAR = {"fruit": "colour", "animal": "colour", "colour": "fruit"}
#: Every word of the task.
WORDS = DEMO_WORDS

Level = Literal["right", "near", "wrong"]
LEVELS: tuple[Level, ...] = ("right", "near", "wrong")
#: Points per level on each training scale.
POINTS = {"1-10": {"right": 9, "near": 5, "wrong": 2}, "1-5": {"right": 5, "near": 3, "wrong": 1}}


def _category_for(asked: str, level: Level) -> str:
    if level == "right":
        return asked
    if level == "near":
        return NEAR[asked]
    return next(c for c in CATEGORIES if c not in (asked, NEAR[asked]))


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


def make_item(rng: random.Random, task: Task, scale: str, item_id: str) -> Item:
    asked = rng.choice(list(CATEGORIES))
    n = {Task.SCORE: 1, Task.PAIRWISE: 2, Task.BATCH: 3}[task]
    levels: tuple[Level, ...] = tuple(rng.sample(LEVELS, n))
    categories = [_category_for(asked, lv) for lv in levels]
    responses = [rng.choice(CATEGORIES[c]) for c in categories]
    request = JudgeRequest.build(
        id=item_id, task=task, instruction=f"Name a {asked}.", responses=responses, scale=scale
    )
    lines = [f"The instruction asks for a {asked}."]
    for i, (cat, lv) in enumerate(zip(categories, levels)):
        who = "The assistant" if task is Task.SCORE else f"Assistant {i + 1}"
        lines.append(f"{who} named a {cat}, which is {lv}.")
    answers = [str(POINTS[scale][lv]) for lv in levels]
    return Item(request, levels, TrainingExample(request, " ".join(lines), answers))


def make_set(
    n: int, seed: int, *, mix: dict[Task, float] | None = None, prefix: str = "item"
) -> list[Item]:
    """``n`` items with a seeded mix of formats and both training scales."""
    rng = random.Random(seed)
    mix = mix or {Task.PAIRWISE: 0.4, Task.SCORE: 0.3, Task.BATCH: 0.3}
    tasks, weights = zip(*mix.items())
    return [
        make_item(rng, rng.choices(tasks, weights)[0], rng.choice(("1-10", "1-5")), f"{prefix}-{i}")
        for i in range(n)
    ]
