"""The rows of a Ray run without a cluster: request-file chunks cut where a plain run cuts its
batches (positions, line numbers and raw bytes as the one JSONL reader sees them), verdict
rows carrying the plain run's exact lines, and the driver's ordered, atomic writer."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from click.testing import CliRunner  # noqa: E402

from flexjudge import Verdict  # noqa: E402
from flexjudge.cli.main import cli  # noqa: E402
from flexjudge.errors import OutputError  # noqa: E402
from flexjudge.io import dump_json_line, read_jsonl  # noqa: E402
from flexjudge.run import read_requests  # noqa: E402
from flexjudge.scale._chunks import chunk_items, chunk_starts, read_chunks, verdict_table  # noqa: E402
from flexjudge.scale._output import VerdictWriter, in_order  # noqa: E402


@pytest.fixture()
def awkward(tmp_path: Path) -> Path:
    """A UTF-8 BOM, blank and white-space lines, CRLF endings, a bad line, no final newline."""
    rows = [
        json.dumps({"id": f"r{i}", "task": "score", "instruction": "q", "responses": ["a"]})
        for i in range(7)
    ]
    body = "\r\n".join(
        [rows[0], "", rows[1], "  ", "{oops", rows[2], rows[3], "", rows[4], rows[5], rows[6]]
    )
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    return path


@pytest.mark.parametrize("batch_size", [1, 2, 3, 8])
def test_chunks_cut_the_file_where_a_plain_run_cuts_its_batches(awkward, batch_size):
    lines = list(read_jsonl(awkward, what="request file"))
    starts = chunk_starts(awkward, batch_size)
    assert [s.position for s in starts] == list(range(0, len(lines), batch_size))
    # read tasks may start at any chunk: each yields the same rows from there on
    for first in range(len(starts)):
        tables = list(read_chunks(awkward, starts[first], first, len(starts), batch_size))
        rows = [t.to_pylist()[0] for t in tables]
        assert [r["chunk"] for r in rows] == list(range(first, len(starts)))
        positions = [p for r in rows for p in r["positions"]]
        assert positions == list(range(starts[first].position, len(lines)))
        assert all(len(r["positions"]) == batch_size for r in rows[:-1])
        numbers = [n for r in rows for n in r["numbers"]]
        assert numbers == [line.number for line in lines[starts[first].position :]]
    # parsed on the worker, the chunks give the plain reader's requests and error records
    tables = list(read_chunks(awkward, starts[0], 0, len(starts), batch_size))
    items = [item for t in tables for _, chunk in chunk_items(t, awkward, {}) for item in chunk]
    expected = list(read_requests(awkward))
    assert [type(i) for i in items] == [type(i) for i in expected]
    assert [i.model_dump() if isinstance(i, Verdict) else i for i in items] == [
        i.model_dump() if isinstance(i, Verdict) else i for i in expected
    ]
    assert any(isinstance(i, Verdict) and "line 5" in (i.error or "") for i in items)


def verdicts(n: int) -> list[Verdict]:
    out = []
    for i in range(n):
        if i % 3 == 2:
            out.append(Verdict.failed(f"r{i}", "score", f"line {i}: bad"))
        else:
            out.append(
                Verdict(
                    id=i if i % 2 else f"r{i}",
                    task="pairwise",
                    status="ok",
                    winner="A",
                    scores=[7.0, 3.5],
                    agreement=1.0,
                    n_votes=2,
                    n_valid=2,
                )
            )
    return out


def test_verdict_rows_carry_the_plain_runs_lines_and_typed_columns():
    vs = verdicts(6)
    table = verdict_table(vs, list(range(6)))
    rows = table.to_pylist()
    assert [r["verdict"] + "\n" for r in rows] == [dump_json_line(v.to_json()) for v in vs]
    assert rows[0]["winner"] == "A" and rows[0]["scores"] == [7.0, 3.5] and rows[1]["id"] == "1"
    assert rows[2]["status"] == "error" and rows[2]["scores"] is None
    lean = verdict_table(vs, list(range(6)), keep_votes=False).to_pylist()
    assert all("votes" not in json.loads(r["verdict"]) for r in lean)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_writer_restores_input_order_atomically(tmp_path, suffix):
    vs = verdicts(40)
    rows = verdict_table(vs, list(range(40))).to_pylist()
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    out = tmp_path / f"out{suffix}"
    with VerdictWriter(out) as writer:
        for row in in_order(shuffled, 40):
            writer.write(row)
    if suffix == ".jsonl":
        assert out.read_text() == "".join(dump_json_line(v.to_json()) for v in vs)
    else:
        assert pq.read_table(out).to_pylist() == rows
    assert not out.with_name(out.name + ".partial").exists()
    # a position that never arrives fails the run and keeps the last good output
    good = out.read_bytes()
    with pytest.raises(OutputError, match="no verdict for position 7"), VerdictWriter(out) as w:
        for row in in_order([r for r in shuffled if r["position"] != 7], 40):
            w.write(row)
    with pytest.raises(OutputError, match="position 40"):
        list(in_order(rows, 41))
    assert out.read_bytes() == good


def test_cli_refuses_what_ray_runs_do_not_take(tmp_path, awkward):
    base = ["run", str(awkward), "--model", "unused"]
    cases = [
        (["--executor", "ray", "--shard", "0/2", "-o", str(tmp_path / "o.jsonl")], "--shard"),
        (["-o", str(tmp_path / "o.parquet")], "Parquet output is written by --executor ray"),
        (["--num-workers", "2", "-o", str(tmp_path / "o.jsonl")], "--num-workers"),
    ]
    for extra, needle in cases:
        result = CliRunner().invoke(cli, [*base, *extra])
        assert result.exit_code == 2 and needle in result.output, result.output
