"""JUnit XML, written with junit-xml, valid against the Jenkins JUnit XSD.

Mapping (``docs/reporters.md``): one ``testsuite`` per reference, named after it as
given (``FILE:LINE:COL: REF`` when found in a file, `` (2)`` on a repeated name, so
names stay unique); properties: the outcome, the normalised reference, resolved
digest, registry. One ``testcase`` per result, named after the policy with
``[platform]`` for platform-scoped results; its classname is ``SUITE.POLICY``, which
Jenkins splits at the last dot into package = the suite, class = the policy (policy
names have no dots). ``failure`` for a violation at or above ``--fail-on`` (below it,
a passing testcase whose ``system-out`` says so), ``error`` for could-not-evaluate,
``skipped`` for results a match condition excluded. Characters XML cannot carry are
written as ``\\uXXXX`` escapes, so nothing is lost; other non-printable characters
as character references (the exact text, safe on a terminal).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from typing import TextIO

from junit_xml import TestCase, TestSuite  # type: ignore[import-untyped]  # no stubs upstream

from manifest_lint.reporters import RunInfo
from manifest_lint.reporters.escape import xml_text
from manifest_lint.results import Outcome, ReferenceResult, Summary

_ILLEGAL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufddf\ufffe\uffff]"
)


def xml_safe(text: str) -> str:
    """Replace characters XML 1.0 cannot carry (or discourages) with ``\\uXXXX``."""
    return _ILLEGAL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class JunitReporter:
    def __init__(self, stream: TextIO, run: RunInfo) -> None:
        self.stream = stream
        self.run = run
        self.suites: list[str] = []
        self.totals = {"tests": 0, "failures": 0, "errors": 0}
        #: Suite names given so far, and the last number given to each head.
        self.used: set[str] = set()
        self.numbers: dict[str, int] = {}
        self.started = time.monotonic()

    def suite_name(self, result: ReferenceResult) -> str:
        """``result.head``, numbered from its second occurrence: Jenkins merges suites of
        one name, and GitLab keys a testcase by suite, classname and name."""
        head = name = result.head
        number = self.numbers.get(head, 1)
        while name in self.used:
            number += 1
            name = f"{head} ({number})"
        self.numbers[head] = number
        self.used.add(name)
        return name

    def add(self, result: ReferenceResult) -> None:
        suite_name = self.suite_name(result)
        cases = []
        for finding in result.findings:
            classname = xml_safe(f"{suite_name}.{finding.policy}")
            case = TestCase(xml_safe(finding.name), classname=classname)
            message = xml_safe(finding.message)
            if finding.outcome is Outcome.FAIL:
                if finding.severity >= self.run.fail_on:
                    case.add_failure_info(
                        message=message,
                        output="\n".join(map(xml_safe, finding.details)),
                        failure_type=f"policy-violation.{finding.severity}",
                    )
                else:
                    case.stdout = f"{finding.severity} (below --fail-on {self.run.fail_on}): "
                    case.stdout += message
            elif finding.outcome is Outcome.ERROR:
                case.add_error_info(message=message, error_type="could-not-evaluate")
            elif finding.outcome is Outcome.SKIP:
                case.add_skipped_info(message=message)
            elif finding.waiver is not None:  # waived
                waiver = finding.waiver
                case.add_skipped_info(
                    message=xml_safe(f"waived: {waiver.reason} (expires {waiver.expires_text})"),
                    output=message,
                )
            cases.append(case)
        properties = {
            "outcome": str(result.outcome(self.run.fail_on)),
            "reference": xml_safe(result.reference),
            # "" for a reference that does not parse, as in JSON: it has no normalised form.
            "normalized": xml_safe(result.normalized),
            "digest": result.digest,
            "registry": xml_safe(result.registry),
        }
        if result.location is not None:
            loc = result.location
            properties["file"] = xml_safe(loc.path)
            properties["line"] = str(loc.line)
        suite = TestSuite(xml_safe(suite_name), cases, properties=properties)
        element = suite.build_xml_doc()
        element.attrib.pop("disabled", None)  # not in the Jenkins XSD
        for key in self.totals:
            self.totals[key] += int(element.get(key, "0"))
        self.suites.append(xml_text(ET.tostring(element, encoding="unicode")))

    def finish(self, summary: Summary) -> None:
        root = ET.Element(
            "testsuites",
            {
                "name": "manifest-lint",
                "tests": str(self.totals["tests"]),
                "failures": str(self.totals["failures"]),
                "errors": str(self.totals["errors"]),
                "time": f"{time.monotonic() - self.started:.3f}",
            },
        )
        head = ET.tostring(root, encoding="unicode")
        opening = head[: -len(" />")] + ">" if head.endswith(" />") else head
        w = self.stream.write
        w('<?xml version="1.0" encoding="utf-8"?>\n')
        w(opening + "\n")
        for suite in self.suites:
            w("  " + suite + "\n")
        w("</testsuites>\n")
        self.stream.flush()
