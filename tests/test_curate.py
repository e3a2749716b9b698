"""Seed curation on a synthetic corpus whose every trace has a known fate: correct or not,
short or long, with or without a mention of Assistant 2. Lengths are white-space words unless
a test says otherwise, so every threshold can be checked at its boundary."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flexjudge.curate import (
    CurateConfig,
    TeacherSettings,
    TokenizerCounter,
    Trace,
    assistant1_reasoning,
    curate,
    generate_traces,
    import_official,
    read_corpus,
    read_traces,
    rescale_score,
)
from flexjudge.engines import ScriptedEngine
from flexjudge.errors import ConfigError, EngineError, InputError
from flexjudge.parsing import AnswerSpec, parse_output
from flexjudge.prompts import system_prompt
from flexjudge.request import Scale, Task
from flexjudge.train import to_prompt_completion

# --------------------------------------------------------------------------- the corpus

INTRO = "Let me read both answers."  # 5 words


def reasoning(n1: int, n2: int, *, mention2: bool = True) -> str:
    """5 + (5 + n1) + (5 + n2) + 6 = 21 + n1 + n2 words; Assistant 1's prefix is 10 + n1."""
    second = "Assistant 2 skips a step." if mention2 else "The other reply skips a step."
    return (
        f"{INTRO}\nAssistant 1 states the facts. {' '.join(['alpha'] * n1)}.\n"
        f"{second} {' '.join(['beta'] * n2)}.\nOverall the first answer is better."
    )


def a1_part(n1: int) -> str:
    return f"{INTRO}\nAssistant 1 states the facts. {' '.join(['alpha'] * n1)}."


def text(reason: str, a: object, b: object) -> str:
    """A teacher output after the primed <think>; one word more than its reasoning."""
    return f"{reason}\n</think><answer>{a}</answer><answer>{b}</answer>"


REFS = {
    "q01": (8, 3),
    "q02": (6, 2),
    "q03": (8, 3),
    "q04": (5, 9),
    "q05": (4, 4),
    "q06": (9, 2),
    "q07": (6, 5),
    "q08": (2, 7),
    "q09": (7, 8),
    "q10": (7.5, 3),
    "q11": (3, 3),
    "q12": (5, 5),
}

# qid -> [(seed, text)]; the comment gives the fate
TRACES = {
    "q01": [
        (13, text(reasoning(40, 40), 8, 3)),  # correct, 101 words: kept
        (79, text(reasoning(10, 10), 8, 3)),
    ],  # correct, shorter
    "q02": [
        (13, text(reasoning(5, 5), 6, 2)),  # correct, shorter
        (79, text(reasoning(30, 5), 6, 2)),
    ],  # correct, 56 words: kept
    "q03": [
        (13, text(reasoning(60, 60), 7, 3)),  # scores differ from the reference
        (79, text(reasoning(25, 25), 8, 3)),
    ],  # correct, 71
    "q04": [
        (13, reasoning(50, 50) + "<answer>5</answer><answer>9</answer>"),  # no </think>
        (79, text(reasoning(50, 50), 5, "").replace("<answer></answer>", "")),
    ],  # one answer
    "q05": [
        (13, text(reasoning(50, 50) + " <|im_end|>", 4, 4)),  # markup in the reasoning
        (79, text(reasoning(50, 50), 4, 11)),
    ],  # out of scale
    "q06": [(13, text(reasoning(30, 15, mention2=False), 9, 2))],  # 66, never names Assistant 2
    "q07": [(13, text(reasoning(19, 5), 6, 5))],  # Assistant 1 part: 29 (= threshold)
    "q08": [(13, text(reasoning(20, 5), 2, 7))],  # Assistant 1 part: 30
    "q09": [(13, text(reasoning(35, 35), 7, 8))],  # 91; 7, 8 would tie at 1-5
    "q10": [(13, text(reasoning(50, 50), 7, 3))],  # reference 7.5 is off the scale
    "q12": [(13, text(reasoning(25, 30), 5, 5))],  # 76, a tie
}  # q11 has no trace

