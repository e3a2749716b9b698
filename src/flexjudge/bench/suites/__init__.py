"""The benchmarks the harness can judge and score, by name: one module per benchmark.

Each module holds its :class:`~flexjudge.bench.spec.Benchmark` (loader of the benchmark's own
data format, scorer, paper numbers) and, where the benchmark's authors publish judge outputs,
its readers of them (``FORMATS``, collected by :mod:`flexjudge.bench.formats`). Modules are
imported lazily, by name, when a benchmark is asked for.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from flexjudge.bench.spec import Benchmark
from flexjudge.errors import ConfigError

# name -> (module, class)
_SUITES: dict[str, tuple[str, str]] = {
    "audio": ("flexjudge.bench.suites.audio", "Audio"),
    "genai_bench": ("flexjudge.bench.suites.genai_bench", "GenAIBench"),
    "judgelm": ("flexjudge.bench.suites.judgelm", "JudgeLM"),
    "mj_bench": ("flexjudge.bench.suites.mj_bench", "MJBench"),
    "mllm_judge": ("flexjudge.bench.suites.mllm_judge", "MLLMJudge"),
    "multimodal_rewardbench": (
        "flexjudge.bench.suites.multimodal_rewardbench",
        "MultimodalRewardBench",
    ),
    "pampa": ("flexjudge.bench.suites.pampa", "Pampa"),
    "pandalm": ("flexjudge.bench.suites.pandalm", "PandaLM"),
    "vl_rewardbench": ("flexjudge.bench.suites.vl_rewardbench", "VLRewardBench"),
}
_ALIASES = {
    "mllm_as_a_judge": "mllm_judge",
    "genaibench": "genai_bench",
    "vlrewardbench": "vl_rewardbench",
    "vl_reward_bench": "vl_rewardbench",
    "mjbench": "mj_bench",
    "mm_rewardbench": "multimodal_rewardbench",
    "multimodal_reward_bench": "multimodal_rewardbench",
}


def benchmark_names() -> list[str]:
    return sorted(_SUITES)


def canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def suite_module(name: str) -> ModuleType:
    """The module of benchmark ``name`` (aliases accepted); an unknown name is a ConfigError."""
    key = canonical(name)
    if key not in _SUITES:
        raise ConfigError(f"unknown benchmark {name!r}: use one of {', '.join(benchmark_names())}")
    return importlib.import_module(_SUITES[key][0])


def get_benchmark(name: str) -> Benchmark:
    """A fresh instance of benchmark ``name`` (aliases accepted)."""
    benchmark: Benchmark = getattr(suite_module(name), _SUITES[canonical(name)][1])()
    return benchmark
