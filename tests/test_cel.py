"""The CEL layer on both backends: conformance, compile errors, run-time errors, functions."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifest_lint import cel
from manifest_lint.cel import (
    BUILTIN_FUNCTIONS,
    BYTES,
    DEFAULT_BACKEND,
    DOUBLE,
    DYN,
    INT,
    MAP,
    STRING,
    TIMESTAMP,
    UINT,
    CelBackend,
    CelFunction,
    CelType,
    get_backend,
    list_of,
    map_of,
)
from manifest_lint.errors import (
    ConfigError,
    EvaluationError,
    ExpressionError,
    PluginError,
    UsageError,
)

BACKEND_NAMES = sorted(cel.BACKENDS)
CONFORMANCE = Path(__file__).with_name("cel_conformance.yaml")
CASES: list[dict[str, Any]] = yaml.safe_load(CONFORMANCE.read_text(encoding="utf-8"))
VARIABLES = {
    "ref": MAP,
    "image": MAP,
    "params": MAP,
    "variables": MAP,
    "platform": MAP,
    "now": TIMESTAMP,
}
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> CelBackend:
    return get_backend(request.param)


def activation(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {name: {} for name in VARIABLES}
    base["now"] = NOW
    base.update(values)
    return base


def outcome(backend: CelBackend, expression: str, values: dict[str, Any]) -> Any:
    try:
        program = backend.compile(expression, variables=VARIABLES, functions=BUILTIN_FUNCTIONS)
        return program.evaluate(values)
    except (ExpressionError, EvaluationError):
        return "error"


# -- conformance ------------------------------------------------------------------------


def _conformance_params() -> list[Any]:
    params = []
    for index, case in enumerate(CASES):
        for name in BACKEND_NAMES:
            marks = []
            if name in (case.get("skip_on") or ()):
                marks.append(pytest.mark.xfail(reason=case["reason"], strict=True))
            params.append(
                pytest.param(name, case, id=f"{name}-{index}-{case['expr'][:40]}", marks=marks)
            )
    return params


@pytest.mark.parametrize(("backend_name", "case"), _conformance_params())
def test_conformance(backend_name: str, case: dict[str, Any]) -> None:
    values = dict(case.get("vars") or {})
    now = dt.datetime.fromisoformat(values.pop("now")) if "now" in values else NOW
    got = outcome(get_backend(backend_name), case["expr"], activation(now=now, **values))
    expected = case["expect"]
    assert type(got) is type(expected)
    assert got == expected


def test_conformance_file_is_well_formed() -> None:
    assert len(CASES) >= 150
    for case in CASES:
        assert set(case) <= {"expr", "expect", "vars", "note", "skip_on", "reason"}, case
        assert "expect" in case, case
        skip_on = case.get("skip_on") or []
        assert set(skip_on) <= set(BACKEND_NAMES), case
        assert bool(skip_on) == bool(case.get("reason")), f"a skip needs a reason: {case}"
    skips = [case for case in CASES if case.get("skip_on")]
    assert len(skips) <= 20, "keep the list of backend differences short"


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("params.?x.orValue(1)", "optional syntax"),
        ("params[?'x'].orValue(1)", "optional syntax"),
        ("cel.bind(x, 1, x)", "cel.bind()"),
        ("params.all(k, v, v)", "two-variable comprehension all"),
        ("[1].sortBy(x, x)", "sortBy()"),
        ("[1].first()", "first()"),
        ("'%s'.format(['a'])", "format()"),
        ("params.transformMap(k, v, v)", "transformMap()"),
    ],
)
def test_what_celpy_cannot_run_is_a_compile_error_naming_it(expression: str, words: str) -> None:
    with pytest.raises(ExpressionError) as info:
        get_backend("celpy").compile(expression, variables=VARIABLES)
    assert words in info.value.detail
    assert "not supported by the celpy backend (cel-python 0.5.0)" in info.value.detail
    assert info.value.line == 1
    assert info.value.column > 0


# -- compile errors -----------------------------------------------------------------------

# (expression, line, column, caret, words in the detail); both backends agree on these.
COMPILE_ERRORS = [
    ("x +", 1, 4, "x +\n   ^", "Syntax error"),
    ("image.x ++ 1", 1, 10, "image.x ++ 1\n         ^", "Syntax error"),
    ("", 1, 1, "\n^", "Syntax error"),
    ("'abc", 1, 1, "'abc\n^", "Syntax error"),
    ("foo + bar", 1, 1, "foo + bar\n^", "undeclared reference to 'foo'"),
    ("image.a == 1 &&\n  nope == 2", 2, 3, "  nope == 2\n  ^", "undeclared reference to 'nope'"),
    ("\tnope", 1, 2, "\tnope\n\t^", "nope"),
    ("'héllo' == nope", 1, 12, "'héllo' == nope\n           ^", "nope"),
    ("image.all(m, other)", 1, 14, "image.all(m, other)\n             ^", "'other'"),
]


@pytest.mark.parametrize(("expression", "line", "column", "caret", "detail"), COMPILE_ERRORS)
def test_compile_error_position(
    backend: CelBackend, expression: str, line: int, column: int, caret: str, detail: str
) -> None:
    with pytest.raises(ExpressionError) as info:
        backend.compile(expression, variables=VARIABLES)
    error = info.value
    assert (error.line, error.column) == (line, column), error.detail
    assert error.caret == caret
    assert detail in error.detail
    assert error.expression == expression
    assert "<input>" not in error.detail
    assert "INVALID_ARGUMENT" not in error.detail
    assert isinstance(error, UsageError)


def test_compile_error_lists_every_problem(backend: CelBackend) -> None:
    with pytest.raises(ExpressionError) as info:
        backend.compile("foo + bar", variables=VARIABLES)
    assert "and 1 more: 1:7: undeclared reference to 'bar'" in info.value.detail


@pytest.mark.parametrize(
    ("expression", "where"),
    [
        # cel-cpp points at the call's "(", lark at the name.
        ("image.p.nope()", {"cel-expr-python": (1, 13), "celpy": (1, 9)}),
        ("normalizePlatform(1, 2)", {"cel-expr-python": (1, 18), "celpy": (1, 1)}),
    ],
)
def test_compile_error_position_per_backend(
    backend: CelBackend, expression: str, where: dict[str, tuple[int, int]]
) -> None:
    with pytest.raises(ExpressionError) as info:
        backend.compile(expression, variables=VARIABLES, functions=BUILTIN_FUNCTIONS)
    assert (info.value.line, info.value.column) == where[backend.name]


def test_type_errors_are_compile_errors_on_cel_cpp_only() -> None:
    with pytest.raises(ExpressionError) as info:
        get_backend("cel-expr-python").compile("'a' + 1 == 2", variables={})
    assert info.value.detail == "found no matching overload for '_+_' applied to '(string, int)'"
    assert (info.value.line, info.value.column) == (1, 5)
    program = get_backend("celpy").compile("'a' + 1 == 2", variables={})
    with pytest.raises(EvaluationError, match="no matching overload for '_\\+_'"):
        program.evaluate({})


def test_wrong_arguments_to_a_declared_function(backend: CelBackend) -> None:
    with pytest.raises(ExpressionError, match="no matching overload for 'normalizePlatform'"):
        backend.compile("normalizePlatform()", variables={}, functions=BUILTIN_FUNCTIONS)


# -- evaluation errors and values -----------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("image.missing", {"cel-expr-python": "Key not found", "celpy": "no such member"}),
        ("1 / 0", {"cel-expr-python": "divide by zero", "celpy": "divide by zero"}),
        ("[1][3]", {"cel-expr-python": "index=3", "celpy": "index out of range"}),
        ("params.s + 1", {"cel-expr-python": "_+_", "celpy": "_+_"}),
    ],
)
def test_evaluation_errors(backend: CelBackend, expression: str, words: dict[str, str]) -> None:
    program = backend.compile(expression, variables=VARIABLES)
    with pytest.raises(EvaluationError) as info:
        program.evaluate(activation(params={"s": "x"}))
    assert words[backend.name] in str(info.value)
    assert info.value.expression == expression
    assert "[INVALID_ARGUMENT]" not in str(info.value)


def test_naive_now_is_refused(backend: CelBackend) -> None:
    program = backend.compile("now > timestamp('2020-01-01T00:00:00Z')", variables=VARIABLES)
    with pytest.raises(EvaluationError, match="naive datetime"):
        program.evaluate(activation(now=dt.datetime(2025, 1, 1)))
    with pytest.raises(EvaluationError, match="naive datetime"):
        program.evaluate(backend.activation(activation(now=dt.datetime(2025, 1, 1))))


def test_aware_now_in_another_zone(backend: CelBackend) -> None:
    program = backend.compile("now == timestamp('2025-01-01T10:00:00Z')", variables=VARIABLES)
    paris = dt.timezone(dt.timedelta(hours=1))
    assert program.evaluate(activation(now=dt.datetime(2025, 1, 1, 11, tzinfo=paris))) is True


def test_missing_variable_is_an_evaluation_error(backend: CelBackend) -> None:
    program = backend.compile("image.x == 1", variables=VARIABLES)
    with pytest.raises(EvaluationError):
        program.evaluate({"now": NOW})


def test_values_come_back_as_plain_python(backend: CelBackend) -> None:
    program = backend.compile(
        "[true, 1, 2u, 1.5, 'é', b'\\x00\\xff', null, [1, 'a'], {'k': {'n': [2]}},"
        " timestamp('2024-01-01T00:00:00Z'), duration('90s'), now, type(1)]",
        variables=VARIABLES,
    )
    result = program.evaluate(activation())
    assert result == [
        True,
        1,
        2,
        1.5,
        "é",
        b"\x00\xff",
        None,
        [1, "a"],
        {"k": {"n": [2]}},
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        dt.timedelta(seconds=90),
        NOW,
        "int",
    ]
    assert [type(v) for v in result[:6]] == [bool, int, int, float, str, bytes]
    assert type(result[7]) is list
    assert type(result[8]) is dict
    assert type(result[9]) is dt.datetime
    assert result[9].tzinfo is not None
    assert type(result[10]) is dt.timedelta


def test_input_values_reach_cel_unchanged(backend: CelBackend) -> None:
    program = backend.compile(
        "params.i == 7 && params.f == 2.5 && params.s == 'ü' && params.b && "
        "params.n == null && params.l[1] == 'x' && params.m.k == [1] && params.big > 0u",
        variables=VARIABLES,
    )
    params = {
        "i": 7,
        "f": 2.5,
        "s": "ü",
        "b": True,
        "n": None,
        "l": [0, "x"],
        "m": {"k": [1]},
        "big": 2**63 + 1,
    }
    assert program.evaluate(activation(params=params)) is True


@pytest.mark.xfail(
    reason="cel-expr-python 0.1.3 cuts bytes in the input at the first NUL byte", strict=True
)
def test_input_bytes_with_nul_on_cel_cpp() -> None:
    program = get_backend("cel-expr-python").compile("size(b)", variables={"b": BYTES})
    assert program.evaluate({"b": b"ab\x00cd"}) == 5


def test_input_bytes_with_nul_on_celpy() -> None:
    program = get_backend("celpy").compile("size(b)", variables={"b": BYTES})
    assert program.evaluate({"b": b"ab\x00cd"}) == 5


def test_unconvertible_input_is_an_evaluation_error() -> None:
    program = get_backend("cel-expr-python").compile("size(image) > 0", variables=VARIABLES)
    with pytest.raises(EvaluationError, match="Non-CEL value type"):
        program.evaluate(activation(image={"when": NOW}))
    program = get_backend("celpy").compile("size(image) > 0", variables=VARIABLES)
    with pytest.raises(EvaluationError, match="cannot be a CEL value"):
        program.evaluate(activation(image={"what": object()}))


def test_optional_result_has_no_python_value() -> None:
    program = get_backend("cel-expr-python").compile("params.?x", variables=VARIABLES)
    with pytest.raises(EvaluationError, match="no Python equivalent"):
        program.evaluate(activation())


# -- iteration limit ----------------------------------------------------------------------


def test_iteration_budget() -> None:
    nested = "params.l.all(x, params.l.all(y, true))"
    cpp = get_backend("cel-expr-python")
    assert cpp.max_iterations == 10_000
    program = cpp.compile(nested, variables=VARIABLES)
    assert program.evaluate(activation(params={"l": list(range(99))})) is True  # 99 + 99*99
    with pytest.raises(EvaluationError, match="iteration budget exceeded: more than 10000"):
        program.evaluate(activation(params={"l": list(range(100))}))
    celpy_backend = get_backend("celpy")
    assert celpy_backend.max_iterations is None
    program = celpy_backend.compile(nested, variables=VARIABLES)
    assert program.evaluate(activation(params={"l": list(range(100))})) is True


# -- reuse and threads -----------------------------------------------------------------------


def test_one_program_many_activations(backend: CelBackend) -> None:
    program = backend.compile(
        "image.manifests.all(m, m.layerCount <= params.max) && normalizePlatform(ref.p) != ''",
        variables=VARIABLES,
        functions=BUILTIN_FUNCTIONS,
    )
    for n in range(300):
        values = activation(
            image={"manifests": [{"layerCount": n % 7}, {"layerCount": 3}]},
            params={"max": 4},
            ref={"p": "linux/arm64"},
        )
        assert program.evaluate(values) is (n % 7 <= 4)


def test_activation_shared_by_programs(backend: CelBackend) -> None:
    expressions = ["size(image.platforms) == 2", "'linux/amd64' in image.platforms", "1 / 0 == 1"]
    programs = [backend.compile(e, variables=VARIABLES) for e in expressions]
    bound = backend.activation(activation(image={"platforms": ["linux/amd64", "linux/arm64"]}))
    assert bound["image"]["platforms"][0] == "linux/amd64"
    assert len(bound) == len(VARIABLES)
    for _ in range(3):
        assert programs[0].evaluate(bound) is True
        assert programs[1].evaluate(bound) is True
        with pytest.raises(EvaluationError):
            programs[2].evaluate(bound)


def test_environments_are_shared_between_compiles() -> None:
    backend = get_backend("cel-expr-python")
    first = backend.compile("true", variables=VARIABLES, functions=BUILTIN_FUNCTIONS)
    second = backend.compile("false", variables=dict(VARIABLES), functions=list(BUILTIN_FUNCTIONS))
    third = backend.compile("false", variables={**VARIABLES, "image": "map"})
    assert first._environment is second._environment  # type: ignore[attr-defined]  # internal
    assert first._environment is not third._environment  # type: ignore[attr-defined]  # internal


def _slow_upper(text: str) -> str:
    time.sleep(0)  # lets another thread run in the middle of an evaluation
    return text.upper()


SLOW_UPPER = CelFunction("slowUpper", (STRING,), STRING, _slow_upper)


def test_evaluate_from_many_threads(backend: CelBackend) -> None:
    program = backend.compile(
        "params.words.map(w, slowUpper(w)) == params.want && params.n > 0",
        variables=VARIABLES,
        functions=[SLOW_UPPER],
    )
    shared = backend.activation(
        activation(params={"words": ["a"] * 20, "want": ["A"] * 20, "n": 1})
    )
    failures: list[Any] = []
    rounds = 150 if backend.name == "cel-expr-python" else 20  # celpy is 50-130x slower

    def work(seed: int) -> None:
        try:
            for i in range(rounds):
                words = [f"w{seed}-{i}-{k}" for k in range(10)]
                params = {"words": words, "want": [w.upper() for w in words], "n": i % 3}
                if program.evaluate(activation(params=params)) is not (i % 3 > 0):
                    failures.append((seed, i))
                if program.evaluate(shared) is not True:  # made on the main thread
                    failures.append((seed, i, "shared"))
        except Exception as exc:  # report, do not lose, an error in a thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# -- custom functions ---------------------------------------------------------------------


def test_builtin_functions() -> None:
    by_signature = {f.signature: f for f in BUILTIN_FUNCTIONS}
    normalize = by_signature["normalizePlatform(string) -> string"]
    assert normalize.impl("linux/arm64/v8") == "linux/arm64"
    assert all(f.doc for f in BUILTIN_FUNCTIONS)


def test_overloads_members_and_types(backend: CelBackend) -> None:
    functions = [
        CelFunction("describe", (STRING,), STRING, lambda s: f"s:{s}"),
        CelFunction("describe", (INT,), STRING, lambda i: f"i:{i}"),
        CelFunction("describe", (list_of(STRING),), STRING, lambda xs: "l:" + ",".join(xs)),
        CelFunction("describe", (MAP,), STRING, lambda m: "m:" + ",".join(sorted(m))),
        CelFunction("repeat", (STRING, INT), STRING, lambda s, n: s * n, member=True),
        CelFunction("halve", (DOUBLE,), DOUBLE, lambda x: x / 2),
        CelFunction("succ", (UINT,), UINT, lambda u: u + 1),
        CelFunction("rev", (BYTES,), BYTES, lambda b: bytes(reversed(b))),
        CelFunction("pair", (STRING,), list_of(STRING), lambda s: (s, s)),
        CelFunction("box", (STRING,), map_of(STRING, DYN), lambda s: {"v": s, "n": [1]}),
        CelFunction("later", (TIMESTAMP,), TIMESTAMP, lambda t: t + dt.timedelta(hours=1)),
    ]
    expressions = {
        "describe('x')": "s:x",
        "describe(2)": "i:2",
        "describe(['a', 'b'])": "l:a,b",
        "describe({'b': 1, 'a': 2})": "m:a,b",
        "'ab'.repeat(3)": "ababab",
        "halve(3.0)": 1.5,
        "succ(1u) == 2u": True,
        "rev(b'\\x01\\x02')": b"\x02\x01",
        "pair('q')": ["q", "q"],
        "box('q').n[0] + 1": 2,
        "later(now) - now == duration('1h')": True,
    }
    for expression, expected in expressions.items():
        program = backend.compile(expression, variables=VARIABLES, functions=functions)
        assert program.evaluate(activation()) == expected, expression


def test_a_failing_function_is_an_evaluation_error(backend: CelBackend) -> None:
    def explode(text: str) -> str:
        raise RuntimeError(f"cannot handle {text}")

    functions = [CelFunction("explode", (STRING,), STRING, explode)]
    program = backend.compile("explode('x') == 'y'", variables={}, functions=functions)
    with pytest.raises(EvaluationError, match="explode: cannot handle x"):
        program.evaluate({})
    program = backend.compile("true || explode('x') == 'y'", variables={}, functions=functions)
    assert program.evaluate({}) is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "f", "params": (DYN,)}, "dyn"),
        ({"name": "size", "params": (STRING,)}, "built-in"),
        ({"name": "isSemver", "params": (STRING,)}, "built-in"),  # the Kubernetes library's
        ({"name": "join", "params": (STRING,)}, "built-in"),  # the strings extension's
        ({"name": "not-a-name", "params": (STRING,)}, "not an identifier"),
        ({"name": "f", "params": (), "member": True}, "needs a parameter"),
    ],
)
def test_invalid_functions_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        CelFunction(result=STRING, impl=str, **kwargs)


def test_nested_dyn_parameters_are_allowed(backend: CelBackend) -> None:
    functions = [CelFunction("count", (list_of(DYN),), INT, len)]
    program = backend.compile("count([1, 'a', 2.0])", variables={}, functions=functions)
    assert program.evaluate({}) == 3


def test_a_function_declared_twice_is_refused(backend: CelBackend) -> None:
    functions = [
        CelFunction("twice", (STRING,), STRING, str),
        CelFunction("twice", (STRING,), STRING, str.upper),
    ]
    with pytest.raises(PluginError, match="declared twice"):
        backend.compile("twice('a')", variables={}, functions=functions)


# -- types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string", STRING),
        ("map", MAP),
        ("list", list_of(DYN)),
        ("map(string, dyn)", MAP),
        ("list(map(string,list(int)))", list_of(map_of(STRING, list_of(INT)))),
    ],
)
def test_cel_type_parse(text: str, expected: CelType) -> None:
    assert CelType.parse(text) == expected
    assert CelType.parse(str(expected)) == expected


@pytest.mark.parametrize("text", ["strng", "list(", "map(double, int)", "list(int))", ""])
def test_cel_type_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a CEL type"):
        CelType.parse(text)


def test_variables_declared_as_text(backend: CelBackend) -> None:
    variables = {"image": "map", "now": "timestamp"}
    program = backend.compile("image.a == 1 && now > now - duration('1s')", variables=variables)
    assert program.evaluate({"image": {"a": 1}, "now": NOW}) is True


# -- get_backend ---------------------------------------------------------------------------


def test_get_backend_names() -> None:
    assert DEFAULT_BACKEND == "cel-expr-python"
    assert get_backend().name == "cel-expr-python"
    assert get_backend("cel-cpp") is get_backend("cel-expr-python")
    assert get_backend("celpy").name == "celpy"


def test_get_backend_unknown_lists_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        get_backend("cel-go")
    assert isinstance(info.value, UsageError)
    assert str(info.value) == (
        "unknown CEL backend 'cel-go'; choose one of: cel-expr-python (alias cel-cpp), celpy"
    )


def test_get_backend_without_its_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cel, "_backends", {})
    monkeypatch.setitem(sys.modules, "celpy", None)  # None in sys.modules: ImportError
    monkeypatch.delitem(sys.modules, "manifest_lint.cel.celpy", raising=False)
    with pytest.raises(ConfigError, match=r"pip install 'manifest-lint\[celpy\]'"):
        get_backend("celpy")


def test_backend_libraries_are_imported_lazily() -> None:
    code = (
        "import sys, manifest_lint.cel as c\n"
        "print('celpy' in sys.modules, 'cel_expr_python' in sys.modules)\n"
        "c.get_backend('cel-expr-python')\n"
        "print('celpy' in sys.modules, 'cel_expr_python' in sys.modules)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.split() == ["False", "False", "False", "True"]


def test_activation_shared_by_programs_with_other_declarations(backend: CelBackend) -> None:
    as_uint = backend.compile("u == 3u", variables={"u": UINT})
    as_int = backend.compile("u == 3", variables={"u": INT})
    bound = backend.activation({"u": 3})
    assert as_uint.evaluate(bound) is True
    assert as_int.evaluate(bound) is True
    assert as_uint.evaluate({"u": 3}) is True


def test_variable_names_must_be_strings(backend: CelBackend) -> None:
    program = backend.compile("size(image) == 0", variables={"image": MAP})
    values: Any = {1: 2, "image": {}}
    with pytest.raises(EvaluationError):
        program.evaluate(values)


# -- docs/cel.md ------------------------------------------------------------------------------

CEL_DOC = Path(__file__).resolve().parent.parent / "docs" / "cel.md"


def _doc_examples() -> list[Any]:
    """Every line of every ```cel block of docs/cel.md, on each backend the block names
    (```cel: every backend; ```cel NAME: that one)."""
    examples, lines = [], CEL_DOC.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if not line.startswith("```cel"):
            continue
        names = line[len("```cel") :].split() or BACKEND_NAMES
        body = lines[number + 1 :]
        for offset, text in enumerate(body[: body.index("```")], start=number + 2):
            examples += [pytest.param(name, text, id=f"{name}-line{offset}") for name in names]
    return examples


