"""The result store: cache keys, the cached engine (on a real tiny checkpoint and on the scripted
fake), concurrent writers, schema versions, export, and merging shard outputs."""

from __future__ import annotations

import json
import multiprocessing
import random
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from flexjudge import ConfigError, EngineError, InputError, Judge, JudgeRequest, OutputError
from flexjudge.engines import ChatRequest, ScriptedEngine
from flexjudge.engines.base import Completion, EngineInfo, Message, Part, SamplingParams
from flexjudge.prompts import build_chat
from flexjudge.run import RequestFile, Shard, merge_outputs, resolve_shard, shard_record
from flexjudge.store import CachedEngine, Store
from flexjudge.store import db as store_db
from flexjudge.store import keys as store_keys
from flexjudge.store.db import Entry

PARAMS = SamplingParams(
    n=2, temperature=0.6, top_p=0.95, max_new_tokens=4, seed=0, stop=("</answer>",), stop_count=1
)


def chat(text: str = "Rate this.", image: object = None, prefix: str = "<think>\n") -> ChatRequest:
    parts = [Part("text", text=text)] + ([Part("image", media=image)] if image is not None else [])
    return ChatRequest(
        (Message("system", (Part("text", text="You judge."),)), Message("user", tuple(parts))),
        prefix,
    )


def request_chats(png: Path) -> list[ChatRequest]:
    reqs = [
        JudgeRequest.build(task="score", instruction="q1", responses=["an answer"]),
        JudgeRequest.build(
            task="pairwise", instruction="q2", responses=["x", "y"], images=[str(png)]
        ),
        JudgeRequest.build(task="score", instruction="q3", responses=["other"], scale="1-5"),
    ]
    return [build_chat(r) for r in reqs]


class Info(ScriptedEngine):
    """The scripted fake with given engine details (to test what the key covers)."""

    def __init__(self, **details: object) -> None:
        super().__init__(["x</think><answer>1</answer>"])
        self.details = details

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("scripted", "scripted", dict(self.details))


def key_of(engine: object, request: ChatRequest, params: SamplingParams = PARAMS) -> str:
    with Store(":memory:") as store:
        return CachedEngine(engine, store).keys([request], params)[0][0]  # type: ignore[arg-type]


# -- keys ------------------------------------------------------------------------------------
def test_key_changes_with_params_prompt_and_media_content(tmp_path, png):
    eng = ScriptedEngine(["a"])
    base = key_of(eng, chat(image=png))
    variants = {
        "seed": key_of(eng, chat(image=png), replace(PARAMS, seed=1)),
        "temperature": key_of(eng, chat(image=png), replace(PARAMS, temperature=0.7)),
        "top_p": key_of(eng, chat(image=png), replace(PARAMS, top_p=0.9)),
        "n": key_of(eng, chat(image=png), replace(PARAMS, n=3)),
        "max_new_tokens": key_of(eng, chat(image=png), replace(PARAMS, max_new_tokens=5)),
        "stop": key_of(eng, chat(image=png), replace(PARAMS, stop=("</think>",))),
        "stop_count": key_of(eng, chat(image=png), replace(PARAMS, stop_count=2)),
        "text": key_of(eng, chat("Rate this!", image=png)),
        "prefix": key_of(eng, chat(image=png, prefix="")),
        "no image": key_of(eng, chat()),
        "engine details": key_of(Info(dtype="bfloat16"), chat(image=png)),
    }
    other = tmp_path / "other.png"
    Image.new("RGB", (60, 40), (200, 30, 31)).save(other)  # one channel differs by one
    variants["image bytes"] = key_of(eng, chat(image=other))
    variants["PIL pixels"] = key_of(eng, chat(image=Image.new("RGB", (60, 40), (200, 30, 30))))
    keys = [base, *variants.values()]
    assert len(set(keys)) == len(keys), [k for k, v in variants.items() if v == base]
    # content, not names: the same bytes under another name, the same pixels in a new object
    copy = tmp_path / "sub" / "renamed.png"
    copy.parent.mkdir()
    shutil.copy(png, copy)
    assert key_of(eng, chat(image=copy)) == base
    pil = key_of(eng, chat(image=Image.new("RGB", (60, 40), (200, 30, 30))))
    assert pil == variants["PIL pixels"]
    # the device does not change completions' identity, the dtype does
    assert key_of(Info(device="cuda:0", dtype="fp32"), chat()) == key_of(
        Info(device="cuda:1", dtype="fp32"), chat()
    )


