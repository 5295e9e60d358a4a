"""``python -m manifest_lint.action``: what ``action.yml`` runs."""

from __future__ import annotations

from manifest_lint.action.run import main

raise SystemExit(main())
