"""Benchmark layer: the evaluation harness (:func:`evaluate`, :func:`score_verdicts`), the
benchmarks by name (:func:`get_benchmark`, one module each under ``suites/``: loader, scorer,
paper numbers, published-output readers), metrics, the registry of published judge-output
formats (:func:`prediction_formats`), scoring of predictions (:func:`score_predictions`) and a
Markdown report.

Layers, each importing only those before it: ``errors``, ``metrics``, ``spec``, ``records``,
``paper``, ``verdicts``, ``bias``, ``report`` -> ``suites`` -> ``harness`` -> ``formats`` ->
``scoring``.

The metric functions need the ``bench`` extra (scipy, rapidfuzz) only when a correlation or a
ranking distance is computed.
"""

from flexjudge.bench.errors import BenchmarkDataError
from flexjudge.bench.formats import BENCHMARKS, formats_listing, prediction_formats
from flexjudge.bench.harness import evaluate, metrics_json, score_verdicts
from flexjudge.bench.metrics import (
    GENAI_VOTES,
    PAIR_CHOICES,
    Metric,
    accuracy_by_category,
    accuracy_with_without_tie,
    best_of_n,
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
from flexjudge.bench.records import iter_jsonl, load_json_array
from flexjudge.bench.report import format_value, render_markdown
from flexjudge.bench.scoring import score_predictions
from flexjudge.bench.spec import Benchmark, Item, PredictionFormat, Protocol, Published
from flexjudge.bench.suites import benchmark_names, get_benchmark
from flexjudge.bench.suites.audio import SomosUtterance, iter_somos_mos_list
from flexjudge.bench.suites.genai_bench import (
    GENAI_TASKS,
    GENAI_VOTE_MAP,
    GenAIBenchRecord,
    genai_bench_task,
    genai_vote,
    iter_genai_bench,
)
from flexjudge.bench.suites.mj_bench import read_closed_results
from flexjudge.bench.suites.mllm_judge import (
    JudgeAnswer,
    MLLMJudgeBatchItem,
    MLLMJudgePairItem,
    MLLMJudgeScoreItem,
    iter_mllm_judge_batch,
    iter_mllm_judge_pair,
    iter_mllm_judge_score,
)
from flexjudge.bench.suites.pandalm import (
    PandaLMItem,
    PandaLMJudgment,
    load_pandalm_judgments,
    load_pandalm_testset,
    pandalm_prediction,
)
from flexjudge.bench.suites.vl_rewardbench import (
    VLRB_CATEGORIES,
    VLRewardBenchItem,
    iter_vl_rewardbench,
)
from flexjudge.bench.verdicts import VERDICT_LABELS, iter_verdict_objects

__all__ = [
    "BENCHMARKS",
    "GENAI_TASKS",
    "GENAI_VOTES",
    "GENAI_VOTE_MAP",
    "PAIR_CHOICES",
    "VERDICT_LABELS",
    "VLRB_CATEGORIES",
    "Benchmark",
    "BenchmarkDataError",
    "GenAIBenchRecord",
    "Item",
    "JudgeAnswer",
    "MLLMJudgeBatchItem",
    "MLLMJudgePairItem",
    "MLLMJudgeScoreItem",
    "Metric",
    "PandaLMItem",
    "PandaLMJudgment",
    "PredictionFormat",
    "Protocol",
    "Published",
    "SomosUtterance",
    "VLRewardBenchItem",
    "accuracy_by_category",
    "accuracy_with_without_tie",
    "benchmark_names",
    "best_of_n",
    "by_source",
    "classification_metrics",
    "evaluate",
    "format_value",
    "formats_listing",
    "genai_bench_task",
    "genai_vote",
    "get_benchmark",
    "iter_genai_bench",
    "iter_jsonl",
    "iter_mllm_judge_batch",
    "iter_mllm_judge_pair",
    "iter_mllm_judge_score",
    "iter_somos_mos_list",
    "iter_verdict_objects",
    "iter_vl_rewardbench",
    "label_accuracy",
    "load_json_array",
    "load_pandalm_judgments",
    "load_pandalm_testset",
    "macro_average",
    "metrics_json",
    "normalized_levenshtein",
    "pairwise_accuracy",
    "pandalm_prediction",
    "pearson",
    "prediction_formats",
    "ranking_distance",
    "read_closed_results",
    "render_markdown",
    "score_predictions",
    "score_verdicts",
    "spearman",
    "system_correlations",
    "utterance_correlations",
]