def test_missing_media_is_a_media_error(tmp_path):
    with pytest.raises(InputError, match="nope.png"):
        key_of(ScriptedEngine(["a"]), chat(image=tmp_path / "nope.png"))


def test_model_folder_fingerprint_is_content_based(tiny_vl, tmp_path, monkeypatch):
    from flexjudge.engines.hf import TransformersEngine

    copy = tmp_path / "copy"
    shutil.copytree(tiny_vl, copy)
    (copy / "notes.jsonl").write_text("outputs written next to a model change nothing\n")
    fp = store_keys.folder_fingerprint
    assert fp(copy) == fp(tiny_vl)
    engine = TransformersEngine(str(copy), device="cpu")
    ident = store_keys.engine_identity(engine)
    assert ident["model"] == {"folder": fp(tiny_vl)} and "device" not in ident["details"]

    weights = copy / "model.safetensors"
    size = weights.stat().st_size
    data = bytearray(weights.read_bytes())
    data[size // 2] ^= 1
    weights.write_bytes(bytes(data))
    assert fp(copy) != fp(tiny_vl)
    # Large files: header and sampled chunks (here forced by a small limit).
    monkeypatch.setattr(store_keys, "FULL_HASH_LIMIT", 1024)
    before = fp(copy)
    data[-1] ^= 1  # the last chunk is always sampled
    weights.write_bytes(bytes(data))
    assert fp(copy) != before
    (copy / "chat_template.jinja").write_text("{{ messages }}")
    assert fp(copy) != before


def test_hub_ids_are_identified_by_their_cached_snapshot_commit(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--org--judge"
    for commit in ("c0ffee", "beef42"):
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()

    class Named(ScriptedEngine):
        def __init__(self, engine: str) -> None:
            super().__init__(["x"])
            self.name = engine

        @property
        def info(self) -> EngineInfo:
            return EngineInfo(self.name, "org/judge", {"revision": None})

    (repo / "refs" / "main").write_text("c0ffee")
    local = store_keys.engine_identity(Named("transformers"))
    assert local["model"] == {"hub": "org/judge", "commit": "c0ffee"}
    # a server's model is its name: the local cache says nothing about what it serves
    remote = store_keys.engine_identity(Named("openai"))
    assert remote["model"] == {"id": "org/judge", "revision": None}
    (repo / "refs" / "main").write_text("beef42")  # the hub's main moved on
    assert store_keys.engine_identity(Named("transformers"))["model"]["commit"] == "beef42"


# -- the cached engine -----------------------------------------------------------------------
def test_cache_hits_skip_the_real_engine_and_return_identical_completions(tiny_vl, png, tmp_path):
    from flexjudge.engines.hf import TransformersEngine

    engine = TransformersEngine(str(tiny_vl), device="cpu")
    calls: list[int] = []
    real = engine.generate

    def counting(requests, params):
        calls.append(len(requests))
        return real(requests, params)

    engine.generate = counting  # type: ignore[method-assign]
    chats = request_chats(png)
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        cached = CachedEngine(engine, store)
        first = cached.generate(chats, PARAMS)
        assert calls == [3] and [len(c) for c in first] == [2, 2, 2]
        assert cached.generate(chats, PARAMS) == first and calls == [3]
        assert cached.stats.hits == 3 and cached.stats.generated == 3
        assert store.counts().requests == 3 and store.counts().completions == 6
    with Store(path) as store:  # a new process: the file is the cache
        cached = CachedEngine(engine, store)
        assert cached.generate(chats[::-1], PARAMS) == first[::-1] and calls == [3]
        new = chat("A new question")
        mixed = cached.generate([chats[0], new, new, chats[2]], PARAMS)
        assert calls == [3, 1]  # only the missing request, once
        assert mixed[0] == first[0] and mixed[3] == first[2] and mixed[1] == mixed[2]
        # The judging path through the cached engine: same verdicts, no generation.
        judge = Judge(engine=cached, votes=2, max_new_tokens=4)
        reqs = [
            {
                "id": i,
                "task": "score",
                "instruction": f"q{i}",
                "responses": ["a"],
                "images": [str(png)],
            }
            for i in range(2)
        ]
        verdicts = [v.to_json() for v in judge.run(reqs)]
        assert calls == [3, 1, 2]
        assert [v.to_json() for v in judge.run(reqs)] == verdicts and calls == [3, 1, 2]


def test_budget_forcing_continuations_are_cached_too(tmp_path):
    def think_then_answer(req: ChatRequest, k: int) -> str:
        if req.assistant_prefix.endswith("</think>"):
            return "<answer>7</answer>"
        return "ok</think>" if req.assistant_prefix.endswith("Wait") else "more</think>"

    engine = ScriptedEngine(think_then_answer)
    with Store(tmp_path / "s.sqlite") as store:
        judge = Judge(engine=CachedEngine(engine, store), budget_forcing=1, max_new_tokens=50)
        req = {"id": 1, "task": "score", "instruction": "q", "responses": ["a"]}
        first = [v.to_json() for v in judge.run([req])]
        calls = len(engine.calls)
        assert calls == 3 and first[0]["status"] == "ok" and first[0]["scores"] == [7.0]
        assert [v.to_json() for v in judge.run([req])] == first and len(engine.calls) == calls


def test_no_cache_regenerates_and_overwrites(tmp_path):
    engine = ScriptedEngine(["first</think>", "second</think>", "third</think>", "fourth</think>"])
    params = replace(PARAMS, stop=())
    with Store(tmp_path / "s.sqlite") as store:
        got = CachedEngine(engine, store).generate([chat()], params)
        assert [c.text for c in got[0]] == ["first</think>", "second</think>"]
        fresh = CachedEngine(engine, store, read=False).generate([chat()], params)
        assert [c.text for c in fresh[0]] == ["third</think>", "fourth</think>"]
        reread = CachedEngine(engine, store).generate([chat()], params)
        assert reread == fresh and len(engine.calls) == 2


def test_a_failed_generation_stores_nothing(tmp_path):
    def broken(req: ChatRequest, k: int) -> str:
        raise EngineError("out of memory")

    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(EngineError, match="out of memory"):
            CachedEngine(ScriptedEngine(broken), store).generate([chat()], PARAMS)
        assert store.counts().requests == 0


# -- concurrent writers ----------------------------------------------------------------------
def _writer(path: str, worker: int, start: multiprocessing.synchronize.Event) -> None:
    """A process writing 20 shared and 20 own requests, one transaction each, in its own order."""
    start.wait()
    requests = [chat(f"shared {j}") for j in range(20)] + [
        chat(f"own {worker} {j}") for j in range(20)
    ]
    random.Random(worker).shuffle(requests)
    engine = ScriptedEngine(lambda req, k: f"worker {worker} vote {k}")
    with Store(path) as store:  # all workers create the same new file at once
        cached = CachedEngine(engine, store)
        for r in requests:
            cached.generate([r], replace(PARAMS, n=3, stop=()))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(path, w, start)) for w in range(3)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    with Store(path) as store:
        assert store.counts().requests == 20 + 3 * 20 and store.counts().completions == 80 * 3
        # Each key's votes come from one writer: sets are written whole.
        by_key: dict[str, set[str]] = {}
        for rec in store.records():
            by_key.setdefault(rec["key"], set()).add(rec["text"].split(" vote")[0])
        assert all(len(writers) == 1 for writers in by_key.values())


# -- schema versions -------------------------------------------------------------------------
def _set_version(path: Path, version: str) -> None:
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (version,))
    con.commit()
    con.close()


