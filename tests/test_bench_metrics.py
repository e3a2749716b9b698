"""Unit tests of flexjudge.bench.metrics on small hand-computed cases."""

from __future__ import annotations

import math

import pytest

from flexjudge.bench.metrics import (
    Metric,
    by_source,
    classification_metrics,
    label_accuracy,
    macro_average,
    normalized_levenshtein,
    pairwise_accuracy,
    pearson,
    ranking_distance,
    spearman,
    system_correlations,
    utterance_correlations,
)

# ---------------------------------------------------------------------------- pairwise accuracy

PREDS = ["A", "B", "C", None, "A"]
LABELS = ["A", "C", "C", "B", "B"]


def test_pairwise_with_tie_counts_invalid_as_wrong() -> None:
    m = pairwise_accuracy(PREDS, LABELS, with_tie=True)
    assert (m.name, m.value, m.n, m.n_invalid) == ("pair_with_tie", 2 / 5, 5, 1)


def test_pairwise_without_tie_drops_human_ties_only() -> None:
    m = pairwise_accuracy(PREDS, LABELS, with_tie=False)
    # items 1 and 2 (human C) dropped; kept: A/A right, None/B wrong+invalid, A/B wrong
    assert (m.name, m.value, m.n, m.n_invalid) == ("pair_without_tie", 1 / 3, 3, 1)
    assert m.details["dropped_human_ties"] == 2


def test_pairwise_without_tie_predicted_tie_is_wrong_not_invalid() -> None:
    m = pairwise_accuracy(["C", "A"], ["A", "A"], with_tie=False)
    assert (m.value, m.n, m.n_invalid) == (0.5, 2, 0)


def test_pairwise_prediction_outside_choices_is_invalid() -> None:
    m = pairwise_accuracy(["X", "A"], ["A", "A"])
    assert (m.value, m.n_invalid) == (0.5, 1)


def test_pairwise_label_outside_choices_raises() -> None:
    with pytest.raises(ValueError, match="'D' at index 1"):
        pairwise_accuracy(["A", "A"], ["A", "D"])


def test_pairwise_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="3 predictions but 2 labels"):
        pairwise_accuracy(["A", "B", "C"], ["A", "B"])


def test_empty_accuracy_is_undefined() -> None:
    assert pairwise_accuracy([], []).value is None
    assert pairwise_accuracy(["C"], ["C"], with_tie=False).value is None


# ---------------------------------------------------------------------------- 4-way labels


def test_label_accuracy_four_way() -> None:
    m = label_accuracy(
        ["leftvote", None, "[[A>B]]", "tievote"],
        ["leftvote", "rightvote", "tievote", "bothbad_vote"],
    )
    # None and an out-of-vocabulary string are both invalid and wrong
    assert (m.value, m.n, m.n_invalid, m.kind) == (0.25, 4, 2, "rate")


def test_label_accuracy_rejects_unknown_label() -> None:
    with pytest.raises(ValueError, match="'draw'"):
        label_accuracy(["leftvote"], ["draw"])


# ---------------------------------------------------------------------------- PandaLM-style P/R/F1


def test_classification_metrics_hand_computed() -> None:
    labels = [0, 1, 1, 2, 2, 2]
    preds = [0, 1, 2, 2, None, 1]
    m = classification_metrics(preds, labels)
    assert m["accuracy"].value == 0.5
    # per class (P, R, F1): 0 -> (1, 1, 1); 1 -> (1/2, 1/2, 1/2); 2 -> (1/2, 1/3, 0.4)
    assert m["precision"].value == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert m["recall"].value == pytest.approx((1 + 0.5 + 1 / 3) / 3)
    assert m["f1"].value == pytest.approx((1 + 0.5 + 0.4) / 3)
    assert m["recall"].details["class_2"] == pytest.approx(1 / 3)
    assert all(x.n == 6 and x.n_invalid == 1 for x in m.values())


def test_classification_zero_denominator_gives_zero() -> None:
    m = classification_metrics([1, 1], [1, 1], classes=(0, 1, 2))
    assert m["precision"].value == pytest.approx(1 / 3)
    assert m["recall"].value == pytest.approx(1 / 3)
    assert m["f1"].value == pytest.approx(1 / 3)
    assert m["f1"].details == {"class_0": 0.0, "class_1": 1.0, "class_2": 0.0}


def test_classification_f1_is_mean_of_per_class_f1() -> None:
    # P mean and R mean would give a different "F1 of means"; the rule is the mean of F1s.
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], classes=(0, 1))
    per = [2 * 0.5 * 1 / 1.5, 2 * 1 * (2 / 3) / (1 + 2 / 3)]
    assert m["f1"].value == pytest.approx(sum(per) / 2)


# ---------------------------------------------------------------------------- correlations


def test_pearson_excludes_invalid_and_reports_it() -> None:
    m = pearson([1, 2, None, 4], [1, 2, 3, 5])
    assert m.value == pytest.approx(57 / math.sqrt(42 * 78))
    assert (m.n, m.n_invalid, m.kind) == (4, 1, "correlation")


def test_spearman_uses_average_ranks_for_ties() -> None:
    assert spearman([1, 2, 4], [1, 2, 5]).value == pytest.approx(1.0)
    assert spearman([1, 1, 2], [1, 2, 3]).value == pytest.approx(1.5 / math.sqrt(3))


