"""``flexjudge merge OUT.jsonl SHARD_OUTPUTS...``: the shards of a sharded run, as one output."""

from __future__ import annotations

from pathlib import Path

import click

from flexjudge.cli.common import info
from flexjudge.errors import ConfigError
from flexjudge.run import merge_outputs
from flexjudge.store import Store


@click.command("merge")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.argument(
    "shards", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--store",
    "store_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also merge the shards' stores into this store.",
)
@click.option(
    "--shard-store",
    "shard_stores",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A shard's store, repeatable [default: each shard output with suffix .sqlite].",
)
def merge(
    output: Path, shards: tuple[Path, ...], store_path: Path | None, shard_stores: tuple[Path, ...]
) -> None:
    """Combine the outputs of `flexjudge run --shard i/n` into OUTPUT, in the request file's
    line order. Fails, writing nothing, when a line is missing or duplicated."""
    sources: list[Path] = []
    if store_path is not None:
        sources = list(shard_stores) or [p.with_suffix(".sqlite") for p in shards]
        absent = [str(p) for p in sources if not p.is_file()]
        if absent:
            raise ConfigError(
                f"no shard store at {', '.join(absent)}: pass --shard-store PATH "
                "for each shard, or drop --store"
            )
    elif shard_stores:
        raise ConfigError("--shard-store needs --store (where to merge them)")
    result = merge_outputs(output, list(shards))
    message = f"merged {result.rows} verdicts from {result.shards} shards -> {output}"
    if store_path is not None:
        with Store(store_path, lock=True) as store:
            added = sum(store.merge_from(p) for p in sources)
            message += f"; store {store_path}: {added} completions added, {store.counts().requests} requests in all"
    info(message)
