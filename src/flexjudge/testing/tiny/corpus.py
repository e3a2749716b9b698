"""The built-in text the small tiny-model BPE is trained on: the judge prompts, markup,
scores, judging words, a little prose, and the demo task's words (weighted so that each is one
token, which the demo's tiny model can look up)."""

from __future__ import annotations

from flexjudge.prompts.protocol import (
    BATCH,
    DEFAULT_CRITERIA,
    GENAI_CRITERIA,
    LABEL,
    PAIRWISE,
    PREAMBLE,
    SINGLE,
)

#: The demo task's categories (flexjudge.demo.tasks builds its task from them). They live here,
#: below the demo, because the small vocabulary is built around their words.
DEMO_CATEGORIES: dict[str, list[str]] = {
    "fruit": ["apple", "banana", "cherry"],
    "animal": ["cat", "dog", "horse"],
    "colour": ["red", "blue", "green"],
}
#: Every word of the demo task.
DEMO_WORDS: tuple[str, ...] = tuple(w for words in DEMO_CATEGORIES.values() for w in words)


_JUDGE_MARKUP = (
    "[Question]",
    "[Assistant 1's Answer]",
    "[Assistant 2's Answer]",
    "[Assistant 3's Answer]",
    "[Assistant's Answer]",
    "[The Start of Assistant A's Answer]",
    "[The End of Assistant A's Answer]",
    "[The Start of Assistant B's Answer]",
    "[The End of Assistant B's Answer]",
    "[Reference Answer]",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<think>\n",
    "\n</think>\n",
    "<answer>[[A>B]]</answer>",
    "<answer>[[B>A]]</answer>",
    "<answer>[[A=B=Good]]</answer>",
    "<answer>[[A=B=Bad]]</answer>",
    "system",
    "user",
    "assistant",
    "You are a helpful assistant.",
    "Picture 1: ",
    "Video 1: ",
)


_SCORES = (
    "0 1 2 3 4 5 6 7 8 9 10",
    "0.5 1.5 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5",
    "3.8 4.2 6.7 7.3 8.1 9.4 2.6 1.9 5.0 10.0",
    "<answer>8 3</answer> <answer>2 9</answer> <answer>7</answer> <answer>6 4 9</answer>",
    "<answer>7.5 4.0</answer> <answer>3.8</answer> <answer>9.2 6.1 1.7</answer>",
    "on a scale of 1 to 10",
    "on a scale of 1 to 5",
    "on a scale of 0 to 1",
)


# Grouped by theme; plain words (the pre-tokenizer learns " word" and "Word" forms separately,
# so the prose lines below repeat the most common ones in running text).
_WORDS = """
the a an and or but if then else so because while when where what which who whom whose why
how is are was were be been being am do does did done doing has have had having will would
can could shall should may might must not no yes all any some each every both either neither
none one two three four five six seven eight nine ten first second third last next other
another same different this that these those it its they them their there here he she his
her we our you your i me my to of in on at by for from with without into onto over under
about above below between after before during through across against among around than as up
down out off again more most less least very too also only just even still already yet never
always often sometimes again once The This That These Those It They There Here He She We You
I A An And But Or If When Which What instruction instructions asks ask asked asking repeat
repeats repeated word words wrote write writes written answer answers answered response
responses question questions assistant Assistant assistants Assistants model Model user User
judge judges judged judging score scores scored scoring matches match matched matching
exactly exact adds add added extra correct correctly incorrect wrong right better best worse
worst good bad great poor fine okay accurate accuracy helpful helpfulness relevant relevance
detail details detailed level quality clear clearly concise complete incomplete partial
partially missing misses missed error errors mistake mistakes fact facts factual reason
reasoning reasons step steps explain explains explained explanation evaluate evaluation
evaluates compare compared comparison both neither tie equal equally same similar prefer
preferred preference bias order length style consider considers considered conclusion
conclude overall therefore however although because since thus hence finally first then next
also output outputs input inputs follow follows followed following fails fail failed succeed
correct contains contain include includes included uses use used gives give given provides
provide provided states state stated says say said shows show shown describes describe
description image images picture pictures photo video videos audio sound text caption
captions prompt prompts generated generation edit edited editing object objects scene
background foreground color colour left right top bottom center middle front back inside
outside near far large small big little apple apples banana bananas orange oranges grape
grapes lemon lemons cherry cherries pear pears peach peaches plum plums mango mangoes melon
melons strawberry strawberries kiwi pineapple fruit fruits red green blue yellow purple pink
brown black white gray grey gold silver cat cats dog dogs bird birds fish horse horses cow
cows sheep pig pigs lion lions tiger tigers bear bears wolf fox rabbit mouse mice elephant
monkey duck ducks chicken frog snake zebra giraffe animal animals tree trees flower flowers
grass sky sun moon star stars water sea river lake mountain hill road street car cars bus
train boat plane house houses room table chair door window book books pen paper cup glass
plate box ball toy child children man men woman women person people boy girl friend family
teacher student school city town country world day night morning evening time year years
week today yesterday tomorrow hour minute number numbers count counts total sum math plus
minus times divided equals answer result results value values problem problems solution
solutions true false yes no maybe unknown name names list lists sentence sentences paragraph
story stories poem letter letters line lines page code function variable program language
English translate translation summary summarize spelling grammar format formatted json table
""".split()  # noqa: SIM905 - 602 words read better as text than as a list literal


_PROSE = (
    "The instruction asks to repeat the word apple.",
    "Assistant 1 wrote apple, which matches the instruction exactly.",
    "Assistant 2 wrote apple banana, which adds an extra word and does not match.",
    "Assistant 1 is correct and Assistant 2 is wrong, so Assistant 1 gets the better score.",
    "The question asks which animal is in the picture. The image shows a cat on a red chair.",
    "Assistant A says it is a dog, which is wrong. Assistant B says it is a cat, which is correct.",
    "Both answers are correct, but the first one is more concise and more helpful.",
    "Neither answer is correct: the image is blue, not green or yellow.",
    "The response does not follow the instruction, so it gets a low score.",
    "The answer is accurate, relevant and detailed, so it gets a high score.",
    "Let me think step by step. First, I check whether each answer matches the question.",
    "Wait, the second assistant adds extra words that the user did not ask for.",
    "Score: 8. Score: 3. The better answer is the first one.",
    "Model A is better. Model B is better. Both are good. Both are bad.",
)


def small_corpus() -> list[str]:
    """The built-in training text: judge prompts, markup, scores, words and a little prose."""
    prompts = [PREAMBLE, PAIRWISE, SINGLE, BATCH, LABEL, DEFAULT_CRITERIA]
    prompts += [GENAI_CRITERIA[key] for key in sorted(GENAI_CRITERIA)]
    words = " ".join(_WORDS)
    # Repetition weights the judging words above one-off prompt fragments, so whole words win
    # the merge budget; capitalised and space-prefixed forms are separate BPE words.
    return [
        *prompts,
        *_JUDGE_MARKUP,
        *_SCORES,
        *_PROSE,
        *([words, words.capitalize(), " ".join(w.capitalize() for w in _WORDS)] * 3),
        # Bare forms (a word right after a newline, as a response starts): the demo's response
        # words are weighted so that each is one token, which its tiny model can look up.
        *(["\n".join(_WORDS)] * 3),
        *(["\n" + "\n".join(DEMO_WORDS)] * 12),
        *(_PROSE * 3),
        *(_JUDGE_MARKUP * 3),
    ]
