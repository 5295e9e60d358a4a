"""Safe YAML loading that remembers where every value came from.

Policy and configuration files are user input: they are read with PyYAML's
safe loader, with a size cap, without anchors and aliases (no "billion laughs"),
and every mapping remembers the line and column of each key so that errors can
name them.

What cannot be read is raised as the error of the file being read (``error``: a
:class:`~manifest_lint.errors.PolicyError`, a :class:`~manifest_lint.errors.ConfigError`...)
with its path, line and column; only here is a :class:`~manifest_lint.errors.YamlError`
turned into it.

* :mod:`.located`: the parsed values (``LocatedDict``, ``LocatedList``, ``YamlDocument``);
* :mod:`.parse`: the reader, on PyYAML (imported only when a text is parsed);
* :mod:`.packed`: parsed documents as JSON and back (the wheel's pre-parsed policies);
* :mod:`.schema`: parsed documents checked against the JSON Schemas of ``schemas/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from manifest_lint.errors import ManifestLintError, YamlError
from manifest_lint.yamlfile.located import LocatedDict, LocatedList, YamlDocument, plain
from manifest_lint.yamlfile.packed import NotPackable, pack, unpack

__all__ = [
    "MAX_YAML_SIZE",
    "FileError",
    "LocatedDict",
    "LocatedList",
    "NotPackable",
    "YamlDocument",
    "check_keys",
    "load_all",
    "pack",
    "plain",
    "read_text",
    "unpack",
]

#: Policy and configuration files larger than this are refused.
MAX_YAML_SIZE = 1024 * 1024


class FileError(Protocol):
    """The error of a file being read: ``PolicyError``, ``ConfigError``, ``ScanError``."""

    def __call__(
        self, message: str, *, path: str, line: int = ..., column: int = ...
    ) -> ManifestLintError: ...


def check_keys(
    obj: LocatedDict, allowed: tuple[str, ...], what: str, *, path: str, error: FileError
) -> None:
    """Every key of ``obj`` is one of ``allowed``: else ``error`` names the first other
    one, its line, and what is allowed in ``what`` (``"an exception"``)."""
    for key in obj:
        if key not in allowed:
            raise error(
                f"unknown key {key!r} in {what} (allowed: {', '.join(allowed)})",
                path=path,
                line=obj.key_line(key),
            )


def read_text(
    path: Path,
    error: FileError | None = None,
    *,
    max_size: int = MAX_YAML_SIZE,
    size_option: str = "",
) -> str:
    """The text of a file (UTF-8, at most ``max_size`` bytes: :data:`MAX_YAML_SIZE` for
    policies and configuration); ``error`` as for :func:`load_all`. ``size_option``
    names the option that sets ``max_size``, for the message of a file above it."""
    with _raised_as(error, str(path)):
        return _read_text(path, max_size, size_option)


def load_all(
    text: str,
    *,
    path: str = "",
    error: FileError | None = None,
    allow_aliases: bool = False,
    keys_as_text: bool = False,
    fast: bool = False,
) -> list[YamlDocument]:
    """Every document of a YAML stream, with the line each starts on; empty ones left out.

    ``allow_aliases`` accepts anchors and aliases (and merge keys): for files written
    by others, such as compose files, whose readers only walk known paths.
    ``keys_as_text`` reads unquoted keys as written (``on:`` is "on").
    ``fast`` uses libyaml's parser when available (large files being scanned).
    ``error`` (with ``path``) is raised for a text that cannot be read; without it,
    a :class:`~manifest_lint.errors.YamlError`.
    """
    # Imported here, when a text is parsed: an offline pre-commit run reads no YAML, and
    # PyYAML's import with the policies' parse is 10-13 ms of its 97 ms (measured with
    # bench/startup.py; see manifest_lint.plugin.builtin.builtin_policies).
    from manifest_lint.yamlfile.parse import parse

    with _raised_as(error, path):
        return list(parse(text, allow_aliases=allow_aliases, keys_as_text=keys_as_text, fast=fast))


@contextmanager
def _raised_as(error: FileError | None, path: str) -> Iterator[None]:
    """The one place a :class:`YamlError` becomes the error of the file being read."""
    try:
        yield
    except YamlError as exc:
        if error is None:
            raise
        raise error(exc.message, path=path, line=exc.line, column=exc.column) from None


def _read_text(path: Path, max_size: int, size_option: str) -> str:
    try:
        size = path.stat().st_size
        if size > max_size:
            hint = f" ({size_option})" if size_option else ""
            raise YamlError(f"file is {size} bytes, above the {max_size}-byte limit{hint}")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except FileNotFoundError:
        raise YamlError("no such file") from None
    except IsADirectoryError:
        raise YamlError("is a directory") from None
    except OSError as exc:
        raise YamlError(f"cannot read: {exc.strerror}") from None
