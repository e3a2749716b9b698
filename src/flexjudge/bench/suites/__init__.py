"""The benchmarks the harness can judge and score, by name.

Each module defines :class:`~flexjudge.bench.spec.Benchmark` subclasses; :data:`REGISTRY`
maps a name (and its aliases) to a factory, imported lazily.
"""

from __future__ import annotations

import importlib

from flexjudge.bench.spec import Benchmark
from flexjudge.errors import ConfigError

# name -> (module, class)
_SUITES: dict[str, tuple[str, str]] = {
    "audio": ("flexjudge.bench.suites.audio", "Audio"),
    "genai_bench": ("flexjudge.bench.suites.genai_bench", "GenAIBench"),
    "judgelm": ("flexjudge.bench.suites.text", "JudgeLM"),
    "mj_bench": ("flexjudge.bench.suites.mj_bench", "MJBench"),
    "mllm_judge": ("flexjudge.bench.suites.mllm_judge", "MLLMJudge"),
    "multimodal_rewardbench": (
        "flexjudge.bench.suites.multimodal_rewardbench",
        "MultimodalRewardBench",
    ),
    "pampa": ("flexjudge.bench.suites.pampa", "Pampa"),
    "pandalm": ("flexjudge.bench.suites.text", "PandaLM"),
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


def get_benchmark(name: str) -> Benchmark:
    key = canonical(name)
    if key not in _SUITES:
        raise ConfigError(f"unknown benchmark {name!r}: use one of {', '.join(benchmark_names())}")
    module, cls = _SUITES[key]
    return getattr(importlib.import_module(module), cls)()
