"""Independent readers for manifest-lint's reports.

* :func:`validate_junit` checks a JUnit report against the Jenkins JUnit XSD named by
  ``MANIFEST_LINT_JUNIT_XSD`` (``.ci/run`` exports it). Without it the test skips
  saying how to set it, except on CI (``CI`` set), where a missing schema fails.
* :func:`read_junit` reads a report back with ``xml.etree`` (not the junit-xml
  package that wrote it) into plain values, and checks what every consumer relies
  on: one ``testsuite`` per reference, testcase names unique within a suite.
"""

from __future__ import annotations

import functools
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

JUNIT_XSD_ENV = "MANIFEST_LINT_JUNIT_XSD"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _require(available: bool, reason: str) -> None:
    if available:
        return
    if on_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@functools.cache
def _load_schema(path: str) -> Any:
    import xmlschema

    return xmlschema.XMLSchema(path)


def junit_schema() -> Any:
    """The JUnit XSD as an ``xmlschema.XMLSchema`` (skips, or fails on CI, without it)."""
    path = os.environ.get(JUNIT_XSD_ENV, "")
    _require(
        bool(path),
        f"set {JUNIT_XSD_ENV} to ../shared/schemas/junit-10.xsd to validate JUnit reports",
    )
    _require(Path(path).is_file(), f"{JUNIT_XSD_ENV}={path} is not a file")
    return _load_schema(path)


def validate_junit(report: str | Path) -> None:
    """Validate a JUnit report (its text, or a path) against the XSD."""
    text = Path(report).read_text(encoding="utf-8") if isinstance(report, Path) else report
    junit_schema().validate(text)


@dataclass(frozen=True)
class Case:
    name: str
    classname: str
    #: "pass", "failure", "error" or "skipped".
    kind: str
    message: str = ""
    type: str = ""
    system_out: str = ""


@dataclass(frozen=True)
class Suite:
    name: str
    properties: dict[str, str]
    cases: tuple[Case, ...]
    attrib: dict[str, str]

    def case(self, name: str) -> Case:
        found = [c for c in self.cases if c.name == name]
        assert len(found) == 1, f"testcase {name!r} in suite {self.name!r}: {self.cases}"
        return found[0]


def read_junit(report: str | Path) -> tuple[dict[str, str], list[Suite]]:
    """The ``testsuites`` attributes and every suite, read with ``xml.etree``."""
    text = Path(report).read_text(encoding="utf-8") if isinstance(report, Path) else report
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites", root.tag
    suites = []
    for element in root.findall("testsuite"):
        properties = {
            p.get("name", ""): p.get("value", "") for p in element.findall("properties/property")
        }
        cases = []
        for case in element.findall("testcase"):
            kind, message, type_ = "pass", "", ""
            for child_kind in ("failure", "error", "skipped"):
                child = case.find(child_kind)
                if child is not None:
                    kind = child_kind
                    message = child.get("message", "")
                    type_ = child.get("type", "")
            out = case.find("system-out")
            cases.append(
                Case(
                    case.get("name", ""),
                    case.get("classname", ""),
                    kind,
                    message,
                    type_,
                    (out.text or "") if out is not None else "",
                )
            )
        names = [c.name for c in cases]
        assert len(names) == len(set(names)), f"duplicate testcase names in {names}"
        suites.append(
            Suite(element.get("name", ""), properties, tuple(cases), dict(element.attrib))
        )
    # Jenkins merges suites of one name, GitLab keys testcases by suite name.
    suite_names = [s.name for s in suites]
    assert len(suite_names) == len(set(suite_names)), f"duplicate testsuite names {suite_names}"
    return dict(root.attrib), suites


def suites_by_reference(report: str | Path, references: list[str]) -> dict[str, Suite]:
    """Every reference given has exactly one suite (its ``reference`` property), in the
    order given."""
    _, suites = read_junit(report)
    assert [s.properties["reference"] for s in suites] == references
    return {s.properties["reference"]: s for s in suites}


SARIF_SCHEMA_ENV = "MANIFEST_LINT_SARIF_SCHEMA"


@functools.cache
def _load_sarif_validator(path: str) -> Any:
    import json

    import jsonschema

    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


def validate_sarif(report: str | Path) -> Any:
    """Validate a SARIF report (its text, or a path) against the OASIS SARIF 2.1.0 JSON
    schema named by ``MANIFEST_LINT_SARIF_SCHEMA`` (skips without it, or fails on CI);
    returns the parsed document."""
    import json

    path = os.environ.get(SARIF_SCHEMA_ENV, "")
    _require(
        bool(path),
        f"set {SARIF_SCHEMA_ENV} to ../shared/schemas/sarif-schema-2.1.0.json to validate "
        "SARIF reports",
    )
    _require(Path(path).is_file(), f"{SARIF_SCHEMA_ENV}={path} is not a file")
    text = Path(report).read_text(encoding="utf-8") if isinstance(report, Path) else report
    document = json.loads(text)
    _load_sarif_validator(path).validate(document)
    return document
