"""Driving ``manifest_lint.cli.main.main`` in-process, as the acceptance tests do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from manifest_lint.cli.main import main


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """``main(argv)`` with what it printed."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def inspect_json(capsys: pytest.CaptureFixture[str], ref: str, *extra: str) -> dict[str, Any]:
    """``manifest-lint inspect --format json REF``, which must succeed silently."""
    result = run(capsys, "inspect", "--format", "json", *extra, ref)
    assert result.code == 0, result.err
    assert result.err == ""
    document: dict[str, Any] = json.loads(result.out)
    return document