CONFIG = CurateConfig(n_single=2, single_min_tokens=29, n_pairwise=3, pairwise_min_tokens=60)


def question(qid: str) -> str:
    return f"Question {qid}: which answer is better?"


def judgelm_row(qid: str) -> dict:
    """A row in JudgeLM-100K's layout (with some of its other fields)."""
    return {
        "review_id": f"r-{qid}",
        "question_id": qid,
        "answer1_model_id": "m1",
        "answer2_model_id": "m2",
        "question_body": question(qid),
        "answer1_body": f"First answer to {qid}.",
        "answer2_body": f"Second answer to {qid}.",
        "text": "GPT-4 review",
        "score": [float(s) for s in REFS[qid]],
    }


@pytest.fixture()
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "judgelm.jsonl"
    path.write_text("".join(json.dumps(judgelm_row(q)) + "\n" for q in REFS))
    return path


@pytest.fixture()
def traces() -> list[Trace]:
    return [Trace(q, seed, t) for q, rows in TRACES.items() for seed, t in rows]


def by_id(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["meta"]["question_id"], r["meta"]["format"]): r for r in rows}


# --------------------------------------------------------------------------- corpus reading


def test_judgelm_rows_are_read_with_ids_texts_and_reference_scores(corpus_file):
    corpus = read_corpus(corpus_file)
    assert [it.question_id for it in corpus.items] == list(REFS)
    first = corpus.items[0]
    assert (first.question, first.answer1) == (question("q01"), "First answer to q01.")
    assert first.reference == (8.0, 3.0)
    assert corpus.stats() == {
        "rows": 12,
        "items": 12,
        "malformed_skipped": 0,
        "reference_off_scale": 1,
    }
    assert len(read_corpus(corpus_file, limit=5).items) == 5


def test_generic_jsonl_through_a_field_mapping(tmp_path):
    path = tmp_path / "generic.jsonl"
    path.write_text(
        json.dumps({"id": 7, "prompt": "q?", "a": "x", "b": "y", "gold": [9, 4]}) + "\n"
    )
    corpus = read_corpus(
        path,
        fields={
            "question_id": "id",
            "question_body": "prompt",
            "answer1_body": "a",
            "answer2_body": "b",
            "score": "gold",
        },
    )
    assert corpus.items[0].question_id == "7" and corpus.items[0].reference == (9.0, 4.0)
    with pytest.raises(ConfigError, match="unknown corpus field 'answer3_body'"):
        read_corpus(path, fields={"answer3_body": "c"})


def test_malformed_rows_raise_with_lines_causes_and_counts_or_are_skipped(tmp_path, corpus_file):
    good = corpus_file.read_text().splitlines()
    bad = [
        good[0],
        json.dumps({k: v for k, v in judgelm_row("q02").items() if k != "answer2_body"}),
        "{not json",
        json.dumps({**judgelm_row("q03"), "score": [8]}),
        json.dumps({**judgelm_row("q04"), "answer1_body": "  "}),
        good[0],  # duplicate id
        good[5],
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(bad) + "\n")
    with pytest.raises(InputError) as err:
        read_corpus(path)
    msg = str(err.value)
    assert "5 of 7 rows are malformed" in msg and "line 2: missing 'answer2_body'" in msg
    assert (
        "line 3: not valid JSON" in msg and "line 4: 'score' must be a list of two numbers" in msg
    )
    corpus = read_corpus(path, skip_malformed=True)
    assert [it.question_id for it in corpus.items] == ["q01", "q06"]
    assert corpus.stats()["malformed_skipped"] == 5
    assert "duplicate 'question_id' 'q01' (first on line 1)" in corpus.malformed[-1]


# --------------------------------------------------------------------------- rules