def test_schema_versions_migrate_or_fail_clearly(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    _set_version(path, "99")
    with pytest.raises(ConfigError, match=r"newer flexjudge \(schema version 99.*upgrade"):
        Store(path)
    _set_version(path, "0")
    with pytest.raises(ConfigError, match=r"schema version 0 .*cannot migrate.*another --store"):
        Store(path)
    # A registered migration runs once, in the opening transaction.
    ran: list[int] = []
    monkeypatch.setitem(store_db.MIGRATIONS, 0, lambda con: ran.append(0))
    Store(path).close()
    Store(path).close()
    assert ran == [0]
    not_db = tmp_path / "notes.sqlite"
    not_db.write_text("not a database, just text " * 100)
    with pytest.raises(ConfigError, match="not a flexjudge store"):
        Store(not_db)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.close()
    with pytest.raises(ConfigError, match=r"not a flexjudge store \(its tables: people\)"):
        Store(other)


# -- export ----------------------------------------------------------------------------------
def test_export_jsonl_and_parquet(tmp_path):
    import pyarrow.parquet as pq

    with Store(tmp_path / "s.sqlite") as store:
        engine = CachedEngine(
            ScriptedEngine(lambda req, k: f"{req.messages[1].text()} #{k}"), store
        )
        engine.generate([chat("one"), chat("two")], replace(PARAMS, stop=()))
        assert store.export_jsonl(tmp_path / "c.jsonl") == 4
        assert store.export_parquet(tmp_path / "c.parquet") == 4
        records = list(store.records())
    rows = [json.loads(x) for x in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert sorted(r["text"] for r in rows) == ["one #0", "one #1", "two #0", "two #1"]
    assert {r["engine"] for r in rows} == {"scripted"} and {r["n"] for r in rows} == {2}
    one = next(r for r in rows if r["text"] == "one #0")
    assert one["request"]["params"]["seed"] == 0 and one["vote"] == 0
    assert one["key"] == store_keys.digest(store_keys.canonical_json(one["request"]))
    table = pq.read_table(tmp_path / "c.parquet").to_pylist()
    assert table == records
    with Store(tmp_path / "empty.sqlite") as empty:
        assert empty.export_parquet(tmp_path / "e.parquet") == 0
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


def test_merge_stores_keeps_existing_sets(tmp_path):
    def entry(key: str, text: str) -> Entry:
        return Entry(key, "{}", "scripted", "m", [Completion(text, "eos", 1)] * 2)

    with Store(tmp_path / "a.sqlite") as a, Store(tmp_path / "b.sqlite") as b:
        a.put([entry("k1", "a1"), entry("k2", "a2")])
        b.put([entry("k2", "b2"), entry("k3", "b3")])
        assert a.merge_from(tmp_path / "b.sqlite") == 2
        assert a.get(["k1", "k2", "k3"], 2) == {
            "k1": [Completion("a1", "eos", 1)] * 2,
            "k2": [Completion("a2", "eos", 1)] * 2,
            "k3": [Completion("b3", "eos", 1)] * 2,
        }
    with pytest.raises(ConfigError, match="no store at"):
        Store(tmp_path / "c.sqlite").merge_from(tmp_path / "missing.sqlite")


# -- shards ----------------------------------------------------------------------------------
def test_shard_resolution_and_partition():
    assert resolve_shard("1/3", {"RANK": "0", "WORLD_SIZE": "2"}) == Shard(1, 3)
    assert resolve_shard(None, {"RANK": "1", "WORLD_SIZE": "2"}) == Shard(1, 2, "RANK/WORLD_SIZE")
    slurm = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "3"}
    assert resolve_shard(None, slurm).index == 2  # type: ignore[union-attr]
    assert resolve_shard(None, {"RANK": "0", "WORLD_SIZE": "1"}) is None
    assert resolve_shard(None, {}) is None
    for bad, match in [("3/3", "out of range"), ("a/b", "use i/n"), ("1", "use i/n")]:
        with pytest.raises(ConfigError, match=match):
            resolve_shard(bad, {})
    with pytest.raises(ConfigError, match="contiguous array"):
        resolve_shard(None, {**slurm, "SLURM_ARRAY_TASK_MIN": "0"})
    with pytest.raises(ConfigError, match="RANK='x'"):
        resolve_shard(None, {"RANK": "x", "WORLD_SIZE": "2"})
    for n in range(1, 6):
        owners = [[i for i in range(n) if Shard(i, n).owns(p)] for p in range(23)]
        assert all(len(o) == 1 for o in owners)
        assert sum(Shard(i, n).size(23) for i in range(n)) == 23
    assert Shard(2, 3).path(Path("d/out.jsonl")) == Path("d/out.shard-2-of-3.jsonl")


def _write_shards(tmp_path: Path, total: int = 7, count: int = 3) -> list[Path]:
    source = RequestFile(total, "abcd")
    paths = []
    for i in range(count):
        shard = Shard(i, count)
        path = tmp_path / f"out.shard-{i}-of-{count}.jsonl"
        rows = [
            {
                "id": f"r{p}",
                "status": "ok",
                "score": p / 3,
                "text": "é",
                "shard": shard_record(shard, p, source),
            }
            for p in range(total)
            if shard.owns(p)
        ]
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        paths.append(path)
    return paths


def test_merge_outputs_restores_order_and_rejects_gaps_and_duplicates(tmp_path):
    paths = _write_shards(tmp_path)
    out = tmp_path / "merged.jsonl"
    merge_outputs(out, paths[::-1])
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"r{p}" for p in range(7)]
    assert all("shard" not in r for r in rows) and rows[1]["score"] == 1 / 3

    lines = paths[1].read_text(encoding="utf-8").splitlines(keepends=True)
    paths[1].write_text(lines[0] + lines[0] + lines[1], encoding="utf-8")  # r1 twice
    with pytest.raises(InputError, match=r"1 duplicated rows: id 'r1' at position 1"):
        merge_outputs(tmp_path / "x.jsonl", paths)
    paths[1].write_text(lines[1], encoding="utf-8")  # r1 missing
    with pytest.raises(
        InputError,
        match=r"1 of 7 requests missing \(positions 1; shard 1/3 has "
        r"1 of 2 rows\)",
    ):
        merge_outputs(tmp_path / "x.jsonl", paths)
    with pytest.raises(
        InputError,
        match=r"4 of 7 requests missing .*shard 0/3 has 0 of 3 rows "
        r"\(no file given\)",
    ):
        merge_outputs(tmp_path / "x.jsonl", paths[1:])
    assert not (tmp_path / "x.jsonl").exists()
    paths[1].write_text(lines[1] + '{"id": "r7", "sta', encoding="utf-8")  # killed mid-write
    with pytest.raises(InputError, match="not valid JSON.*re-run it"):
        merge_outputs(tmp_path / "x.jsonl", paths)
    (tmp_path / "o").mkdir()
    other = _write_shards(tmp_path / "o", total=8)
    with pytest.raises(InputError, match="different runs"):
        merge_outputs(tmp_path / "x.jsonl", [paths[0], other[1]])
    with pytest.raises(OutputError, match="also one of the shard outputs"):
        merge_outputs(paths[0], paths)
