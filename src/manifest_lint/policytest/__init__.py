"""Policy tests (``manifest-lint test``): test files read and checked (:mod:`.files`),
run (:mod:`.run`), judged (:mod:`.verdict`), covered (:mod:`.coverage`), and written
as JUnit XML (:mod:`.junit`)."""

from __future__ import annotations
