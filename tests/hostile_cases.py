"""A hostile-input corpus, generated: request lines, whole request files, Python API calls and
command lines that a careless or malicious user might write. Each case names what the error
must mention (the field or the cause), so a test can check that it is named, not just raised.

The corpus is built from a few axes (field x bad value, file-level faults, API misuse) so that
a new field or a new rule is covered by adding one entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

GOOD = {"task": "score", "instruction": "Rate it.", "responses": ["fine"]}
PAIR = {"task": "pairwise", "instruction": "Which?", "responses": ["a", "b"]}
BATCH = {"task": "batch", "instruction": "Rank them.", "responses": ["a", "b", "c"]}
LABEL = {"task": "label", "instruction": "Which image?", "responses": ["a", "b"]}
#: Every format: scalar-field faults are tried on each, since each has its own validation path.
BASES = {"score": GOOD, "pairwise": PAIR, "batch": BATCH, "label": LABEL}


@dataclass(frozen=True)
class LineCase:
    """One line of a request file that must become an error record mentioning ``expect``."""

    name: str
    line: bytes
    expect: str


def _j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        if v is _DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


_DROP = object()

#: Values that are wrong for a list-of-media field, with what the message must say.
_NOT_A_LIST = [
    ("string", "good.png", "must be a list"),
    ("int", 5, "must be a list"),
    ("float", 1.5, "must be a list"),
    ("bool", True, "must be a list"),
    ("object", {"path": "x.png"}, "must be a list"),
]
_BAD_ITEMS = [
    ("int item", [5], "items must be paths"),
    ("null item", [None], "items must be paths"),
    ("bool item", [True], "items must be paths"),
    ("object item", [{"a": 1}], "items must be paths"),
    ("list item", [["x.png"]], "items must be paths"),
]


def request_line_cases() -> list[LineCase]:
    cases: list[LineCase] = []
    add = cases.append
    # -- not JSON, not an object -----------------------------------------------------------
    for name, raw, expect in [
        ("open brace", b"{", "not valid JSON"),
        ("truncated array", b'{"task": "score", "responses": ["a"', "not valid JSON"),
        ("single quotes", b"{'task': 'score'}", "not valid JSON"),
        ("trailing comma", b'{"task": "score",}', "not valid JSON"),
        ("NaN value", b'{"task": "score", "x": NaN}', "not valid JSON"),
        ("Infinity value", b'{"x": Infinity}', "not valid JSON"),
        ("minus Infinity", b'{"x": -Infinity}', "not valid JSON"),
        ("bare word", b"hello", "not valid JSON"),
        ("array", b"[1, 2]", "expected a JSON object"),
        ("string", b'"score"', "expected a JSON object"),
        ("number", b"7", "expected a JSON object"),
        ("true", b"true", "expected a JSON object"),
        ("null", b"null", "expected a JSON object"),
        ("deep array", b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        ("deep object", b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested deeper"),
        ("invalid utf-8", b'{"task": "score", "instruction": "\xff\xfe"}', "not valid UTF-8"),
        ("lone continuation byte", b'{"x": "\x80"}', "not valid UTF-8"),
        ("overlong encoding", b'{"x": "\xc0\xaf"}', "not valid UTF-8"),
    ]:
        add(LineCase(name, raw, expect))
    # -- media list fields, in the request and in a response -------------------------------
    for field in ("images", "videos", "audios", "molecules"):
        for vname, value, expect in _NOT_A_LIST:
            named = f"{field} {expect}"
            add(LineCase(f"{field} as {vname}", _j(_with(GOOD, **{field: value})), named))
            resp = {"text": "x", field: value}
            add(LineCase(f"response {field} as {vname}", _j(_with(GOOD, responses=[resp])), named))
        for vname, value, expect in _BAD_ITEMS:
            if field == "molecules":
                expect = "molecules items"
            add(LineCase(f"{field} {vname}", _j(_with(GOOD, **{field: value})), expect))
    # -- responses ---------------------------------------------------------------------------
    for name, value, expect in [
        ("responses string", "xyz", "responses must be a list"),
        ("responses int", 3, "responses must be a list"),
        ("responses object", {"text": "a"}, "responses must be a list"),
        ("responses null", None, "responses"),
        ("response int", [7], "must be a string or an object"),
        ("response list", [["a"]], "must be a string or an object"),
        ("response bool", [False], "must be a string or an object"),
        ("response empty string", [""], "empty"),
        ("response blank", ["   "], "empty"),
        ("response unknown field", [{"text": "a", "colour": "red"}], "colour"),
        ("response text int", [{"text": 5}], "text"),
        ("response text list", [{"text": ["a"]}], "text"),
        ("response no content", [{}], "empty"),
    ]:
        add(LineCase(name, _j(_with(GOOD, responses=value)), expect))
    # -- counts per task -----------------------------------------------------------------------
    for task, n in [
        ("score", 0),
        ("score", 2),
        ("pairwise", 1),
        ("pairwise", 3),
        ("label", 3),
        ("batch", 2),
        ("batch", 27),
    ]:
        line = {"task": task, "instruction": "q", "responses": [f"r{i}" for i in range(n)]}
        add(LineCase(f"{task} with {n} responses", _j(line), "responses"))
    for n in (11, 15, 26):
        line = {"task": "batch", "instruction": "q", "responses": [f"r{i}" for i in range(n)]}
        add(LineCase(f"batch of {n} on 1-10", _j(line), "distinct scores"))
    add(
        LineCase(
            "batch of 6 on 1-5",
            _j(
                {
                    "task": "batch",
                    "instruction": "q",
                    "scale": "1-5",
                    "responses": [f"r{i}" for i in range(6)],
                }
            ),
            "distinct",
        )
    )
    # -- scalar fields -------------------------------------------------------------------------
    for field, value, expect in [
        ("task", "judge", "unknown task"),
        ("task", 1, "task"),
        ("task", None, "task"),
        ("task", ["score"], "task"),
        ("instruction", "", "instruction is empty"),
        ("instruction", "   ", "instruction is empty"),
        ("instruction", 5, "instruction"),
        ("instruction", None, "instruction"),
        ("instruction", ["q"], "instruction"),
        ("instruction", {"text": "q"}, "instruction"),
        ("instruction", _DROP, "instruction"),
        ("task", _DROP, "task"),
        ("responses", _DROP, "responses"),
        ("scale", "5-1", "LOW must be below HIGH"),
        ("scale", "abc", "unknown scale"),
        ("scale", "1-10.123", "two decimals"),
        ("scale", "-1-5", "unknown scale"),
        ("scale", "1\u0660-10", "unknown scale"),
        ("scale", 10, "scale"),
        ("scale", [1, 10], "scale"),
        ("tie", "yes please", "tie"),
        ("tie", [True], "tie"),
        ("protocol", "pampa-ish", "unknown protocol"),
        ("protocol", 3, "protocol"),
        ("molecule_view", "3d", "molecule_view"),
        ("criteria", 7, "criteria"),
        ("criteria", ["c"], "criteria"),
        ("reference", {"a": 1}, "reference"),
        ("reference", 3.5, "reference"),
        ("extra_field", 1, "extra_field"),
        ("Images", ["x.png"], "Images"),
        ("id", True, "id must be a string or a number"),
        ("id", False, "id must be a string or a number"),
        ("id", {"k": 1}, "id must be a string or a number"),
        ("id", [1], "id must be a string or a number"),
    ]:
        for task, base in BASES.items():
            if field in ("protocol",) and task != "score" and value == "pampa-ish":
                continue
            add(
                LineCase(
                    f"{task}: {field} = {value!r:.30}", _j(_with(base, **{field: value})), expect
                )
            )
    add(
        LineCase(
            "audio protocol on pairwise", _j(_with(PAIR, protocol="audio_mos")), "takes task score"
        )
    )
    add(LineCase("pairwise tie null", _j(_with(PAIR, tie={"x": 1})), "tie"))
    return cases


#: Lines whose request is well-formed but whose media cannot be used: error records that name
#: the file (resolved against the request file's folder), while the other lines are judged.
def media_line_cases(folder: str) -> list[LineCase]:
    return [
        LineCase("missing image", _j(_with(GOOD, images=["no_such.png"])), "no_such.png"),
        LineCase("image is a folder", _j(_with(GOOD, images=["."])), "folder"),
        LineCase("image is text", _j(_with(GOOD, images=["notes.txt"])), "notes.txt"),
        LineCase("missing video", _j(_with(GOOD, videos=["clip.mp4"])), "clip.mp4"),
        LineCase("audio on a VL model", _j(_with(GOOD, audios=["voice.wav"])), "audio"),
        LineCase("missing molecule file", _j(_with(GOOD, molecules=["mol.sdf"])), "mol.sdf"),
        LineCase("bad SMILES", _j(_with(GOOD, molecules=["C1CC(("])), "SMILES"),
        LineCase(
            "response image missing",
            _j(_with(PAIR, responses=[{"images": ["a.png"]}, "b"])),
            "a.png",
        ),
    ]


def python_api_cases() -> list[tuple[str, str, tuple[Any, ...], dict[str, Any], str]]:
    """(name, Judge method, args, kwargs, what the InputError/ConfigError must mention)."""
    return [
        ("rank a string", "rank", ("q", "xyz"), {}, "responses must be a list"),
        ("rank None", "rank", ("q", None), {}, "responses"),
        ("rank one", "rank", ("q", ["a"]), {}, "responses"),
        ("rank an int", "rank", ("q", 3), {}, "responses must be a list"),
        ("rank a dict", "rank", ("q", {"a": 1}), {}, "responses must be a list"),
        ("rank 11 on 1-10", "rank", ("q", [str(i) for i in range(11)]), {}, "distinct"),
        ("score an int", "score", ("q", 5), {}, "must be a string or an object"),
        ("score None", "score", ("q", None), {}, "must be a string or an object"),
        ("score empty", "score", ("q", ""), {}, "empty"),
        ("score bad scale", "score", ("q", "a"), {"scale": "10-1"}, "LOW must be below HIGH"),
        ("score images string", "score", ("q", "a"), {"images": "x.png"}, "must be a list"),
        ("score unknown field", "score", ("q", "a"), {"colour": 1}, "colour"),
        ("compare None", "compare", ("q", None, "b"), {}, "must be a string or an object"),
        ("compare int", "compare", ("q", "a", 2), {}, "must be a string or an object"),
        ("compare instruction int", "compare", (5, "a", "b"), {}, "instruction"),
        ("label list", "label", ("q", ["a"], "b"), {}, "must be a string or an object"),
        ("score molecules int", "score", ("q", "a"), {"molecules": 7}, "must be a list"),
        ("compare videos dict", "compare", ("q", "a", "b"), {"videos": {"a": 1}}, "must be a list"),
    ]


def run_items() -> list[tuple[str, Any, str]]:
    """(name, item given to Judge.run, what its error verdict must mention)."""
    return [
        ("None", None, "expected a request"),
        ("int", 5, "expected a request"),
        ("string", "score this", "expected a request"),
        ("list", [GOOD], "expected a request"),
        ("bad dict", {"task": "score"}, "instruction"),
        ("strings as list", _with(GOOD, images="a.png"), "must be a list"),
        ("bool id", _with(GOOD, id=True), "id must be a string or a number"),
    ]


def cli_option_cases() -> list[tuple[str, list[str], str]]:
    """(name, extra options for `flexjudge score --model TINY -i q -r a`, expected message)."""
    return [
        ("device bogus", ["--device", "bogus"], "unknown device"),
        ("device cuda without a GPU", ["--device", "cuda"], "no CUDA device"),
        ("device cuda:7", ["--device", "cuda:7"], "CUDA"),
        ("votes 0", ["--votes", "0"], "votes must be at least 1"),
        ("votes negative", ["--votes", "-3"], "votes must be at least 1"),
        ("temperature negative", ["--temperature", "-1"], "temperature"),
        ("top-p 0", ["--top-p", "0"], "top_p"),
        ("top-p 2", ["--top-p", "2"], "top_p"),
        ("max-new-tokens 0", ["--max-new-tokens", "0"], "max_new_tokens"),
        ("batch-size 0", ["--batch-size", "0"], "batch_size"),
        ("budget forcing 9", ["--budget-forcing", "9"], "budget_forcing"),
        ("scale bogus", ["--scale", "x-y"], "unknown scale"),
        ("scale reversed", ["--scale", "9-1"], "LOW must be below HIGH"),
        ("image missing", ["--image", "nope.png"], "nope.png"),
        ("audio on VL", ["--audio", "nope.wav"], "audio"),
        ("video missing", ["--video", "nope.mp4"], "nope.mp4"),
        ("molecule bad", ["--molecule", "C1CC(("], "SMILES"),
        ("base-url with transformers", ["--base-url", "http://x/v1"], "openai engine"),
        ("tensor parallel with transformers", ["--tensor-parallel-size", "2"], "vllm engine"),
        ("dtype bogus", ["--dtype", "int3"], "dtype"),
    ]
