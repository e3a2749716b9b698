"""What every command shares: messages to stderr (stdout is for results only), and JSON on
stdout that is exactly one document."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

import click

from flexjudge.errors import FlexJudgeError
from flexjudge.redact import redact


class _Lines(logging.Formatter):
    """``message`` for information, ``warning: message`` for warnings and worse."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {text}"
        return text


def configure_output(verbose: bool = False) -> None:
    """Where the libraries' noise goes: flexjudge's own log lines (a training loss every N
    steps, a retried batch) to stderr; transformers' and the hub's progress bars and info
    logs only with ``verbose``. Set before those libraries are imported, through the variables
    they read at import time."""
    if not verbose:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        for module in ("transformers", "torch", "trl", "peft", "accelerate", "datasets"):
            warnings.filterwarnings("ignore", category=FutureWarning, module=module)
            warnings.filterwarnings("ignore", category=UserWarning, module=module)
    logger = logging.getLogger("flexjudge")
    if not any(getattr(h, "_flexjudge", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Lines())
        handler._flexjudge = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)


def info(message: str) -> None:
    """One plain line on stderr (no markup, no wrapping: scripts and tests read it)."""
    click.echo(message, err=True)


def echo_json(obj: Any) -> None:
    """``obj`` as one JSON document on stdout (never NaN: it is not JSON)."""
    click.echo(json.dumps(obj, ensure_ascii=False, allow_nan=False, default=str))


def fail(message: str, code: int = 2) -> NoReturn:
    """One ``error:`` line on stderr (secrets redacted), then exit ``code``."""
    click.echo(f"error: {redact(message)}", err=True)
    sys.exit(code)


def run_guarded(call: Callable[[], Any]) -> Any:
    """Run a command body with the error contract of every flexjudge command:

    * a flexjudge error (bad input, bad setting, unreadable media, an output that cannot be
      written, a model that cannot load) -> one ``error:`` line, exit 2;
    * an operating-system error (a full disk, a read-only folder, permissions) -> one line
      naming the file and the cause, exit 2;
    * Ctrl-C -> exit 130; any other exception is a flexjudge bug: one line saying so, exit 1
      (``FLEXJUDGE_TRACEBACK=1`` prints the traceback).
    """
    try:
        return call()
    except FlexJudgeError as exc:
        fail(str(exc))
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        cause = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
        fail(f"{cause}{where}")
    except RecursionError:
        fail("the input is nested too deeply to read")
    except click.UsageError as exc:  # a bad or missing option: one line, as for bad input
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        fail(f"{exc.format_message()}{where}")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
        raise
    except Exception as exc:
        if os.environ.get("FLEXJUDGE_TRACEBACK"):
            traceback.print_exc()
        fail(
            f"unexpected {type(exc).__name__}: {exc} (a flexjudge bug: please report it; "
            "FLEXJUDGE_TRACEBACK=1 shows the traceback)",
            code=1,
        )
