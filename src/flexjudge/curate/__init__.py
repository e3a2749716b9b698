"""Seed curation (paper App. B.1): teacher traces on a pairwise corpus, a quality filter against
the reference scores, and a length- and format-aware selection of training rows.

corpus (JSONL) ─► teacher traces (generated, resumable / imported) ─► quality filter
  ─► longest correct trace per prompt ─► pairwise + single-score selection ─► 1-5 rescale
  ─► ``to_prompt_completion`` rows + stats report
"""

from flexjudge.curate.corpus import CORPUS_FIELDS, Corpus, CorpusItem, read_corpus
from flexjudge.curate.lengths import TokenizerCounter, WhitespaceCounter, length_summary
from flexjudge.curate.recipe import (
    CurateConfig,
    CurateResult,
    assistant1_reasoning,
    curate,
    quality_filter,
    rescale_score,
    write_result,
)
from flexjudge.curate.teacher import (
    GenerationReport,
    TeacherSettings,
    Trace,
    generate_traces,
    import_official,
    read_traces,
    teacher_request,
)

__all__ = [
    "CORPUS_FIELDS",
    "Corpus",
    "CorpusItem",
    "CurateConfig",
    "CurateResult",
    "GenerationReport",
    "TeacherSettings",
    "TokenizerCounter",
    "Trace",
    "WhitespaceCounter",
    "assistant1_reasoning",
    "curate",
    "generate_traces",
    "import_official",
    "length_summary",
    "quality_filter",
    "read_corpus",
    "read_traces",
    "rescale_score",
    "teacher_request",
    "write_result",
]
