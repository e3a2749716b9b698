"""The graft: Flex-Mol-LLaMA from a Mol-LLaMA folder and a text-only LLaMA-3 judge.

The semantics of Flex-Judge's ``MolLLaMA.import_judge`` (github.com/jongwooko/flex-judge
``example/models/mol_llama.py``): the LLM's own weights (attention/MLP base weights, norms,
``lm_head``) come from the judge; Mol-LLaMA keeps its LoRA deltas, graph encoders, blending
module, Q-Former and ``llm_proj``; ``embed_tokens`` comes from the judge except the rows of
the two tokens Mol-LLaMA added (``[PAD]``, ``<mol>``). Ours, by construction rather than by
copying into a loaded model: the output state dict is built tensor by tensor from its sources,
every key checked against the model's layout, and written as one self-contained checkpoint
that ``from_pretrained`` loads.

Choices, named: the added rows of ``embed_tokens`` and ``lm_head`` come from the Mol-LLaMA
weights when they hold those matrices, else they are the mean of the judge's rows (the
published folder does not store them: Mol-LLaMA re-draws them at random at every load, and the
``<mol>`` rows are overwritten by the Q-Former anyway). A judge with tied embeddings is untied
(its ``lm_head`` is a copy of its embeddings), so the output has Llama-3.1-8B's layout. With
``llm`` = Llama-3.1-8B-Instruct itself, the same function assembles plain Mol-LLaMA.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from flexjudge.errors import ModelLoadError
from flexjudge.mol_llama.config import MolLLaMAConfig
from flexjudge.mol_llama.tokens import MOL_TOKEN, PAD_TOKEN
from flexjudge.mol_llama.weights import (
    MOLECULESTM_PREFIX,
    POSITION_IDS,
    UNIMOL_PREFIX,
    check_state_dict,
    key_group,
    read_folder_tensors,
    read_moleculestm_checkpoint,
    read_unimol_checkpoint,
)
from flexjudge.prompts.protocol import MOL_LLAMA3_CHAT_TEMPLATE

__all__ = ["PROVENANCE_FILE", "assemble_mol_llama"]

PROVENANCE_FILE = "flexjudge_mol_llama.json"
LLM_PREFIX = "llm.base_model.model."
EMBED_KEY = LLM_PREFIX + "model.embed_tokens.weight"
LM_HEAD_KEY = LLM_PREFIX + "lm_head.weight"


def _load_tokenizers(mol_dir: Path, llm_dir: Path) -> tuple[Any, dict[str, int]]:
    """Mol-LLaMA's tokenizer (it must hold ``[PAD]`` and ``<mol>``), checked to extend the
    judge's: every judge token keeps its id."""
    from transformers import AutoTokenizer

    from flexjudge.mol_llama import register

    register()  # so AutoTokenizer reads the mol_llama config.json it finds
    try:
        tok = AutoTokenizer.from_pretrained(str(mol_dir))
        judge_tok = AutoTokenizer.from_pretrained(str(llm_dir))
    except Exception as exc:
        raise ModelLoadError(f"cannot load a tokenizer: {exc}") from exc
    vocab = tok.get_vocab()
    if PAD_TOKEN not in vocab or MOL_TOKEN not in vocab:
        raise ModelLoadError(f"{mol_dir}: the tokenizer has no {PAD_TOKEN} and {MOL_TOKEN} tokens")
    clash = [t for t, i in judge_tok.get_vocab().items() if vocab.get(t) != i]
    if clash:
        raise ModelLoadError(
            f"{llm_dir}: its tokenizer is not the one Mol-LLaMA extends ({len(clash)} tokens "
            f"differ, e.g. {clash[:3]}); the judge must be a LLaMA-3 model"
        )
    return tok, {"pad": vocab[PAD_TOKEN], "mol": vocab[MOL_TOKEN], "size": len(tok)}


def _text_config(llm_dir: Path, ids: dict[str, int]) -> Any:
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(str(llm_dir))
    if cfg.model_type != "llama":
        raise ModelLoadError(f"{llm_dir}: a {cfg.model_type!r} model; the judge must be LLaMA")
    cfg.vocab_size = ids["size"]
    cfg.tie_word_embeddings = False
    cfg.pad_token_id = ids["pad"]
    return cfg


def _expected_layout(config: MolLLaMAConfig) -> dict[str, torch.Tensor]:
    from flexjudge.mol_llama.modeling import MolLLaMA

    with torch.device("meta"):
        return dict(MolLLaMA(config).state_dict())