@pytest.mark.parametrize(
    "preds, targets, why",
    [([3, 3, 3], [1, 2, 3], "constant predictions"), ([1, None, None], [1, 2, 3], "fewer than 2")],
)
def test_correlation_undefined_is_none_not_zero(preds, targets, why) -> None:
    m = pearson(preds, targets)
    assert m.value is None and why in m.note


def test_correlation_nan_prediction_is_invalid() -> None:
    m = pearson([1.0, float("nan"), 3.0, 4.0], [1, 2, 3, 5])
    assert m.n_invalid == 1 and m.value is not None


def test_utterance_correlations_names() -> None:
    out = utterance_correlations([1.0, 2.0, None], [1.0, 2.5, 3.0])
    assert set(out) == {"utterance_lcc", "utterance_srcc"}
    assert out["utterance_srcc"].value == pytest.approx(1.0)
    assert out["utterance_lcc"].n_invalid == 1


def test_system_correlations_mean_per_system() -> None:
    systems = ["s1", "s1", "s2", "s2", "s3", "s3"]
    targets = [1, 2, 3, 4, 5, 5]  # system means 1.5, 3.5, 5
    preds = [1, None, 3, 3, 4, 6]  # system means 1 (one invalid left out), 3, 5
    out = system_correlations(preds, targets, systems)
    lcc = out["system_lcc"]
    assert lcc.value == pytest.approx(7 / math.sqrt(8 * 222 / 36))
    assert (lcc.n, lcc.n_invalid, lcc.details["invalid_utterances"]) == (3, 0, 1)
    assert out["system_srcc"].value == pytest.approx(1.0)


def test_system_without_valid_prediction_is_excluded_and_counted() -> None:
    out = system_correlations([None, None, 2, 3, 5], [1, 1, 2, 3, 5], ["a", "a", "b", "c", "d"])
    assert (out["system_lcc"].n, out["system_lcc"].n_invalid) == (4, 1)
    assert out["system_lcc"].value == pytest.approx(1.0)


def test_system_targets_override() -> None:
    out = system_correlations(
        [1, 2, 3], [5, 5, 5], ["a", "b", "c"], system_targets={"a": 1, "b": 2, "c": 4}
    )
    assert out["system_srcc"].value == pytest.approx(1.0)


# ---------------------------------------------------------------------------- batch ranking


@pytest.mark.parametrize(
    "pred, target, expected",
    [
        ("ABCD", "ABCD", 0.0),
        ("ABCD", "ABDC", 0.5),
        ("ABC", "ACB", 2 / 3),
        ("AB", "ABC", 1 / 3),
        ("CDAB", "ABCD", 1.0),
    ],
)
def test_normalized_levenshtein(pred: str, target: str, expected: float) -> None:
    assert normalized_levenshtein(pred, target) == pytest.approx(expected)


def test_ranking_distance_invalid_scores_worst() -> None:
    m = ranking_distance(["ABCD", None, "ABDC"], ["ABCD", "ABCD", "ABCD"])
    assert m.value == pytest.approx((0 + 1 + 0.5) / 3)
    assert (m.n, m.n_invalid, m.kind) == (3, 1, "distance")


# ---------------------------------------------------------------------------- macro vs micro


def test_macro_over_sources_differs_from_micro() -> None:
    sources = ["coco", "coco", "coco", "math"]
    preds = ["A", "A", "A", "B"]
    labels = ["A", "A", "A", "A"]
    micro = pairwise_accuracy(preds, labels)
    per = by_source(pairwise_accuracy, sources, preds, labels)
    macro = macro_average(per)
    assert micro.value == 0.75
    assert {s: m.value for s, m in per.items()} == {"coco": 1.0, "math": 0.0}
    assert (macro.value, macro.n, macro.details["sources"]) == (0.5, 4, 2)


def test_macro_leaves_out_undefined_sources() -> None:
    per = by_source(pearson, ["x", "x", "x", "y", "y"], [1, 2, 3, 4, 4], [1, 2, 4, 1, 2])
    macro = macro_average(per)
    assert per["y"].value is None
    assert macro.value == pytest.approx(per["x"].value)
    assert macro.details["undefined_sources"] == 1 and "y" in macro.note


def test_macro_rejects_mixed_kinds() -> None:
    per = {"a": Metric("a", 0.5, 1, 0), "b": Metric("b", 0.1, 1, 0, kind="distance")}
    with pytest.raises(ValueError, match="mixed"):
        macro_average(per)


def test_metric_as_dict() -> None:
    d = pairwise_accuracy(["A"], ["B"], with_tie=False).as_dict()
    assert d["value"] == 0.0 and d["n"] == 1 and d["n_invalid"] == 0 and "note" in d
    assert d["details"] == {"dropped_human_ties": 0}


def test_accuracy_by_category_overall_groups_and_unknown():
    from flexjudge.bench.metrics import accuracy_by_category

    out = accuracy_by_category(
        ["A", "tie", None, "B", "A"],
        ["A", "A", "B", "B", "B"],
        ["x", "x", "y", "other", "other"],
        ("x", "y", "z"),
    )
    assert out["overall"].value == 2 / 5 and out["overall"].n_invalid == 1
    assert (out["x"].value, out["x"].n) == (0.5, 2)  # a predicted tie is wrong
    assert (out["y"].value, out["y"].n_invalid) == (0.0, 1)
    assert out["z"].value is None and out["z"].n == 0
    assert (out["unknown"].value, out["unknown"].n) == (0.5, 2)
