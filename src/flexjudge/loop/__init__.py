"""The judge drives training: sample candidates from a policy, choose the best of N, build
preference pairs, and (in :mod:`flexjudge.train.dpo`) fine-tune the policy with DPO.

Every stage judges through the one judging path (:meth:`Judge.run <flexjudge.Judge.run>`)
and caches every engine completion in a store, so each resumes after a kill and never
generates or judges anything twice.

* :mod:`.prompts` - prompt files; :mod:`.sample` - ``flexjudge sample``.
* :mod:`.candidates` - candidate files, grouped by prompt.
* :mod:`.select` - the ``score`` / ``rank`` / ``pairwise`` selection methods;
  :mod:`.best_of_n` - ``flexjudge best-of-n``; :mod:`.best_of_n_eval` - best-of-N accuracy
  over random draws (the official ``best_of_N.py`` protocol).
* :mod:`.policies` and :mod:`.pairs` - ``flexjudge pairs``, a TRL ``DPOTrainer`` dataset.
"""

from flexjudge.loop.best_of_n import (
    BestOfSettings,
    BestOfSummary,
    best_of_groups,
    best_of_n_into,
    evaluate_groups,
)
from flexjudge.loop.best_of_n_eval import (
    BestOfNReport,
    BestOfNRow,
    Spread,
    evaluate_best_of_n,
    evaluate_scores,
)
from flexjudge.loop.candidates import (
    CandidateGroup,
    LoopCandidate,
    apply_gold,
    group_candidates,
    read_candidates,
)
from flexjudge.loop.pairs import PairSettings, PairStats, pair_row, pairs_into
from flexjudge.loop.policies import (
    DROP_REASONS,
    POLICIES,
    Decision,
    PairJudgment,
    PairPolicy,
    parse_chosen_if,
)
from flexjudge.loop.prompts import PolicyPrompt, iter_prompts, read_prompts
from flexjudge.loop.sample import (
    Sampler,
    SampleSettings,
    SampleSummary,
    sample_into,
    sample_prompts,
)
from flexjudge.loop.select import METHODS, Selection, requests_for, select

__all__ = [
    "DROP_REASONS",
    "METHODS",
    "POLICIES",
    "BestOfNReport",
    "BestOfNRow",
    "BestOfSettings",
    "BestOfSummary",
    "CandidateGroup",
    "Decision",
    "LoopCandidate",
    "PairJudgment",
    "PairPolicy",
    "PairSettings",
    "PairStats",
    "PolicyPrompt",
    "SampleSettings",
    "SampleSummary",
    "Sampler",
    "Selection",
    "Spread",
    "apply_gold",
    "best_of_groups",
    "best_of_n_into",
    "evaluate_best_of_n",
    "evaluate_groups",
    "evaluate_scores",
    "group_candidates",
    "iter_prompts",
    "pair_row",
    "pairs_into",
    "parse_chosen_if",
    "read_candidates",
    "read_prompts",
    "requests_for",
    "sample_into",
    "sample_prompts",
    "select",
]
