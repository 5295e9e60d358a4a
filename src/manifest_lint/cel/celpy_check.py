"""What cel-python does not check before it runs an expression, checked at compile
time for the celpy backend: undeclared variables and functions, the arity of custom
functions, macro variables; and parse errors placed where cel-cpp places them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import lark
from celpy.celparser import CELParseError
from celpy.evaluation import base_functions

from manifest_lint.cel.base import CelFunction, Problem

_OPTIONAL_SYNTAX = re.compile(r"[.\[]\?")
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_GLOBAL_MACROS = frozenset({"has", "dyn"})
_TYPE_IDENTIFIERS = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)


class Checker:
    """Finds undeclared references and wrong arities: celpy itself only finds them when run."""

    def __init__(
        self,
        variables: Iterable[str],
        functions: Sequence[CelFunction],
        *,
        known: Iterable[str] = (),
    ) -> None:
        self.variables = frozenset(variables)
        self.known_functions = frozenset(base_functions) | _GLOBAL_MACROS | frozenset(known)
        self.arities: dict[tuple[str, bool], set[int]] = {}
        for function in functions:
            self.arities.setdefault((function.name, function.member), set()).add(
                len(function.params)
            )
        self.custom = frozenset(name for name, _ in self.arities)
        self.problems: list[Problem] = []

    def check(self, tree: lark.Tree[Any], bound: frozenset[str] = frozenset()) -> None:
        rule = tree.data
        if rule in ("ident", "dot_ident"):
            self._name(tree.children[0], bound)
            return
        if rule in ("ident_arg", "dot_ident_arg"):
            token, args = tree.children[0], _arguments(tree.children[1:])
            self._function(token, len(args), member=False)
            for arg in args:
                self.check(arg, bound)
            return
        if rule == "member_dot":
            self.check(_subtree(tree.children[0]), bound)
            return
        if rule == "member_dot_arg":
            target, token, args = (
                _subtree(tree.children[0]),
                tree.children[1],
                _arguments(tree.children[2:]),
            )
            if _unsupported(target, str(token), len(args)):
                self._add(
                    f"{_unsupported(target, str(token), len(args))} is not supported by the "
                    f"celpy backend (cel-python 0.5.0); use --cel-backend cel-expr-python",
                    token,
                )
                return
            self.check(target, bound)
            if str(token) == "min" and not args:  # celpy's own macro: the list's minimum
                return
            if str(token) in _MACROS:
                variable = _macro_variable(args[0]) if args else None
                if variable is None:
                    self._add(f"{token}() needs a variable name as its first argument", token)
                    return
                for arg in args[1:]:
                    self.check(arg, bound | {variable})
                return
            self._function(token, len(args) + 1, member=True)
            for arg in args:
                self.check(arg, bound)
            return
        for child in tree.children:
            if isinstance(child, lark.Tree):
                self.check(child, bound)

    def _name(self, token: Any, bound: frozenset[str]) -> None:
        name = str(token)
        if name not in self.variables and name not in bound and name not in _TYPE_IDENTIFIERS:
            self._add(f"undeclared reference to {name!r}", token)

    def _function(self, token: Any, count: int, *, member: bool) -> None:
        name = str(token)
        if name in self.custom:
            if count not in self.arities.get((name, member), set()):
                self._add(
                    f"found no matching overload for {name!r} applied to {count} argument(s)",
                    token,
                )
        elif name not in self.known_functions:
            self._add(f"undeclared reference to {name!r}", token)

    def _add(self, message: str, token: Any) -> None:
        self.problems.append(
            Problem(message, getattr(token, "line", 0) or 0, getattr(token, "column", 0) or 0)
        )


_NO_FUNCTION = {
    "format": "the strings extension's format()",
    "sortBy": "the lists extension's sortBy() macro",
    "first": "the lists extension's first() (an optional value)",
    "last": "the lists extension's last() (an optional value)",
    "transformList": "the two-variable comprehension transformList()",
    "transformMap": "the two-variable comprehension transformMap()",
    "transformMapEntry": "the two-variable comprehension transformMapEntry()",
    "orValue": "optional values (orValue)",
    "hasValue": "optional values (hasValue)",
}


def _unsupported(target: lark.Tree[Any], name: str, count: int) -> str:
    """What celpy cannot run in ``TARGET.NAME(args)``, or ''."""
    if name in _NO_FUNCTION:
        return _NO_FUNCTION[name]
    if name in ("all", "exists", "exists_one") and count == 3:
        return f"the two-variable comprehension {name}(k, v, ...)"
    namespace = _macro_variable(target)
    if namespace == "cel" and name == "bind":
        return "cel.bind()"
    if namespace == "optional":
        return f"optional.{name}()"
    return ""


def _subtree(node: Any) -> lark.Tree[Any]:
    assert isinstance(node, lark.Tree)
    return node


def _arguments(children: Sequence[Any]) -> list[lark.Tree[Any]]:
    """The ``expr`` children of an optional ``exprlist``."""
    if not children or children[0] is None:
        return []
    exprlist = _subtree(children[0])
    return [c for c in exprlist.children if isinstance(c, lark.Tree)]


def _macro_variable(expr: lark.Tree[Any]) -> str | None:
    """The identifier an ``expr`` is made of, or None when it is anything else."""
    node: Any = expr
    while isinstance(node, lark.Tree) and node.data != "ident":
        trees = [c for c in node.children if c is not None]
        if len(trees) != 1:
            return None
        node = trees[0]
    if isinstance(node, lark.Tree) and node.data == "ident":
        return str(node.children[0])
    return None


def parse_problem(expression: str, exc: CELParseError) -> Problem:
    cause = exc.__context__
    line, column = exc.line or 0, exc.column or 0
    optional = _OPTIONAL_SYNTAX.search(expression)
    if optional:
        before = expression[: optional.start() + 1]
        return Problem(
            "optional syntax (x.?field, m[?key]) is not supported by the celpy backend "
            "(cel-python 0.5.0); use --cel-backend cel-expr-python",
            before.count("\n") + 1,
            len(before) - before.rfind("\n"),
        )
    if isinstance(cause, lark.exceptions.UnexpectedToken):
        if cause.token.type == "$END":
            lines = expression.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
            return Problem("Syntax error: unexpected end of expression", line, column)
        return Problem(f"Syntax error: unexpected {str(cause.token)!r}", line, column)
    if isinstance(cause, lark.exceptions.UnexpectedCharacters):
        return Problem(f"Syntax error: unexpected character {cause.char!r}", line, column)
    return Problem(f"Syntax error: {str(exc.args[0]).splitlines()[0]}", line, column)
