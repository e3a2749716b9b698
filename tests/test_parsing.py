"""The parser over realistic outputs, must-not-parse cases, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexjudge.parsing import AnswerSpec, parse_output
from flexjudge.prompts import format_target
from flexjudge.request import Scale, Task

PAIR = AnswerSpec(Task.PAIRWISE, 2, Scale.parse("1-10"))
PAIR_NO_TIE = AnswerSpec(Task.PAIRWISE, 2, Scale.parse("1-10"), tie=False)
SINGLE5 = AnswerSpec(Task.SCORE, 1, Scale.parse("1-5"))
MOS = AnswerSpec(Task.SCORE, 1, Scale.parse("1.0-5.0"))
BATCH3 = AnswerSpec(Task.BATCH, 3, Scale.parse("1-10"))
LABEL = AnswerSpec(Task.LABEL, 1, Scale.parse("1-10"))
SCORE10 = AnswerSpec(Task.SCORE, 1, Scale.parse("1-10"))


@pytest.mark.parametrize(
    "text,spec,scores,label",
    [
        ("A is right.\n</think><answer>8</answer><answer>3</answer>", PAIR, (8, 3), None),
        ("r</think>\n<answer> 8 </answer>\n<answer>3</answer>\n", PAIR, (8, 3), None),
        ("r</think><answer>5</answer><answer>5</answer>", PAIR, (5, 5), None),
        ("r</think><answer>4</answer><|im_end|>", SINGLE5, (4,), None),
        ("r</think><answer>3.8</answer>", MOS, (3.8,), None),
        ("r</think><answer>4</answer>", MOS, (4.0,), None),
        (
            "r</think><answer>9</answer><answer>2</answer><answer>5</answer>",
            BATCH3,
            (9, 2, 5),
            None,
        ),
        ("r</think><answer>[[B>A]]</answer>", LABEL, None, "[[B>A]]"),
        ("r</think><answer>[[B<A]]</answer>", LABEL, None, "[[A>B]]"),
        # the example quoted while thinking is not the answer: only what follows </think> counts
        (
            "The format is <answer>3</answer><answer>5</answer>.\n</think><answer>9</answer><answer>1</answer>",
            PAIR,
            (9, 1),
            None,
        ),
        # reasoning that mentions </think> itself: the last one closes the reasoning
        (
            "I must close with </think> later.</think><answer>2</answer><answer>7</answer>",
            PAIR,
            (2, 7),
            None,
        ),
    ],
)
def test_valid_outputs(text, spec, scores, label):
    p = parse_output(text, spec)
    assert p.valid, p.error
    assert p.scores == (tuple(float(s) for s in scores) if scores else None)
    assert p.label == label


@pytest.mark.parametrize(
    "text,spec,reason",
    [
        ("", PAIR, "empty"),
        ("   \n", PAIR, "empty"),
        ("A is better <answer>8</answer><answer>3</answer>", PAIR, "no_think_close"),
        ("reasoning</think>", PAIR, "no_answer"),
        ("r</think><answer>8</answer>", PAIR, "answer_count"),
        ("r</think><answer>8</answer><answer>3</answer><answer>1</answer>", PAIR, "answer_count"),
        ("r</think>So: <answer>8</answer><answer>3</answer>", PAIR, "stray_text"),
        ("r</think><answer>8</answer> and <answer>3</answer>", PAIR, "stray_text"),
        ("r</think><answer>8</answer><answer>3</answer> Done.", PAIR, "stray_text"),
        ("r</think><answer>eight</answer><answer>3</answer>", PAIR, "not_a_number"),
        ("r</think><answer>8/10</answer><answer>3</answer>", PAIR, "not_a_number"),
        ("r</think><answer>7.5</answer><answer>3</answer>", PAIR, "decimals"),
        ("r</think><answer>3.85</answer>", MOS, "decimals"),
        ("r</think><answer>11</answer><answer>3</answer>", PAIR, "out_of_scale"),
        ("r</think><answer>0</answer><answer>3</answer>", PAIR, "out_of_scale"),
        ("r</think><answer>6</answer>", SINGLE5, "out_of_scale"),
        ("r</think><answer>5.1</answer>", MOS, "out_of_scale"),
        ("r</think><answer>5</answer><answer>5</answer>", PAIR_NO_TIE, "equal_scores"),
        ("r</think><answer>5</answer><answer>5</answer><answer>2</answer>", BATCH3, "equal_scores"),
        ("r</think><answer>[[A>C]]</answer>", LABEL, "unknown_label"),
        # The grammar (parsing/answers.py): labels are case-sensitive, digits ASCII, no sign,
        # and only ASCII white space separates answers.
        ("r</think><answer>[[a=b=good]]</answer>", LABEL, "unknown_label"),
        ("r</think><answer>[[b<a]]</answer>", LABEL, "unknown_label"),
        ("r</think><answer>1\u0660</answer>", SCORE10, "not_a_number"),
        ("r</think><answer>\u0667</answer>", SCORE10, "not_a_number"),
        ("r</think><answer>-0</answer>", SCORE10, "not_a_number"),
        ("r</think><answer>+7</answer>", SCORE10, "not_a_number"),
        ("r</think><answer>7e0</answer>", SCORE10, "not_a_number"),
        ("r</think><answer>\u001c7</answer>", SCORE10, "not_a_number"),
        ("r</think><answer>7</answer>\u0085", SCORE10, "stray_text"),
        ("r</think><answer>[[A=B]]</answer>", LABEL, "unknown_label"),
        ("r</think><answer>A is better</answer>", LABEL, "unknown_label"),
    ],
)
def test_invalid_outputs_have_reasons(text, spec, reason):
    p = parse_output(text, spec)
    assert not p.valid
    assert p.reason == reason
    assert p.scores is None and p.label is None
    assert p.error  # a readable message


def test_unprimed_output_must_open_think():
    text = "<think>fine</think><answer>3</answer>"
    assert parse_output(text, SINGLE5, primed=False).scores == (3.0,)
    assert (
        parse_output("fine</think><answer>3</answer>", SINGLE5, primed=False).reason
        == "no_think_open"
    )


def test_reasoning_is_kept_for_invalid_output():
    p = parse_output("long thoughts</think><answer>x</answer>", SINGLE5)
    assert p.reasoning == "long thoughts" and p.reason == "not_a_number"


scale_strategy = st.sampled_from(["1-10", "1-5", "1.0-5.0", "1.0-6.0"]).map(Scale.parse)


@settings(max_examples=200, deadline=None)
@given(scale=scale_strategy, data=st.data(), reasoning=st.text(max_size=200))
def test_training_targets_round_trip(scale, data, reasoning):
    """Whatever the scale and reasoning text, the target the trainer writes parses back to the
    same scores (the training layout and the parser are one contract)."""
    n = data.draw(st.integers(1, 4))
    task = Task.SCORE if n == 1 else Task.PAIRWISE if n == 2 else Task.BATCH
    steps = round((scale.high - scale.low) * 10**scale.decimals)
    picks = data.draw(st.lists(st.integers(0, steps), min_size=n, max_size=n, unique=True))
    values = [scale.low + k / 10**scale.decimals for k in picks]
    answers = [scale.fmt(v) for v in values]
    # reasoning is user-like text: neutralise markup as the dataset builder does
    from flexjudge.prompts import neutralize

    target = format_target(neutralize(reasoning), answers)
    p = parse_output(target[len("<think>\n") :], AnswerSpec(task, n, scale))
    assert p.valid, (target, p.error)
    assert p.scores == tuple(float(a) for a in answers)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_and_invalid_has_reason(text):
    for spec in (PAIR, SINGLE5, MOS, BATCH3, LABEL):
        p = parse_output(text, spec)
        assert p.valid or p.reason is not None
        if p.valid and p.scores is not None:
            assert all(spec.scale.contains(s) for s in p.scores)
