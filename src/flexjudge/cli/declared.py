"""Click options built from declarations (:class:`~flexjudge.options.OptionSpec`), and the
defaults < YAML ``--config`` < command-line layering, for every command that takes declared
settings (judging, engines, training recipes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flexjudge.errors import ConfigError
from flexjudge.options import OptionSpec

F = Callable[..., Any]


def click_option(spec: OptionSpec, *, show_default: bool = True) -> Callable[[F], F]:
    """The click option of one declared setting."""
    names = [spec.cli_flag] + ([spec.short] if spec.short else [])
    kwargs: dict[str, Any] = {"help": spec.help, "show_default": show_default}
    if spec.type is bool:
        if spec.default is False:  # a plain switch: --lora
            return click.option(*names, spec.name, is_flag=True, help=spec.help)
        base = spec.cli_flag.removeprefix("--")
        kwargs.update(default=spec.default, show_default=spec.default is not None)
        return click.option(f"--{base}/--no-{base}", spec.name, **kwargs)
    kwargs["default"] = spec.default
    if spec.default is None:
        kwargs["show_default"] = False
    if spec.choices:
        kwargs["type"] = click.Choice(list(spec.choices))
    elif spec.type in (int, float, str):
        kwargs["type"] = spec.type
    if spec.multiple:
        kwargs["multiple"] = True
        kwargs["default"] = tuple(spec.default or ())
    return click.option(*names, spec.name, **kwargs)


def add_options(specs: Iterable[OptionSpec], **kw: Any) -> Callable[[F], F]:
    """A decorator adding the options of ``specs`` (in their order in ``--help``)."""
    specs = list(specs)

    def decorate(f: F) -> F:
        for spec in reversed(specs):
            f = click_option(spec, **kw)(f)
        return f

    return decorate


def given(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` was set on the command line (or by the environment)."""
    source = ctx.get_parameter_source(name)
    return source not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def layer_yaml(
    ctx: click.Context, path: Path, values: dict[str, Any], specs: Iterable[OptionSpec]
) -> None:
    """Fill ``values`` from the YAML mapping at ``path`` for every declared option not given on
    the command line: defaults < YAML < flags. Keys are option names with dashes or
    underscores; values go through the options' own click types (``lr: 1e-5`` is a float
    although YAML reads it as a string); an unknown key is an error naming the known ones."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from exc
    if loaded is None:
        return
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"{path}: a config is a mapping of option names to values")
    names = [s.name for s in specs]
    params = {p.name: p for p in ctx.command.params if p.name in names}
    for key, value in loaded.items():
        name = str(key).replace("-", "_")
        if name not in params:
            raise ConfigError(f"{path}: unknown key {key!r}; a config may set {', '.join(names)}")
        if given(ctx, name):
            continue
        param = params[name]
        if isinstance(value, (list, tuple)) and not getattr(param, "multiple", False):
            value = ",".join(str(v) for v in value)
        try:
            values[name] = param.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise ConfigError(f"{path}: {key}: {exc.message}") from exc


def training_options(
    specs: Iterable[OptionSpec], *, model_help: str, data_help: str, config_example: str
) -> Callable[[F], F]:
    """The options every training command takes, around its recipe's declared ones: the base
    model, the rows, the output folder, a YAML ``--config`` layered between the defaults and
    the flags, ``--json`` and ``--quiet``."""
    specs = list(specs)
    names = ", ".join(s.name for s in specs[:3])

    def decorate(f: F) -> F:
        f = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no loss lines.")(
            f
        )
        f = click.option(
            "--json", "as_json", is_flag=True, help="Print the result as JSON (only that)."
        )(f)
        f = click.option(
            "--config",
            "config_path",
            default=None,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help=f"YAML of option values named as the options ({names}, ...), e.g. "
            f"{config_example}; options given here win.",
        )(f)
        f = add_options(specs)(f)
        f = click.option(
            "--output",
            "-o",
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder for the trained checkpoint.",
        )(f)
        f = click.option(
            "--data",
            "-d",
            required=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help=data_help,
        )(f)
        return click.option("--model", "-m", required=True, help=model_help)(f)

    return decorate


def is_main_process() -> bool:
    """Rank 0 under torchrun/accelerate (or no launcher): the process that prints and writes."""
    import os

    return int(os.environ.get("RANK", "0") or 0) == 0
