"""The paper's numbers for the released checkpoints, printed beside ours in every report.

Source: Flex-Judge, arXiv 2505.18601 v4 (Tables 1-4, 7, 10), as transcribed in
``shared/reference/paper.md`` §4. Rates are fractions (the tables' percentages / 100) so they
compare directly with ``metrics.json``. Keys are the metric names the benchmarks in
:mod:`flexjudge.bench.suites` write; ``@vote`` marks a majority-voting row.
"""

from __future__ import annotations

VL, OMNI = "Flex-VL-7B", "Flex-Omni-7B"


def _pair(vl: float | None, omni: float | None) -> dict[str, float]:
    return {k: v for k, v in ((VL, vl), (OMNI, omni)) if v is not None}


def _pct(**rows: tuple[float | None, float | None]) -> dict[str, dict[str, float]]:
    return {
        k: _pair(*(None if v is None else round(v / 100, 6) for v in pair))
        for k, pair in rows.items()
    }


def _raw(**rows: tuple[float | None, float | None]) -> dict[str, dict[str, float]]:
    return {k: _pair(*pair) for k, pair in rows.items()}


#: (benchmark, split) -> metric -> checkpoint -> value
PAPER: dict[tuple[str, str], dict[str, dict[str, float]]] = {
    # Table 1, "Ave." column (macro over the 14 source datasets)
    ("mllm_judge", "score"): _raw(pearson=(0.332, 0.306)),
    ("mllm_judge", "pair"): _raw(pair_with_tie=(0.538, 0.532), pair_without_tie=(0.655, 0.650)),
    ("mllm_judge", "batch"): _raw(batch_distance=(0.426, 0.425)),
    # Table 2 (left)
    ("vl_rewardbench", "test"): _pct(
        general=(46.11, 47.01),
        hallucination=(43.39, 42.72),
        reasoning=(62.87, 61.08),
        overall=(48.60, 48.02),
        macro=(50.79, 50.27),
    ),
    # Table 2 (right); MJ-Bench's "quality" perspective is the paper's "Artifact" column
    ("mj_bench", "alignment"): _pct(
        accuracy_with_tie=(58.16, 60.84), accuracy_without_tie=(59.13, 62.46)
    ),
    ("mj_bench", "safety"): _pct(
        accuracy_with_tie=(57.51, 47.69), accuracy_without_tie=(66.88, 65.21)
    ),
    ("mj_bench", "quality"): _pct(
        accuracy_with_tie=(82.32, 75.80), accuracy_without_tie=(89.08, 91.66)
    ),
    # Table 3; "+ Majority Voting" (7 samples in the official scorer) as accuracy@vote
    ("genai_bench", "image_generation"): {
        **_pct(accuracy=(43.32, 38.15)),
        "accuracy@vote": _pair(0.4634, 0.4167),
    },
    ("genai_bench", "image_edition"): {
        **_pct(accuracy=(47.41, 46.73)),
        "accuracy@vote": _pair(0.5419, 0.5201),
    },
    ("genai_bench", "video_generation"): {
        **_pct(accuracy=(44.78, 37.10)),
        "accuracy@vote": _pair(0.4734, 0.4425),
    },
    # Table 4 (Flex-Omni-7B only: Flex-VL-7B has no audio input)
    ("audio", "nisqa"): _raw(utterance_lcc=(None, 0.545), utterance_srcc=(None, 0.590)),
    ("audio", "bvcc"): _raw(
        utterance_lcc=(None, 0.081),
        utterance_srcc=(None, 0.067),
        system_lcc=(None, 0.144),
        system_srcc=(None, 0.128),
    ),
    ("audio", "somos"): _raw(
        utterance_lcc=(None, 0.150),
        utterance_srcc=(None, 0.138),
        system_lcc=(None, 0.323),
        system_srcc=(None, 0.325),
    ),
    ("audio", "voxsim"): _raw(utterance_lcc=(None, 0.271), utterance_srcc=(None, 0.268)),
    # Table 7
    ("multimodal_rewardbench", "test"): _raw(
        general_correctness=(0.620, 0.616),
        general_preference=(0.618, 0.612),
        knowledge=(0.630, 0.657),
        reasoning_math=(0.677, 0.625),
        reasoning_coding=(0.550, 0.582),
        safety=(0.732, 0.362),
        vqa=(0.837, 0.777),
        overall=(0.686, 0.631),
    ),
    # Table 10 ("Agreement" is accuracy)
    ("judgelm", "test"): _pct(
        accuracy=(84.21, 84.12), precision=(82.65, 80.95), recall=(90.06, 93.51), f1=(86.65, 86.78)
    ),
    ("pandalm", "test"): _pct(
        accuracy=(76.84, 76.24), precision=(72.15, 73.38), recall=(70.06, 71.15), f1=(70.74, 71.74)
    ),
}


def paper_numbers(benchmark: str, split: str) -> dict[str, dict[str, float]]:
    """Metric -> checkpoint -> published value, or ``{}`` when the paper has none."""
    return PAPER.get((benchmark, split), {})
