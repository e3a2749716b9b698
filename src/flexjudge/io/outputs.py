"""Outputs that never destroy what they replace, and inputs opened with one set of errors.

Rules:

* An output is written to ``TARGET.partial`` beside the target and renamed into place only
  when it is complete (:class:`AtomicWriter`, :func:`atomic_write_text`). A failure at any
  point (a bad request file, a full disk, a kill) leaves the last good ``TARGET`` untouched;
  the partial file keeps what was written, for a look, until the next run replaces it.
* An output path may not be one of the run's inputs (:func:`check_distinct`): writing over the
  request file used to truncate it to 0 bytes.
* Disk faults (``ENOSPC``, ``EROFS``, ``EACCES``...) become one
  :class:`~flexjudge.errors.OutputError` naming the file and the cause.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from flexjudge.errors import InputError, OutputError

PARTIAL_SUFFIX = ".partial"


@contextlib.contextmanager
def open_input(path: str | os.PathLike[str], what: str = "file") -> Iterator[IO[bytes]]:
    """Open ``path`` for binary reading, or raise :class:`InputError` saying why not."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{what} does not exist", path=p) from None
    except OSError as exc:
        raise InputError(f"{what} cannot be read: {exc.strerror or exc}", path=p) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what} is a folder, not a file", path=p)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} is not a regular file (a FIFO, socket or device)", path=p)
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise InputError(f"{what} cannot be read: {exc.strerror or exc}", path=p) from None
    with fh:
        yield fh


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file (through links and ``..``), existing or not."""
    pa, pb = Path(a), Path(b)
    with contextlib.suppress(OSError):
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    return pa.resolve() == pb.resolve()


def check_distinct(outputs: dict[str, Path | None], inputs: dict[str, Path | None]) -> None:
    """Refuse an output that is an input or another output (``{"--output": path, ...}``)."""
    named_out = [(k, v) for k, v in outputs.items() if v is not None]
    for name, out in named_out:
        for iname, inp in inputs.items():
            if inp is not None and same_file(out, inp):
                raise OutputError(
                    f"{name} {str(out)!r} is the {iname} file: it would be overwritten; "
                    f"choose another {name}"
                )
    for i, (a_name, a) in enumerate(named_out):
        for b_name, b in named_out[i + 1 :]:
            if same_file(a, b):
                raise OutputError(f"{a_name} and {b_name} are the same file ({str(a)!r})")


def _output_error(path: Path, exc: OSError, doing: str) -> OutputError:
    cause = exc.strerror or str(exc)
    return OutputError(f"cannot {doing} {str(path)!r}: {cause}")


class AtomicWriter:
    """A text output written through ``TARGET.partial`` and renamed into place by
    :meth:`commit` (module rules). Lines are flushed as they are written, so the partial file
    holds every line of a killed run. Use as a context manager: leaving the block without
    :meth:`commit` (an exception) closes the partial file and leaves ``TARGET`` as it was."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        self.partial = self.target.with_name(self.target.name + PARTIAL_SUFFIX)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            if self.target.is_dir():
                raise OutputError(f"{str(self.target)!r} is a folder, not a file")
            self._fh: IO[str] | None = self.partial.open("w", encoding="utf-8")
        except OSError as exc:
            raise _output_error(self.partial, exc, "write") from exc
        self.lines = 0

    def write(self, text: str) -> None:
        if self._fh is None:
            raise OutputError(f"{str(self.target)!r} is already closed")
        try:
            self._fh.write(text)
            self._fh.flush()
        except OSError as exc:
            raise _output_error(self.partial, exc, "write") from exc
        self.lines += text.count("\n")

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def commit(self) -> Path:
        """Make the output durable and rename it over the target."""
        fh, self._fh = self._fh, None
        if fh is None:
            return self.target
        try:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            os.replace(self.partial, self.target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                fh.close()
            raise _output_error(self.target, exc, "write") from exc
        return self.target

    def close(self) -> None:
        """Close without committing (the target stays as it was)."""
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.close()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write a small text file whole, atomically (module rules)."""
    with AtomicWriter(path) as out:
        out.write(text)
    return Path(path)


def as_path(value: Any) -> Path | None:
    return None if value is None else Path(value)
