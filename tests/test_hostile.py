"""The hostile-input corpus (tests/hostile_cases.py) against the real command line and API.

Per case, one of: a one-line ``error:`` naming the cause with exit status 2 (a whole bad file
or a bad option), or an error record for that line while the rest of the batch is judged.
Never a traceback, a hang, or a silent default.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from flexjudge import ConfigError, InputError, Judge, Scale
from flexjudge.cli.main import cli
from flexjudge.engines import ScriptedEngine
from hostile_cases import (
    GOOD,
    cli_option_cases,
    media_line_cases,
    python_api_cases,
    request_line_cases,
    run_items,
)

ANSWER = "ok</think><answer>7</answer>"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


def assert_one_error_line(result, expect: str, code: int = 2) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.output
    assert expect.lower() in errors[0].lower(), errors[0]


def test_the_corpus_is_large():
    n = len(request_line_cases()) + len(media_line_cases(".")) + len(python_api_cases())
    n += len(run_items()) + len(cli_option_cases()) + len(FILE_CASES)
    assert n >= 300, n


# -- one request file holding every bad line, between good ones -------------------------------
@pytest.fixture(scope="module")
def hostile_run(tiny_vl: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "notes.txt").write_text("not an image")
    cases = request_line_cases() + media_line_cases(str(folder))
    good = json.dumps(GOOD).encode()
    lines = [good]
    for case in cases:
        lines += [case.line, good]
    (folder / "requests.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    out = folder / "out.jsonl"
    result = invoke(
        "run",
        str(folder / "requests.jsonl"),
        "--model",
        str(tiny_vl),
        "-o",
        str(out),
        "--max-new-tokens",
        "2",
        "--batch-size",
        "16",
        "--quiet",
    )
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    return cases, rows, result


def test_every_bad_line_is_an_error_record_naming_its_cause(hostile_run):
    cases, rows, result = hostile_run
    assert result.exit_code == 0, result.output
    assert len(rows) == 2 * len(cases) + 1  # one record per line, nothing lost
    for k, case in enumerate(cases):
        row = rows[2 * k + 1]
        assert row["status"] == "error", (case.name, row)
        assert case.expect.lower() in row["error"].lower(), (case.name, row["error"])
        assert f"line {2 * k + 2}" in row["error"] or case.name.startswith(
            ("missing", "image", "audio", "bad SMILES", "response image")
        ), (case.name, row["error"])


def test_the_good_lines_between_them_are_judged(hostile_run):
    _, rows, _ = hostile_run
    good = rows[0::2]
    assert all(r["status"] in ("ok", "invalid") for r in good)
    assert all(r["n_votes"] == 1 for r in good)


# -- whole files -----------------------------------------------------------------------------
def _utf16(p: Path) -> None:
    p.write_bytes(json.dumps(GOOD).encode("utf-16"))


def _utf16_no_bom(p: Path) -> None:
    p.write_bytes(json.dumps(GOOD).encode("utf-16-le"))


def _utf32(p: Path) -> None:
    p.write_bytes(json.dumps(GOOD).encode("utf-32"))


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _blank(p: Path) -> None:
    p.write_bytes(b"\n  \n\t\n")


def _folder(p: Path) -> None:
    p.mkdir()


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _missing(p: Path) -> None:
    pass


FILE_CASES = {
    "utf-16": (_utf16, "UTF-16"),
    "utf-16 without BOM": (_utf16_no_bom, "NUL bytes"),
    "utf-32": (_utf32, "UTF-32"),
    "empty": (_empty, "no requests"),
    "blank lines only": (_blank, "no requests"),
    "a folder": (_folder, "folder"),
    "a FIFO": (_fifo, "not a regular file"),
    "missing": (_missing, "does not exist"),
}


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_a_bad_request_file_is_one_error_line(name, tmp_path):
    make, expect = FILE_CASES[name]
    path = tmp_path / "requests.jsonl"
    make(path)
    result = invoke("run", str(path), "--model", "no-such-model", "-o", str(tmp_path / "o.jsonl"))
    assert_one_error_line(result, expect)


def test_a_bom_costs_nothing(tiny_vl, tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n")
    out = tmp_path / "o.jsonl"
    result = invoke(
        "run", str(path), "--model", str(tiny_vl), "-o", str(out), "--max-new-tokens", "2"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["status"] in ("ok", "invalid")


@pytest.mark.parametrize("flag", ["--output", "--store"])
def test_outputs_never_overwrite_the_input(flag, tmp_path):
    path = tmp_path / "requests.jsonl"
    body = json.dumps(GOOD) + "\n"
    path.write_text(body)
    args = ["run", str(path), "--model", "x", "-o", str(tmp_path / "o.jsonl")]
    args += [flag, str(path)] if flag == "--store" else []
    if flag == "--output":
        args[args.index("-o") + 1] = str(path)
    assert_one_error_line(invoke(*args), "would be overwritten")
    assert path.read_text() == body


def test_a_failed_rerun_keeps_the_last_good_output(tiny_vl, tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps({**GOOD, "id": i}) for i in range(4)) + "\n")
    out = tmp_path / "o.jsonl"
    args = ["run", str(path), "--model", str(tiny_vl), "-o", str(out), "--max-new-tokens", "2"]
    assert invoke(*args).exit_code == 0
    good = out.read_bytes()
    path.write_bytes(b"\xff\xfe" + path.read_bytes())  # now unreadable as UTF-8
    assert_one_error_line(invoke(*args), "UTF-16")
    assert out.read_bytes() == good


@pytest.fixture()
def small_disk(tmp_path):
    """A real 64 KiB tmpfs (needs root, as on the CI machine); unmounted afterwards."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.strip()}): disk faults untested")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _requests(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text(
        "\n".join(json.dumps({**GOOD, "id": i, "instruction": "q" * 400}) for i in range(n)) + "\n"
    )
    return path


def test_a_full_disk_is_one_error_line_and_the_last_output_survives(tiny_vl, tmp_path, small_disk):
    out = small_disk / "o.jsonl"
    out.write_text('{"last": "good"}\n')
    (small_disk / "filler").write_bytes(b"x" * (56 * 1024))  # leave a few KiB
    result = invoke(
        "run",
        str(_requests(tmp_path, 40)),
        "--model",
        str(tiny_vl),
        "-o",
        str(out),
        "--store",
        str(tmp_path / "s.sqlite"),
        "--max-new-tokens",
        "2",
    )
    assert_one_error_line(result, "No space left on device")
    assert out.read_text() == '{"last": "good"}\n'


def test_a_read_only_folder_is_one_error_line_and_the_last_output_survives(
    tiny_vl, tmp_path, small_disk
):
    out = small_disk / "o.jsonl"
    out.write_text('{"last": "good"}\n')
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = invoke(
        "run",
        str(_requests(tmp_path, 2)),
        "--model",
        str(tiny_vl),
        "-o",
        str(out),
        "--store",
        str(tmp_path / "s.sqlite"),
        "--max-new-tokens",
        "2",
    )
    assert_one_error_line(result, "Read-only file system")
    assert out.read_text() == '{"last": "good"}\n'


# -- the Python API --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge(engine=ScriptedEngine([ANSWER]))


@pytest.mark.parametrize("case", python_api_cases(), ids=lambda c: c[0])
def test_api_misuse_raises_a_named_input_error(judge, case):
    _, method, args, kwargs, expect = case
    with pytest.raises((InputError, ConfigError)) as err:
        getattr(judge, method)(*args, **kwargs)
    assert expect.lower() in str(err.value).lower()


def test_run_turns_each_bad_item_into_an_error_verdict(judge):
    items = run_items()
    verdicts = list(judge.run([GOOD, *(item for _, item, _ in items), GOOD]))
    assert len(verdicts) == len(items) + 2
    assert verdicts[0].ok and verdicts[-1].ok
    for (name, _, expect), v in zip(items, verdicts[1:-1]):
        assert v.status == "error" and expect.lower() in (v.error or "").lower(), (name, v.error)


@pytest.mark.parametrize(
    "low,high,decimals,expect",
    [
        (5, 1, 0, "below"),
        (3, 3, 0, "below"),
        (-1, 5, 0, ">= 0"),
        (1, 5, 7, "decimals"),
        (float("nan"), 5, 0, "finite"),
        ("1", 5, 0, "number"),
    ],
)
def test_a_hand_built_scale_is_checked(low, high, decimals, expect):
    with pytest.raises(ConfigError, match=expect):
        Scale(low, high, decimals)


# -- command-line options ------------------------------------------------------------------------
@pytest.mark.parametrize("case", cli_option_cases(), ids=lambda c: c[0])
def test_bad_options_are_one_error_line(tiny_vl, case):
    _, extra, expect = case
    result = invoke(
        "score", "--model", str(tiny_vl), "-i", "q", "-r", "a", "--max-new-tokens", "2", *extra
    )
    assert_one_error_line(result, expect)
