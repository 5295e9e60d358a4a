"""Talking to OCI/Docker registries: the HTTP client, token auth and stored credentials."""

from __future__ import annotations
