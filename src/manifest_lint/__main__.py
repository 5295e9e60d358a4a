from __future__ import annotations

from manifest_lint.cli.main import console_main

console_main()
