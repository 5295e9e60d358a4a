"""Where images come from."""

from __future__ import annotations
