"""Best-of-N accuracy over random draws: :mod:`flexjudge.judge.best_of_n_eval` (it lives below
the benchmark layer, so that the PAMPA suite can score with it too), here as the loop's."""

from flexjudge.judge.best_of_n_eval import (
    BestOfNReport,
    BestOfNRow,
    Chooser,
    Spread,
    check_ns,
    evaluate_best_of_n,
    evaluate_scores,
    top_score_chooser,
)

__all__ = [
    "BestOfNReport",
    "BestOfNRow",
    "Chooser",
    "Spread",
    "check_ns",
    "evaluate_best_of_n",
    "evaluate_scores",
    "top_score_chooser",
]