def test_rescale_rounds_half_up_onto_1_to_5():
    assert [rescale_score(s) for s in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_cut_rules_prefix_and_drop():
    r = reasoning(3, 2)
    assert assistant1_reasoning(r) == a1_part(3)
    assert assistant1_reasoning(r, "drop") == (
        f"{a1_part(3)}\nbeta beta.\nOverall the first answer is better."
    )
    both = (
        "Compare Assistant 1 and Assistant 2.\n\nAssistant 1 is right. It is short.\n\n"
        "The second answer is wrong.\nDone."
    )
    assert assistant1_reasoning(both) == ""  # the first sentence already names Assistant 2
    assert assistant1_reasoning(both, "drop") == "Assistant 1 is right. It is short.\n\nDone."
    assert assistant1_reasoning(reasoning(3, 2, mention2=False)) is None
    assert assistant1_reasoning("A1 fine. ASSISTANT TWO is off.") == "A1 fine."


SENTENCES = st.lists(
    st.sampled_from(
        [
            "Assistant 1 is right.",
            "Assistant 2 is wrong!",
            "It is short.",
            "The second answer errs?",
            "Both are fine.",
            "assistant two adds detail.",
            "Assistant 12 is not a mention.",
        ]
    ),
    max_size=8,
)
SEPARATORS = st.sampled_from([" ", "\n", "\n\n"])


@given(SENTENCES, st.data())
@settings(max_examples=200, deadline=None)
def test_cut_rules_never_keep_a_mention_and_keep_the_order(sentences, data):
    text = "".join(s + data.draw(SEPARATORS) for s in sentences).strip()
    mentions = [s for s in sentences if re.search(r"(?i)assistant (2|two)\b|second answer", s)]
    prefix, dropped = assistant1_reasoning(text), assistant1_reasoning(text, "drop")
    if not mentions:
        assert prefix is dropped is None
        return
    kept = [s for s in sentences if s not in mentions]
    assert text.startswith(prefix) and not any(m in prefix for m in mentions)
    assert re.sub(r"\s+", " ", dropped) == " ".join(kept)


def test_filter_and_selection_counts(corpus_file, traces):
    result = curate(read_corpus(corpus_file), traces, CONFIG)
    f, sel = result.stats["filter"], result.stats["selection"]
    assert f["traces"] == 16 and f["traces_per_seed"] == {"13": 11, "79": 5}
    assert f["items_without_trace"] == 1
    assert f["invalid"] == {"answer_count": 1, "no_think_close": 1, "out_of_scale": 1}
    assert (f["score_mismatch"], f["markup_in_reasoning"], f["correct"], f["prompts_kept"]) == (
        2,
        1,
        10,
        8,
    )
    # pairwise: > 60 reasoning words: q01 101, q09 91, q12 76, q03 71, q06 66; the 3 longest
    assert sel["pairwise"] == {
        "requested": 3,
        "min_tokens": 60,
        "eligible": 5,
        "selected": 3,
        "shortfall": 0,
    }
    pairs = sorted(q for q, fmt in by_id(result.rows) if fmt == "pairwise")
    assert pairs == ["q01", "q09", "q12"]
    # single, from the other 5: q02 40, q03 35, q08 30 are > 29; q07 = 29 is not; q06 no mention
    s = sel["single"]
    assert (s["candidates"], s["no_assistant2_mention"], s["eligible"], s["selected"]) == (
        5,
        1,
        3,
        2,
    )
    singles = {q for q, fmt in by_id(result.rows) if fmt == "single"}
    assert singles < {"q02", "q03", "q08"} and not singles & set(pairs)  # disjoint
    assert result.stats["output"]["rows"] == len(result.rows) == 5
    assert result.stats["lengths"]["pairwise_reasoning_tokens"]["max"] == 101


def test_longest_correct_trace_per_prompt_is_kept(corpus_file, traces):
    result = curate(
        read_corpus(corpus_file),
        traces,
        CurateConfig(n_single=0, n_pairwise=8, pairwise_min_tokens=0),
    )
    meta = {r["meta"]["question_id"]: r["meta"] for r in result.rows}
    assert (meta["q01"]["seed"], meta["q01"]["trace_tokens"]) == (13, 102)
    assert (meta["q02"]["seed"], meta["q02"]["reasoning_tokens"]) == (79, 56)
    assert meta["q03"]["seed"] == 79  # seed 13 has other scores, although longer
    assert set(meta) == {"q01", "q02", "q03", "q06", "q07", "q08", "q09", "q12"}


def test_longest_single_pick_and_seeded_random_pick(corpus_file, traces):
    corpus = read_corpus(corpus_file)
    longest = curate(corpus, traces, replace(CONFIG, single_pick="longest"))
    assert {q for q, fmt in by_id(longest.rows) if fmt == "single"} == {"q02", "q03"}
    picks = set()
    for seed in range(8):
        config = replace(CONFIG, seed=seed)
        first, again = curate(corpus, traces, config), curate(corpus, traces, config)
        assert first.rows == again.rows  # seeded
        picks.add(frozenset(q for q, fmt in by_id(first.rows) if fmt == "single"))
    assert len(picks) > 1


def test_rows_are_training_rows_that_parse_back(corpus_file, traces):
    result = curate(read_corpus(corpus_file), traces, replace(CONFIG, rescale_share=0.0))
    for row, example in zip(result.rows, result.examples):
        assert {k: v for k, v in row.items() if k != "meta"} == to_prompt_completion(example)
        target = row["completion"][0]["content"]
        parsed = parse_output(target[len("<think>\n") :], AnswerSpec.for_request(example.request))
        assert parsed.valid and list(parsed.scores) == row["meta"]["scores"]
    rows = by_id(result.rows)
    pair = rows[("q01", "pairwise")]
    assert pair["prompt"][0]["content"] == system_prompt(Task.PAIRWISE, Scale(1, 10), None)
    assert pair["completion"][0]["content"] == (
        f"<think>\n{reasoning(40, 40)}\n</think><answer>8</answer><answer>3</answer>"
    )
    single = next(r for (q, fmt), r in rows.items() if fmt == "single")
    qid = single["meta"]["question_id"]
    n1 = {"q02": 30, "q03": 25, "q08": 20}[qid]
    assert single["prompt"][0]["content"] == system_prompt(Task.SCORE, Scale(1, 10), None)
    user = single["prompt"][1]["content"]
    assert user == f"[Question]\n{question(qid)}\n\n[Assistant's Answer]\nFirst answer to {qid}."
    assert single["completion"][0]["content"] == (
        f"<think>\n{a1_part(n1)}\n</think><answer>{REFS[qid][0]}</answer>"
    )
    assert single["meta"]["reasoning_tokens"] == 10 + n1


def test_rescaling_to_1_to_5_keeps_verdicts(corpus_file, traces):
    result = curate(read_corpus(corpus_file), traces, replace(CONFIG, rescale_share=1.0))
    mix = result.stats["scale_mix"]
    assert mix["pairwise"] == {"1-10": 1, "1-5": 2} and mix["single"] == {"1-10": 0, "1-5": 2}
    assert mix["pairwise_kept_1-10_to_avoid_tie"] == 1
    rows = by_id(result.rows)
    q01 = rows[("q01", "pairwise")]
    assert "Score assistants 1-5 (higher=better)" in q01["prompt"][0]["content"]
    assert q01["prompt"][0]["content"] == system_prompt(Task.PAIRWISE, Scale(1, 5), None)
    assert q01["completion"][0]["content"].endswith("<answer>4</answer><answer>2</answer>")
    q12 = rows[("q12", "pairwise")]["completion"][0]["content"]  # a tie stays a tie
    assert q12.endswith("<answer>3</answer><answer>3</answer>")
    q09 = rows[("q09", "pairwise")]  # 7 vs 8 would become 4 vs 4
    assert q09["meta"]["scale"] == "1-10"
    assert q09["completion"][0]["content"].endswith("<answer>7</answer><answer>8</answer>")


def test_scale_draws_do_not_depend_on_other_selections(corpus_file, traces):
    corpus = read_corpus(corpus_file)
    a = curate(corpus, traces, replace(CONFIG, seed=3))
    b = curate(corpus, traces, replace(CONFIG, seed=3, n_single=0))

    def scales(res):
        return {
            q: r["meta"]["scale"] for (q, fmt), r in by_id(res.rows).items() if fmt == "pairwise"
        }

    assert scales(a) == scales(b)


def test_answer_first_and_size_cap(corpus_file, traces):
    corpus = read_corpus(corpus_file)
    first = curate(corpus, traces, replace(CONFIG, answer_first=True))
    assert all(r["completion"][0]["content"].startswith("<answer>") for r in first.rows)
    capped = curate(corpus, traces, replace(CONFIG, max_examples=3))
    sel = capped.stats["selection"]  # 3 * 2/5 = 1.2 -> 1 single, 2 pairwise
    assert (sel["single"]["requested"], sel["pairwise"]["requested"], len(capped.rows)) == (1, 2, 3)


def test_drop_cut_makes_more_singles_eligible(corpus_file, traces):
    result = curate(read_corpus(corpus_file), traces, replace(CONFIG, cut="drop"))
    assert result.stats["selection"]["single"]["eligible"] == 4  # q07 keeps its beta sentence


def test_empty_selection_names_the_counts(corpus_file, traces):
    with pytest.raises(InputError) as err:
        curate(
            read_corpus(corpus_file),
            traces,
            CurateConfig(single_min_tokens=1000, pairwise_min_tokens=1000),
        )
    msg = str(err.value)
    assert msg.startswith(
        "no training example selected: 12 corpus items, 16 traces, 10 correct "
        "(3 unparseable, 2 with scores other than the reference, 1 with markup), "
        "8 prompts kept; 0 have more than 1000 reasoning tokens"
    )
    with pytest.raises(InputError, match="not in the corpus"):
        curate(read_corpus(corpus_file), [Trace("zz", 13, "x")], CONFIG)


def test_token_counts_with_a_tokenizer(corpus_file, traces, tiny_vl):
    count = TokenizerCounter(str(tiny_vl))
    config = CurateConfig(n_single=0, n_pairwise=8, pairwise_min_tokens=0)
    result = curate(read_corpus(corpus_file), traces, config, count)
    assert result.stats["output"]["token_counter"] == f"tokenizer:{tiny_vl}"
    meta = {r["meta"]["question_id"]: r["meta"] for r in result.rows}
    assert meta["q01"]["trace_tokens"] == count(TRACES["q01"][0][1]) != 102


# --------------------------------------------------------------------------- teacher


def scripted_teacher(corpus_items, fail_after: int | None = None) -> ScriptedEngine:
    """Answers each teacher prompt with its item's seed-13 trace; raises after ``fail_after``
    items (a simulated kill)."""
    by_question = {it.question: it.question_id for it in corpus_items}
    served = []

    def script(req, k):
        if fail_after is not None and len(served) >= fail_after:
            raise RuntimeError("simulated kill")
        qid = by_question[re.search(r"\[Question\]\n(.*)\n\n", req.messages[1].text()).group(1)]
        served.append(qid)
        return dict(TRACES).get(qid, [(0, text(reasoning(1, 1), 1, 1))])[0][1]

    return ScriptedEngine(script)


def generated_keys(engine: ScriptedEngine, failed: bool = False) -> list[tuple[str, int]]:
    calls = engine.calls[:-1] if failed else engine.calls  # the failed call returned nothing
    return [
        (re.search(r"Question (q\d+)", r.messages[1].text()).group(1), params.seed)
        for reqs, params in calls
        for r in reqs
    ]


def test_teacher_prompt_and_sampling_are_the_papers(corpus_file, tmp_path):
    items = read_corpus(corpus_file).items[:3]
    engine = scripted_teacher(items)
    report = generate_traces(items, engine, tmp_path / "t.jsonl", TeacherSettings(batch_size=2))
    assert (report.existing, report.generated, report.total) == (0, 6, 6)
    chat = engine.calls[0][0][0]
    assert chat.messages[0].text() == system_prompt(Task.PAIRWISE, Scale(1, 10), None)
    assert (
        "Score assistants 1-10" in chat.messages[0].text() and chat.assistant_prefix == "<think>\n"
    )
    assert chat.messages[1].text() == (
        f"[Question]\n{question('q01')}\n\n[Assistant 1's Answer]\nFirst answer to q01.\n\n"
        "[Assistant 2's Answer]\nSecond answer to q01."
    )
    params = {(p.seed, p.temperature, p.top_p, p.max_new_tokens, p.n) for _, p in engine.calls}
    assert params == {(13, 0.1, 0.95, 4096, 1), (79, 0.1, 0.95, 4096, 1)}
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    keys = {(r["question_id"], r["seed"]) for r in rows}
    assert keys == {(q, s) for q in ("q01", "q02", "q03") for s in (13, 79)}
    assert rows[0]["text"] == TRACES["q01"][0][1] and rows[0]["finish_reason"] == "eos"


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_killed_run_resumes_without_losing_or_repeating_items(corpus_file, tmp_path, batch_size):
    items = read_corpus(corpus_file).items
    path = tmp_path / "traces.jsonl"
    settings = TeacherSettings(batch_size=batch_size)
    first = scripted_teacher(items, fail_after=7)
    with pytest.raises(EngineError, match="rerun to resume"):
        generate_traces(items, first, path, settings)
    written = [(t.question_id, t.seed) for t in read_traces(path)]
    assert written == generated_keys(first, failed=True)  # every finished batch is on disk
    assert len(written) == 7 - 7 % batch_size
    second = scripted_teacher(items)
    report = generate_traces(items, second, path, settings)
    assert (report.existing, report.generated, report.total) == (
        len(written),
        24 - len(written),
        24,
    )
    done = generated_keys(first, failed=True) + generated_keys(second)
    assert len(done) == len(set(done)) == 24  # nothing generated twice, nothing lost
    assert len(read_traces(path)) == len(path.read_text().splitlines()) == 24
    again = generate_traces(items, scripted_teacher(items), path, settings)
    assert again.generated == 0


def test_a_line_cut_mid_write_is_removed_and_redone(corpus_file, tmp_path):
    items = read_corpus(corpus_file).items[:2]
    path = tmp_path / "traces.jsonl"
    generate_traces(items, scripted_teacher(items), path, TeacherSettings(seeds=(13,)))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[1][:25])  # killed while writing the second row
    assert [t.question_id for t in read_traces(path)] == ["q01"]
    report = generate_traces(items, scripted_teacher(items), path, TeacherSettings(seeds=(13,)))
    assert report.repaired_tail and (report.existing, report.generated) == (1, 1)
    assert [t.question_id for t in read_traces(path)] == ["q01", "q02"]


