"""Reading and writing the files flexjudge works with: one JSONL reader (every bad line named
the same way), atomic outputs (a failure never destroys the last good file), and the checks
that an output is not one of the inputs."""

from flexjudge.io.jsonl import (
    JsonLine,
    count_lines,
    dump_json_line,
    iter_json_objects,
    parse_json_line,
    read_jsonl,
)
from flexjudge.io.outputs import (
    AtomicWriter,
    atomic_write_text,
    check_distinct,
    open_input,
    same_file,
)

__all__ = [
    "AtomicWriter",
    "JsonLine",
    "atomic_write_text",
    "check_distinct",
    "count_lines",
    "dump_json_line",
    "iter_json_objects",
    "open_input",
    "parse_json_line",
    "read_jsonl",
    "same_file",
]
