"""Turn a :class:`~flexjudge.request.JudgeRequest` into the chat the judge model sees.

One function, :func:`build_chat`, serves judging, training targets' prompts, benchmarks and
``--show-prompt``. The protocol texts come from :mod:`flexjudge.prompts.protocol`; wording
here is flexjudge's own.

Injection: instruction, response, criteria and reference text is user data. Anything in it
that looks like our markup (``<think>``, ``</answer>``, a verdict label such as ``[[A>B]]``)
or a chat-template token (``<|im_end|>``, ``<|image_pad|>``, Mol-LLaMA's ``<mol>``) is
*neutralised* by
:func:`neutralize` before it enters the prompt: its ASCII angle brackets become ‹ › and a
label's double square brackets become ⟦ ⟧. The text stays readable to the judge, but it can no
longer close a turn, inject an image slot, or be read back by the parser as a verdict. Nothing
else is touched: double brackets in code (``df[["a"]]``, ``[[ -f x ]]``) stay as written.

Molecules: for most engines a molecule is an RDKit depiction and/or a named text block. For an
engine that reads molecules natively (``"molecule"`` in ``native``: Flex-Mol-LLaMA), it is one
``Part("molecule", media=<canonical SMILES>)``, which the engine turns into its ``<mol>``
slots; nothing else in the prompt changes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from flexjudge.chat import ChatRequest, Message, Part
from flexjudge.prompts import protocol
from flexjudge.request import Candidate, JudgeRequest, Scale, Task, letter

_MARKUP_TAG = re.compile(
    r"<\s*(/?)\s*(think|answer|tool_call|tool_response|mol)\s*>", re.IGNORECASE
)
_TEMPLATE_TOKEN = re.compile(r"<\|([^<>|]{0,64})\|>")
#: Verdict labels in any spelling a model might normalise to one the parser accepts
#: (``[[A>B]]``, ``[[ b < a ]]``, ``[[A=B=good]]``, ``[[A=B]]``). Other double brackets - code
#: such as ``df[["a", "b"]]`` or bash ``[[ -f x ]]`` - are left exactly as written.
_BRACKET_LABEL = re.compile(
    r"\[\[(\s*(?:[AB]\s*[<>]\s*[AB]|A\s*=\s*B(?:\s*=\s*(?:Good|Bad))?)\s*)\]\]", re.IGNORECASE
)
# Partial forms that a tokenizer would still map to special tokens are handled by the
# full-token rule; lone "<|" is harmless once no complete token can be formed.


def neutralize(text: str) -> str:
    """Make user text unable to forge markup, verdicts or chat-template tokens."""
    text = _TEMPLATE_TOKEN.sub(lambda m: f"‹|{m.group(1)}|›", text)
    text = _MARKUP_TAG.sub(lambda m: f"‹{m.group(1)}{m.group(2)}›", text)
    text = _BRACKET_LABEL.sub(lambda m: f"⟦{m.group(1)}⟧", text)
    return text


# --- flexjudge's own wording (not protocol) ------------------------------------------------
NO_TIE_SENTENCE = "DO NOT assign the same score to both assistants."
DEFAULT_LABEL_CRITERIA = (
    "Assess the quality of the two responses. Consider helpfulness, relevance, accuracy, and "
    "level of detail."
)
#: The protocol prompts' example answers per task.
_EXAMPLES = {Task.SCORE: (3,), Task.PAIRWISE: (3, 5), Task.BATCH: (3, 8, 6)}
#: Flex-Mol-LLaMA's protocols: system prompt and assistant prefix (PAMPA is not primed; the
#: pairwise judge is primed with "<think>", no newline). Everything else is THINK_PRIME.
_MOL_SYSTEMS = {
    "pampa": protocol.PAMPA_JUDGE_SYSTEM,
    "mol_pairwise": protocol.PAIRWISE_JUDGE_SYSTEM,
}
_PRIMES = {"pampa": "", "mol_pairwise": protocol.THINK_PREFILL}


def system_prompt(
    task: Task, scale: Scale, criteria: str | None, tie: bool = True, protocol_name: str = "default"
) -> str:
    """The system prompt of a task. With the defaults (1-10, no criteria) the pairwise prompt
    is JudgeLRM's verbatim. ``protocol_name`` "audio_mos"/"voxsim" selects Flex-Omni's audio
    prompts (score task; criteria are not part of them), "pampa"/"mol_pairwise"
    Flex-Mol-LLaMA's (verbatim, fixed scale)."""
    if protocol_name in _MOL_SYSTEMS:
        return _MOL_SYSTEMS[protocol_name]
    if protocol_name in protocol.AUDIO_PROTOCOLS:
        template = protocol.AUDIO_PROTOCOLS[protocol_name][0]
        example = "".join(f"<answer>{v}</answer>" for v in _examples(Task.SCORE, scale))
        return template.format(
            scale_low=scale.fmt(scale.low), scale_high=scale.fmt(scale.high), example=example
        )
    if task is Task.LABEL:
        return protocol.LABEL.format(
            criteria=neutralize(criteria) if criteria else DEFAULT_LABEL_CRITERIA,
            example=protocol.LABELS[1],
        )
    crit = neutralize(criteria) if criteria else protocol.DEFAULT_CRITERIA
    example = "".join(f"<answer>{v}</answer>" for v in _examples(task, scale))
    template = {
        Task.SCORE: protocol.SINGLE,
        Task.PAIRWISE: protocol.PAIRWISE,
        Task.BATCH: protocol.BATCH,
    }[task]
    scale_text = str(scale)
    if scale.decimals:
        scale_text += f" in {'first' if scale.decimals == 1 else 'second'} decimal"
    if task is Task.PAIRWISE and not tie:
        crit = f"{crit} {NO_TIE_SENTENCE}"
    return template.format(scale=scale_text, criteria=crit, example=example)