def test_resuming_with_other_settings_or_another_corpus_is_refused(corpus_file, tmp_path):
    items = read_corpus(corpus_file).items
    path = tmp_path / "traces.jsonl"
    generate_traces(items[:2], scripted_teacher(items), path, TeacherSettings(seeds=(13,)))
    with pytest.raises(ConfigError, match=r"temperature=0.1 \(now 0.5\)"):
        generate_traces(items[:2], scripted_teacher(items), path, TeacherSettings(temperature=0.5))
    with pytest.raises(InputError, match="'q01', which is not in the corpus"):
        generate_traces(items[2:], scripted_teacher(items), path, TeacherSettings(seeds=(13,)))
    more = generate_traces(
        items[:2], scripted_teacher(items), path, TeacherSettings(seeds=(13, 79))
    )
    assert (more.existing, more.generated) == (2, 2)  # adding a seed is allowed


def official_rows(items, seed_index: int = 0) -> list[dict]:
    """Rows as the official judgelrm_generation.py writes them (ChatML string prompts)."""
    rows = []
    for it in items:
        user = (
            f"[Question]\n{it.question}\n\n[Assistant 1's Answer]\n{it.answer1}\n\n"
            f"[Assistant 2's Answer]\n{it.answer2}"
        )
        prompt = (
            f"<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n"
        )
        traces = TRACES.get(it.question_id, [(0, "no trace")])
        trace = traces[min(seed_index, len(traces) - 1)][1]
        rows.append({"prompt": prompt, "text": trace, "tokens": [1, 2, 3]})
    return rows


