"""The run layer: request files, shards, the store-backed judging loop and its outputs, shared
by every command that judges many items."""

from flexjudge.run.progress import RunProgress, progress_wanted
from flexjudge.run.requests import read_requests, request_from_line, resolve_media_fields
from flexjudge.run.runner import RunPlan, RunSummary, judge_into, plan_run, run_file
from flexjudge.run.shards import (
    SHARD_FIELD,
    MergeResult,
    RequestFile,
    Shard,
    merge_outputs,
    request_file,
    resolve_shard,
    shard_record,
)

__all__ = [
    "SHARD_FIELD",
    "MergeResult",
    "RequestFile",
    "RunPlan",
    "RunProgress",
    "RunSummary",
    "Shard",
    "judge_into",
    "merge_outputs",
    "plan_run",
    "progress_wanted",
    "read_requests",
    "request_file",
    "request_from_line",
    "resolve_media_fields",
    "resolve_shard",
    "run_file",
    "shard_record",
]