def _examples(task: Task, scale: Scale) -> list[str]:
    """The example answers shown in the prompt: the protocol's integers where they all fit the
    scale (3.8 on a decimal scale, as the audio prompt's example), otherwise the same values
    mapped linearly from 1-10 onto the scale (so they stay distinct)."""
    values = _EXAMPLES[task]
    if scale.decimals and all(scale.contains(v + 0.8) for v in values):
        return [scale.fmt(v + 0.8) for v in values]
    if all(scale.contains(v) for v in values):
        return [scale.fmt(v) for v in values]
    return [scale.fmt(scale.low + (scale.high - scale.low) * (v - 1) / 9) for v in values]


def response_name(task: Task, index: int, total: int) -> str:
    """How the prompt names a response: "Assistant 1" (numbered formats, the protocol's),
    "Assistant A" (label format, GenAI-Bench's), or "Assistant" for a lone response."""
    if task is Task.SCORE and total == 1:
        return "Assistant"
    if task is Task.LABEL:
        return f"Assistant {letter(index)}"
    return f"Assistant {index + 1}"


def _media_parts(
    images: Sequence[object],
    videos: Sequence[object],
    audios: Sequence[object],
    molecules: Sequence[str],
    names: Sequence[str] = (),
    mode: str = "both",
    native: bool = False,
) -> list[Part]:
    parts = [Part("image", media=m) for m in images]
    parts += [Part("video", media=m) for m in videos]
    parts += [Part("audio", media=m) for m in audios]
    return parts + _molecule_parts(molecules, names, mode, native)