def test_official_teacher_outputs_import_with_an_alignment_check(corpus_file, tmp_path):
    items = read_corpus(corpus_file).items
    path = tmp_path / "judgelrm_7b_13_0.1.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in official_rows(items)))
    traces = import_official(items, path, seed=0)
    assert [t.question_id for t in traces] == list(REFS) and traces[0].text == TRACES["q01"][0][1]
    short = tmp_path / "short.jsonl"
    short.write_text("".join(json.dumps(r) + "\n" for r in official_rows(items)[:-1]))
    with pytest.raises(InputError, match="have 11 rows but the corpus has 12"):
        import_official(items, short)
    rows = official_rows(items)
    rows[3], rows[4] = rows[4], rows[3]
    swapped = tmp_path / "swapped.jsonl"
    swapped.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(
        InputError,
        match=r"2 of 12 rows hold another item's prompt "
        r"\(first: row 4, expected question_id 'q04'\)",
    ):
        import_official(items, swapped)


# --------------------------------------------------------------------------- CLI


def run_cli(*args: str):
    from flexjudge.cli.main import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


CLI_SELECTION = (
    "--n-single",
    "2",
    "--single-min-tokens",
    "29",
    "--n-pairwise",
    "3",
    "--pairwise-min-tokens",
    "60",
)


