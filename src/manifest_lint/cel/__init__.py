"""The CEL layer: the only code in manifest-lint that imports a CEL library.

Two backends implement one interface (:class:`CelBackend` compiles an expression
once into a :class:`CelProgram`, evaluated many times with plain Python values):

``cel-expr-python`` (default, alias ``cel-cpp``)
    Google's cel-cpp runtime (``cel-expr-python``). Type-checked at compile time,
    ~0.7 ms per image for six policies with a shared :class:`Activation` (~1.9 ms
    passing a dict to each evaluation; ``bench/cel.py``), with the extensions cel-cpp
    ships (strings, lists, sets, math, encoders, optionals, ``cel.bind``, two-variable
    comprehensions). At most 10,000 comprehension iterations per evaluation (fixed
    by the library).
``celpy``
    cel-python, pure Python (``pip install 'manifest-lint[celpy]'``), 50-130x slower.
    No mixed int/double comparisons, no optionals, no ``cel.bind``, no two-variable
    comprehensions (compile errors naming the backend), no iteration limit; type
    errors only show when evaluated. The strings, lists, sets, math and base64
    extensions are written for it (``celpy_library.py``).

Both have the Kubernetes libraries (``kubernetes.py``); docs/cel.md is the table.

A backend's library is imported by :func:`get_backend`, never by importing this
package. Variables are declared with :class:`CelType`; custom functions with
:class:`CelFunction` (``BUILTIN_FUNCTIONS`` holds manifest-lint's own).
Errors: :class:`~manifest_lint.errors.ExpressionError` (compile, with 1-based line,
column and caret) and :class:`~manifest_lint.errors.EvaluationError` (run time).
"""

from __future__ import annotations

import threading

from manifest_lint.cel.base import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    LIST,
    MAP,
    NULL,
    STRING,
    TIMESTAMP,
    UINT,
    Activation,
    CelBackend,
    CelFunction,
    CelProgram,
    CelType,
    CelTypeLike,
    list_of,
    map_of,
)
from manifest_lint.cel.functions import BUILTIN_FUNCTIONS
from manifest_lint.errors import ConfigError

__all__ = [
    "BACKENDS",
    "BOOL",
    "BUILTIN_FUNCTIONS",
    "BYTES",
    "DEFAULT_BACKEND",
    "DOUBLE",
    "DURATION",
    "DYN",
    "INT",
    "LIST",
    "MAP",
    "NULL",
    "STRING",
    "TIMESTAMP",
    "UINT",
    "Activation",
    "CelBackend",
    "CelFunction",
    "CelProgram",
    "CelType",
    "CelTypeLike",
    "get_backend",
    "list_of",
    "map_of",
]

DEFAULT_BACKEND = "cel-expr-python"
#: Backend names get_backend accepts, with the PyPI distribution each needs.
BACKENDS = {"cel-expr-python": "cel-expr-python", "celpy": "cel-python"}
_ALIASES = {"cel-cpp": "cel-expr-python"}
_EXTRAS = {"cel-expr-python": "manifest-lint", "celpy": "manifest-lint[celpy]"}

_backends: dict[str, CelBackend] = {}
_lock = threading.Lock()


def get_backend(name: str = DEFAULT_BACKEND) -> CelBackend:
    """The backend called ``name`` (one instance per process; its library imported now).

    Raises :class:`~manifest_lint.errors.ConfigError` for an unknown name, or when
    the backend's library is not installed.
    """
    canonical = _ALIASES.get(name, name)
    if canonical not in BACKENDS:
        choices = ", ".join(
            f"{n} (alias {a})" if (a := _alias_of(n)) else n for n in sorted(BACKENDS)
        )
        raise ConfigError(f"unknown CEL backend {name!r}; choose one of: {choices}")
    with _lock:
        backend = _backends.get(canonical)
        if backend is None:
            backend = _backends[canonical] = _load(canonical)
        return backend


def _alias_of(name: str) -> str:
    return next((alias for alias, target in _ALIASES.items() if target == name), "")


def _load(name: str) -> CelBackend:
    try:
        if name == "celpy":
            from manifest_lint.cel.celpy import CelpyBackend

            return CelpyBackend()
        from manifest_lint.cel.cel_cpp import CelExprPythonBackend

        return CelExprPythonBackend()
    except ImportError as exc:
        raise ConfigError(
            f"the CEL backend {name!r} needs the package {BACKENDS[name]!r}, which is not "
            f"installed ({exc}); install it with: pip install '{_EXTRAS[name]}'"
        ) from exc