def _llm_tensors(
    expected: Mapping[str, torch.Tensor],
    judge: Mapping[str, torch.Tensor],
    mol: Mapping[str, torch.Tensor],
    ids: dict[str, int],
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Group C: the judge's tensors under PEFT's names, with the added rows handled."""
    out: dict[str, torch.Tensor] = {}
    for key in expected:
        if key_group(key) != "C" or key in (EMBED_KEY, LM_HEAD_KEY):
            continue
        name = key.removeprefix(LLM_PREFIX).replace(".base_layer.", ".")
        if name not in judge:
            raise ModelLoadError(f"the judge has no tensor {name!r} (needed for {key})")
        out[key] = judge[name]
    embed = judge.get("model.embed_tokens.weight")
    if embed is None:
        raise ModelLoadError("the judge has no model.embed_tokens.weight")
    head = judge.get("lm_head.weight", embed)  # tied judges store no lm_head
    rows: dict[str, str] = {}
    for key, source in ((EMBED_KEY, embed), (LM_HEAD_KEY, head)):
        out[key], rows[key] = _extended_rows(source, mol.get(key), ids, key)
    return out, rows


def _extended_rows(
    judge_rows: torch.Tensor, mol_rows: torch.Tensor | None, ids: dict[str, int], key: str
) -> tuple[torch.Tensor, str]:
    size, added = ids["size"], (ids["pad"], ids["mol"])
    n = judge_rows.shape[0]
    fits = n == size or (n == size - len(added) and min(added) >= n)
    if not fits:
        raise ModelLoadError(
            f"{key}: the judge has {n} rows; Mol-LLaMA's vocabulary is {size} with [PAD]/<mol> "
            f"at {added}, so the judge needs {size - 2} rows (or {size}, already resized)"
        )
    matrix = torch.empty((size, judge_rows.shape[1]), dtype=judge_rows.dtype)
    matrix[:n] = judge_rows
    base = judge_rows[: size - len(added)]
    if mol_rows is not None and tuple(mol_rows.shape) == tuple(matrix.shape):
        matrix[list(added)] = mol_rows[list(added)].to(matrix.dtype)
        return matrix, "Mol-LLaMA"
    matrix[list(added)] = base.float().mean(0).to(matrix.dtype)
    return matrix, "mean of the judge's rows"


def _encoder_tensors(
    expected: Mapping[str, torch.Tensor],
    mol: Mapping[str, torch.Tensor],
    unimol_path: Path,
    moleculestm_path: Path,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Group B from the encoders' own files, or from the Mol-LLaMA weights when those hold it
    all and the files are absent."""
    out: dict[str, torch.Tensor] = {}
    report: dict[str, Any] = {}
    for prefix, path, read in (
        (UNIMOL_PREFIX, unimol_path, read_unimol_checkpoint),
        (MOLECULESTM_PREFIX, moleculestm_path, read_moleculestm_checkpoint),
    ):
        sub = {k.removeprefix(prefix): v for k, v in expected.items() if k.startswith(prefix)}
        if path.is_file():
            tensors, rep = read(path, sub)
            out.update({prefix + k: v for k, v in tensors.items()})
            report[prefix.rstrip(".")] = {"file": str(path), "ignored": rep.ignored}
        elif all(prefix + k in mol for k in sub):
            out.update({prefix + k: mol[prefix + k] for k in sub})
            report[prefix.rstrip(".")] = {"file": "the Mol-LLaMA weights"}
        else:
            raise ModelLoadError(f"{path}: no such encoder checkpoint (pass its path)")
    out[POSITION_IDS] = torch.arange(expected[POSITION_IDS].shape[-1]).expand(1, -1).clone()
    return out, report


def _cast(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def assemble_mol_llama(
    mol_llama: str | Path,
    llm: str | Path,
    output: str | Path,
    *,
    unimol: str | Path | None = None,
    moleculestm: str | Path | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a self-contained Mol-LLaMA checkpoint to ``output`` and return its path.

    ``mol_llama``: a folder with Mol-LLaMA's ``config.json``, tokenizer and weights (the
    published trainable-only layout, or a full flexjudge checkpoint). ``llm``: a LLaMA-3 folder
    (``LlamaForCausalLM``) whose own weights the LLM takes: a Flex judge (the graft) or the
    base Llama-3.1-8B-Instruct (plain Mol-LLaMA). ``unimol``/``moleculestm``: the encoders'
    checkpoints (default: ``mol_pre_no_h_220816.pt`` / ``molecule_model.pth`` in
    ``mol_llama``). ``dtype``: of every floating tensor (default: the judge's). ``output``
    must not exist or be empty; it is written in full or not at all.
    """
    mol_dir, llm_dir, out = Path(mol_llama), Path(llm), Path(output)
    if out.exists() and any(out.iterdir()):
        raise ModelLoadError(f"{out}: exists and is not empty; choose a new output folder")
    if out.resolve() in (mol_dir.resolve(), llm_dir.resolve()):
        raise ModelLoadError(f"{out}: the output cannot be one of the inputs")
    config = MolLLaMAConfig.from_pretrained(str(mol_dir))
    if config.model_type != "mol_llama":
        raise ModelLoadError(
            f"{mol_dir}: not a Mol-LLaMA folder (model_type {config.model_type!r})"
        )
    tokenizer, ids = _load_tokenizers(mol_dir, llm_dir)
    config.llm_config.text_config = _text_config(llm_dir, ids)
    config.llm_config.llm_model = str(llm_dir)
    config.mol_token_id, config.pad_token_id = ids["mol"], ids["pad"]
    expected = _expected_layout(config)

    mol = read_folder_tensors(mol_dir)
    judge = read_folder_tensors(llm_dir)
    state: dict[str, torch.Tensor] = {
        k: mol[k] for k in expected if key_group(k) == "A" and k in mol
    }
    llm_part, rows = _llm_tensors(expected, judge, mol, ids)
    enc_part, enc_report = _encoder_tensors(
        expected,
        mol,
        Path(unimol)
        if unimol
        else mol_dir / config.graph_encoder_config.unimol_config.weights_filename,
        Path(moleculestm) if moleculestm else mol_dir / "molecule_model.pth",
    )
    state.update(llm_part)
    state.update(enc_part)
    unexpected = sorted(k for k in mol if k not in expected)
    check = check_state_dict(expected, {**state, **{k: mol[k] for k in unexpected}}, str(mol_dir))
    check.raise_if_bad("Mol-LLaMA layout")
    target = dtype or judge["model.embed_tokens.weight"].dtype
    config.dtype = target
    provenance = {
        "mol_llama": str(mol_dir),
        "llm": str(llm_dir),
        "encoders": enc_report,
        "tensors": {g: sum(key_group(k) == g for k in state) for g in "ABC"},
        "added_rows": {"[PAD]": ids["pad"], "<mol>": ids["mol"], "source": rows},
        "ignored_from_mol_llama": sorted(k for k in mol if key_group(k) != "A" and k in expected),
        "dtype": str(target).removeprefix("torch."),
    }
    _write(out, config, _cast(state, target), tokenizer, provenance)
    return out


def _write(
    out: Path,
    config: MolLLaMAConfig,
    state: dict[str, torch.Tensor],
    tokenizer: Any,
    provenance: dict[str, Any],
) -> None:
    import transformers
    from huggingface_hub import save_torch_state_dict
    from transformers import GenerationConfig

    text = config.llm_config.text_config
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    eos = text.eos_token_id if isinstance(text.eos_token_id, list) else [text.eos_token_id]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        config.architectures = ["MolLLaMA"]
        config.save_pretrained(tmp)
        save_torch_state_dict(state, tmp, max_shard_size="5GB")
        tokenizer.chat_template = MOL_LLAMA3_CHAT_TEMPLATE
        tokenizer.padding_side = "left"
        tokenizer.pad_token = PAD_TOKEN
        tokenizer.save_pretrained(tmp)
        _set_padding_side(tmp / "tokenizer_config.json")
        # Mol-LLaMA's generate: greedy, eos = the tokenizer's eos and <|eot_id|>, 1024 tokens.
        GenerationConfig(
            bos_token_id=text.bos_token_id,
            eos_token_id=sorted({*(e for e in eos if e is not None), eot}),
            pad_token_id=config.pad_token_id,
            do_sample=False,
            max_new_tokens=1024,
        ).save_pretrained(tmp)
        provenance["transformers_version"] = transformers.__version__
        (tmp / PROVENANCE_FILE).write_text(
            json.dumps(provenance, indent=2) + "\n", encoding="utf-8"
        )
        mode = (tmp / "config.json").stat().st_mode & 0o777
        for weights in tmp.glob("*.safetensors"):
            weights.chmod(mode)  # safetensors writes 0600; keep the folder's mode
        if out.exists():
            out.rmdir()  # empty, checked above
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _set_padding_side(path: Path) -> None:
    """Record left padding in tokenizer_config.json (transformers does not save the attribute)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["padding_side"] = "left"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