def test_cli_curates_from_official_outputs_and_from_a_trace_file(corpus_file, tmp_path, traces):
    items = read_corpus(corpus_file).items
    files = []
    for n in (0, 1):
        files.append(tmp_path / f"seed{n}.jsonl")
        files[-1].write_text("".join(json.dumps(r) + "\n" for r in official_rows(items, n)))
    out = run_cli(
        "curate",
        str(corpus_file),
        "-o",
        str(tmp_path / "rows.jsonl"),
        "--teacher-outputs",
        str(files[0]),
        "--teacher-outputs",
        str(files[1]),
        *CLI_SELECTION,
    )
    assert out.exit_code == 0, out.output
    assert (
        "prompts kept (longest correct trace)" in out.output
        and "format and scale mix" in out.output
    )
    stats = json.loads((tmp_path / "rows.stats.json").read_text())
    assert stats["output"]["rows"] == 5 == len((tmp_path / "rows.jsonl").read_text().splitlines())

    trace_file = tmp_path / "traces.jsonl"
    trace_file.write_text(
        "".join(
            json.dumps({"question_id": t.question_id, "seed": t.seed, "text": t.text}) + "\n"
            for t in traces
        )
    )
    out = run_cli(
        "curate",
        str(corpus_file),
        "-o",
        str(tmp_path / "b.jsonl"),
        "--traces",
        str(trace_file),
        "--json",
        *CLI_SELECTION,
    )
    assert json.loads(out.output)["filter"]["correct"] == 10