def _molecule_parts(
    molecules: Sequence[str], names: Sequence[str], mode: str, native: bool = False
) -> list[Part]:
    """Each molecule as an RDKit depiction and/or a named text block (canonical SMILES, formula,
    descriptors), so that the reasoning can refer to it by name; or, for an engine that reads
    molecules natively, as a molecule part holding its canonical SMILES."""
    if not molecules:
        return []
    if native:
        from flexjudge.media.molecules import canonical_smiles

        return [Part("molecule", media=canonical_smiles(mol)) for mol in molecules]
    from flexjudge.media.molecules import render_molecule  # RDKit only when molecules are used

    parts: list[Part] = []
    for i, mol in enumerate(molecules):
        name = names[i] if i < len(names) else f"Molecule {i + 1}"
        view = render_molecule(mol, name, mode=mode)
        if view.image is not None:
            parts.append(Part("image", media=view.image))
        if view.text:
            parts.append(Part("text", text=neutralize(view.text) + "\n"))
    return parts


def _names(base: str, n: int) -> list[str]:
    return [base] if n == 1 else [f"{base}.{k + 1}" for k in range(n)]


def _candidate_parts(
    task: Task, index: int, total: int, cand: Candidate, mode: str, native: bool = False
) -> list[Part]:
    name = response_name(task, index, total)
    kind = "Answer"
    if not cand.text.strip() and cand.has_media():
        kind = (
            "Video"
            if cand.videos
            else "Audio"
            if cand.audios
            else "Molecule"
            if cand.molecules and not cand.images
            else "Image"
        )
    parts = [Part("text", text=f"[{name}'s {kind}]\n")]
    label = name.removeprefix("Assistant").strip() or "A"
    media = _media_parts(
        cand.images,
        cand.videos,
        cand.audios,
        cand.molecules,
        _names(f"Molecule {label}", len(cand.molecules)),
        mode,
        native,
    )
    if media:
        parts += media
        if cand.text.strip():
            parts.append(Part("text", text="\n"))
    parts.append(Part("text", text=neutralize(cand.text)))
    return parts


def user_parts(request: JudgeRequest, order: Sequence[int], native: bool = False) -> list[Part]:
    """The user turn: shared media first, then ``[Question]``, an optional reference, and
    each response in the order given (``order[i]`` is the request index shown i-th).
    Flex-Mol-LLaMA's protocols have their own verbatim layouts. ``native``: molecules as
    molecule parts (see the module doc)."""
    if request.protocol == "pampa":
        return _pampa_parts(request, native)
    if request.protocol == "mol_pairwise":
        return _mol_pairwise_parts(request, order, native)
    mode = request.molecule_view
    n_mol = len(request.molecules)
    parts: list[Part] = _media_parts(
        request.images,
        request.videos,
        request.audios,
        request.molecules,
        ["Molecule"] if n_mol == 1 else [f"Molecule {k + 1}" for k in range(n_mol)],
        mode,
        native,
    )
    if parts:
        parts.append(Part("text", text="\n\n"))
    parts.append(Part("text", text=f"[Question]\n{neutralize(request.instruction)}"))
    if request.reference:
        parts.append(Part("text", text=f"\n\n[Reference Answer]\n{neutralize(request.reference)}"))
    for shown, idx in enumerate(order):
        parts.append(Part("text", text="\n\n"))
        parts += _candidate_parts(
            request.task, shown, len(order), request.responses[idx], mode, native
        )
    return _merge_text(parts)


def pampa_candidate_text(response: str) -> str:
    """The candidate's answer as the PAMPA judge sees it: cut before the first "Final answer:"
    and stripped; unchanged (not stripped) when there is none, exactly as the original."""
    match = re.search(protocol.PAMPA_FINAL_ANSWER_PATTERN, response)
    return response[: match.start()].strip() if match else response


#: PAMPA_JUDGE_USER around its question and its one molecule slot.
_PAMPA_HEAD, _PAMPA_TAIL = protocol.PAMPA_JUDGE_USER.split(protocol.PAMPA_QUESTION)
_PAMPA_BEFORE_MOL, _PAMPA_AFTER_MOL = _PAMPA_TAIL.split(protocol.MOL_PLACEHOLDER)
_PAIRWISE_SLOT = re.compile(r"(<<QUESTION>>|<<ANSWER1>>|<<ANSWER2>>)")


