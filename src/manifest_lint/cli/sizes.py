"""Size options: ``--max-file-size`` (scan) and ``--max-statement-size`` (attestations)."""

from __future__ import annotations

import argparse
import re

from manifest_lint.image.limits import MAX_STATEMENT_SIZE

_SIZE_UNITS = {"": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def file_size(text: str) -> int:
    """``--max-file-size``: a number of bytes, or of KiB, MiB or GiB (``16MiB``)."""
    match = re.fullmatch(r"([0-9]+)([KMG]iB)?", text, re.IGNORECASE)
    number, unit = match.groups("") if match else ("0", "")
    unit = unit.lower()
    if int(number) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: give bytes, or a whole number of KiB, MiB or GiB (16MiB)"
        )
    return int(number) * _SIZE_UNITS[unit]


def add_statement_size_option(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--max-statement-size",
        type=file_size,
        default=MAX_STATEMENT_SIZE,
        metavar="SIZE",
        help="largest in-toto statement (attestation layer) read, in bytes or KiB/MiB/GiB; "
        "a larger one is an error for its attestation (default: 16MiB)",
    )