def test_cli_bad_input_exits_2_with_the_cause(corpus_file, tmp_path):
    out = run_cli("curate", str(corpus_file), "-o", str(tmp_path / "r.jsonl"))
    assert out.exit_code == 2 and "exactly one trace source" in out.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question_id": 1}) + "\n")
    out = run_cli("curate", str(bad), "-o", str(tmp_path / "r.jsonl"), "--traces", str(bad))
    assert (
        out.exit_code == 2
        and "1 of 1 rows are malformed (line 1: missing 'question_body'" in out.output
    )


def test_cli_generates_with_a_real_engine_resumes_and_reports_an_empty_selection(
    corpus_file, tmp_path, tiny_vl
):
    """The tiny random model writes no valid judgement: every trace is filtered out."""
    args = (
        "curate",
        str(corpus_file),
        "-o",
        str(tmp_path / "rows.jsonl"),
        "--teacher",
        str(tiny_vl),
        "--limit",
        "2",
        "--seeds",
        "13",
        "--max-new-tokens",
        "4",
        "--device",
        "cpu",
    )
    out = run_cli(*args)
    assert out.exit_code == 2
    assert "no training example selected: 2 corpus items, 2 traces, 0 correct" in out.output
    assert "2 traces generated, 0 resumed" in out.output
    assert len(read_traces(tmp_path / "rows.traces.jsonl")) == 2
    out = run_cli(*args)
    assert "0 traces generated, 2 resumed" in out.output
