from __future__ import annotations

from manifest_lint.cli import console_main

console_main()
