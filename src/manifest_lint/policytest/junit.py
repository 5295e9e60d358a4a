"""``manifest-lint test --junit FILE``: one testsuite per test file, one testcase per
case; a failing case's failure message lists each expectation that does not hold
(expected vs actual and the result's message)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from junit_xml import TestCase, TestSuite  # type: ignore[import-untyped]  # no stubs upstream

from manifest_lint.policytest.run import FileResult
from manifest_lint.reporters.escape import xml_text
from manifest_lint.reporters.junit import xml_safe


def junit_text(results: Sequence[FileResult]) -> str:
    """The JUnit XML document of ``results`` (valid by the Jenkins JUnit XSD)."""
    totals = {"tests": 0, "failures": 0, "errors": 0}
    suites: list[str] = []
    for result in results:
        cases = []
        for verdict in result.verdicts:
            online = " (online)" if verdict.case.online else ""
            case = TestCase(
                xml_safe(verdict.case.name + online), classname=xml_safe(result.test.name)
            )
            if not verdict.passed:
                message = "; ".join(verdict.failures)
                case.add_failure_info(
                    message=xml_safe(message),
                    output="\n".join(map(xml_safe, verdict.failures)),
                    failure_type="policy-test",
                )
            cases.append(case)
        suite = TestSuite(
            xml_safe(str(result.test.path)),
            cases,
            properties={"name": xml_safe(result.test.name)},
        )
        element = suite.build_xml_doc()
        element.attrib.pop("disabled", None)  # not in the Jenkins XSD
        for key in totals:
            totals[key] += int(element.get(key, "0"))
        suites.append(xml_text(ET.tostring(element, encoding="unicode")))
    root = ET.Element(
        "testsuites",
        {"name": "manifest-lint test", **{key: str(value) for key, value in totals.items()}},
    )
    head = ET.tostring(root, encoding="unicode")
    opening = head[: -len(" />")] + ">" if head.endswith(" />") else head
    lines = ['<?xml version="1.0" encoding="utf-8"?>', opening]
    lines += ["  " + suite for suite in suites]
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def write_junit(results: Sequence[FileResult], path: Path) -> None:
    path.write_text(junit_text(results), encoding="utf-8")