def test_docs_cel_has_an_example_per_library() -> None:
    text = CEL_DOC.read_text(encoding="utf-8")
    for section in ("Strings", "Lists", "Sets", "Math", "Encoders", "Optionals", "Bindings"):
        assert f"## {section}\n\n```cel" in text
    assert len(_doc_examples()) >= 25


@pytest.mark.parametrize(("backend_name", "expression"), _doc_examples())
def test_docs_cel_examples_are_true(backend_name: str, expression: str) -> None:
    program = get_backend(backend_name).compile(
        expression, variables=VARIABLES, functions=BUILTIN_FUNCTIONS
    )
    assert program.evaluate(activation()) is True


# -- built-in policies use the standard libraries -------------------------------------------

POLICY_FILES = sorted((Path(__file__).resolve().parent.parent / "policies").glob("*.yaml"))
#: manifest-lint's own functions that a standard library function replaces.
DEPRECATED_FUNCTIONS = {"joinStrings": "join"}


def _expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [
            text
            for key, value in node.items()
            for text in (
                [value] if key in ("expression", "messageExpression") else _expressions(value)
            )
        ]
    if isinstance(node, list):
        return [text for item in node for text in _expressions(item)]
    return []


@pytest.mark.parametrize("path", POLICY_FILES, ids=[p.name for p in POLICY_FILES])
def test_builtin_policies_use_no_deprecated_function(path: Path, backend: CelBackend) -> None:
    expressions = [
        text
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        for text in _expressions(document)
    ]
    assert expressions
    for text in expressions:
        for old, new in DEPRECATED_FUNCTIONS.items():
            assert f"{old}(" not in text, f"{path.name}: use {new}() instead of {old}()"
        backend.compile(text, variables=VARIABLES, functions=BUILTIN_FUNCTIONS)
