"""manifest-lint: check container image manifests against CEL policies."""

from __future__ import annotations

__version__ = "0.1.0"
