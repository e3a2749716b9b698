"""``flexjudge mol-llama assemble``: Flex-Mol-LLaMA from a Mol-LLaMA folder and a LLaMA-3 judge
(:func:`flexjudge.mol_llama.assemble_mol_llama`); the result judges like any checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["mol_llama"]

_DTYPES = ("auto", "bfloat16", "float16", "float32")


@click.group("mol-llama")
def mol_llama() -> None:
    """The Mol-LLaMA-compatible molecular judge (Flex-Mol-LLaMA)."""


@mol_llama.command("assemble")
@click.option(
    "--mol-llama",
    "mol_llama_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Mol-LLaMA folder (DongkiKim/Mol-Llama-3.1-8B-Instruct: config, tokenizer, weights).",
)
@click.option(
    "--judge",
    "judge_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A LLaMA-3 judge trained with `flexjudge train` (or Llama-3.1-8B-Instruct itself).",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New folder for the assembled checkpoint (must not exist, or be empty).",
)
@click.option(
    "--unimol",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Uni-Mol's mol_pre_no_h_220816.pt [default: in the --mol-llama folder].",
)
@click.option(
    "--moleculestm",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="MoleculeSTM's molecule_model.pth [default: in the --mol-llama folder].",
)
@click.option(
    "--dtype",
    type=click.Choice(_DTYPES),
    default="auto",
    show_default=True,
    help="Dtype of the written weights; auto = the judge's.",
)
def assemble(
    mol_llama_dir: Path,
    judge_dir: Path,
    output: Path,
    unimol: Path | None,
    moleculestm: Path | None,
    dtype: str,
) -> None:
    """Write one self-contained Flex-Mol-LLaMA checkpoint: the judge's LLM weights with
    Mol-LLaMA's LoRA, graph encoders, blending module, Q-Former and projector."""
    import torch

    from flexjudge.mol_llama.graft import assemble_mol_llama

    path = assemble_mol_llama(
        mol_llama_dir,
        judge_dir,
        output,
        unimol=unimol,
        moleculestm=moleculestm,
        dtype=None if dtype == "auto" else getattr(torch, dtype),
    )
    click.echo(str(path))