def _pampa_parts(request: JudgeRequest, native: bool) -> list[Part]:
    """PAMPA_JUDGE_USER with the instruction as its question (verbatim with
    :data:`~.protocol.PAMPA_QUESTION`), the molecule at its slot, then the candidate's answer
    cut before "Final answer:"."""
    head = _PAMPA_HEAD + neutralize(request.instruction) + _PAMPA_BEFORE_MOL
    mol = _molecule_parts(request.molecules, ["Molecule"], request.molecule_view, native)
    answer = neutralize(pampa_candidate_text(request.responses[0].text))
    return _merge_text(
        [Part("text", text=head), *mol, Part("text", text=_PAMPA_AFTER_MOL + answer)]
    )


def _mol_pairwise_parts(request: JudgeRequest, order: Sequence[int], native: bool) -> list[Part]:
    """PAIRWISE_JUDGE_USER with its slots filled in one pass (an answer quoting "<<ANSWER2>>"
    stays as written): the instruction, each of its ``<mol>`` holding the next molecule, and the
    two answers in the order shown."""
    pieces = request.instruction.split(protocol.MOL_PLACEHOLDER)
    n = len(request.molecules)
    names = ["Molecule"] if n == 1 else [f"Molecule {k + 1}" for k in range(n)]
    question: list[Part] = [Part("text", text=neutralize(pieces[0]))]
    for k, piece in enumerate(pieces[1:]):
        question += _molecule_parts(
            request.molecules[k : k + 1], names[k : k + 1], request.molecule_view, native
        )
        question.append(Part("text", text=neutralize(piece)))
    answers = [[Part("text", text=neutralize(request.responses[i].text))] for i in order]
    slots = {"<<QUESTION>>": question, "<<ANSWER1>>": answers[0], "<<ANSWER2>>": answers[1]}
    parts: list[Part] = []
    for piece in _PAIRWISE_SLOT.split(protocol.PAIRWISE_JUDGE_USER):
        parts += slots.get(piece, [Part("text", text=piece)])
    return _merge_text(parts)


def _merge_text(parts: list[Part]) -> list[Part]:
    out: list[Part] = []
    for p in parts:
        if p.type == "text" and out and out[-1].type == "text":
            out[-1] = Part("text", text=out[-1].text + p.text)
        elif p.type != "text" or p.text:
            out.append(p)
    return out


def build_chat(
    request: JudgeRequest,
    order: Sequence[int] | None = None,
    *,
    prime_think: bool = True,
    native: Collection[str] = (),
) -> ChatRequest:
    """The chat for one ordering of a request's responses. ``prime_think`` starts the
    assistant turn the way the protocol's checkpoints expect (:data:`~.protocol.THINK_PRIME`;
    none for PAMPA, "<think>" for mol_pairwise). ``native``: the media types the engine reads
    natively beyond its chat template's (its ``modalities``); with ``"molecule"`` among them,
    molecules are molecule parts (see the module doc)."""
    if order is None:
        order = range(len(request.responses))
    system = system_prompt(
        request.task, request.scale, request.criteria, request.tie, request.protocol
    )
    messages = (
        Message("system", (Part("text", text=system),)),
        Message("user", tuple(user_parts(request, list(order), "molecule" in native))),
    )
    prime = _PRIMES.get(request.protocol, protocol.THINK_PRIME)
    return ChatRequest(messages, prime if prime_think else "")


def format_target(reasoning: str, answers: Sequence[str], *, answer_first: bool = False) -> str:
    """The assistant turn the parser reads back, as a training target (``<think>`` included,
    since the training loss covers it). ``answer_first`` builds the paper's ablation layout."""
    think = f"{protocol.THINK_PRIME}{reasoning.strip()}\n</think>"
    answer = "".join(f"<answer>{a}</answer>" for a in answers)
    return f"{answer}{think}" if answer_first else f"{think}{answer}"
