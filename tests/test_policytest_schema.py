"""``schemas/policytest.schema.json``: the contract of ``*.policytest.yaml`` files (issue 14,
section 2). The issue's own example is accepted; each kind of mistake it names is rejected."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "policytest.schema.json"

EXAMPLE = """
apiVersion: manifest-lint.dev/v1
kind: PolicyTest
metadata:
  name: platform-rules
spec:
  policies: [policies/required-platforms.yaml, max-layers]
  params:
    required-platforms: {platforms: [linux/amd64, linux/arm64]}
  now: "2026-06-01T00:00:00Z"
  cases:
    - name: multi-arch release passes
      image: oci:fixtures/release:1.0
      expect:
        required-platforms: pass
        max-layers[linux/arm64]: fail
      messages:
        max-layers[linux/arm64]: "^41 layers"
    - name: edited document
      document: fixtures/release.json
      expect: {required-platforms: fail}
"""


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE)
    return data


def test_the_issue_example_is_valid() -> None:
    assert list(validator().iter_errors(example())) == []


def _case(data: dict[str, Any]) -> dict[str, Any]:
    case: dict[str, Any] = data["spec"]["cases"][0]
    return case


def _unknown_top(d: dict[str, Any]) -> None:
    d["spec"]["polices"] = ["x"]


def _unknown_in_case(d: dict[str, Any]) -> None:
    _case(d)["expected"] = {"x": "pass"}


def _bad_outcome(d: dict[str, Any]) -> None:
    _case(d)["expect"]["required-platforms"] = "passed"


def _both_fixtures(d: dict[str, Any]) -> None:
    _case(d)["document"] = "fixtures/release.json"


def _no_fixture(d: dict[str, Any]) -> None:
    del _case(d)["image"]


def _bad_now(d: dict[str, Any]) -> None:
    d["spec"]["now"] = "June 1st"


def _bad_result_name(d: dict[str, Any]) -> None:
    _case(d)["expect"]["max-layers[linux/arm64"] = "pass"


def _wrong_kind(d: dict[str, Any]) -> None:
    d["kind"] = "PolicyTests"


@pytest.mark.parametrize(
    "mistake",
    [
        _unknown_top,
        _unknown_in_case,
        _bad_outcome,
        _both_fixtures,
        _no_fixture,
        _bad_now,
        _bad_result_name,
        _wrong_kind,
    ],
)
def test_each_mistake_is_rejected(mistake: Any) -> None:
    data = copy.deepcopy(example())
    mistake(data)
    assert list(validator().iter_errors(data)) != []


@pytest.mark.parametrize("word", ["pass", "fail", "skip", "error", "waived"])
def test_the_five_outcome_words_are_accepted(word: str) -> None:
    data = example()
    _case(data)["expect"]["required-platforms"] = word
    assert list(validator().iter_errors(data)) == []
