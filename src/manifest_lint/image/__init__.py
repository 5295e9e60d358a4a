"""Image references and the image model."""

from __future__ import annotations
