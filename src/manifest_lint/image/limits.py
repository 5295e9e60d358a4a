"""Size limits on what is read, shared by the model, the sources and the cache."""

#: Size cap for manifests, indexes and configs; larger bodies are refused unread.
from __future__ import annotations

MAX_DOCUMENT_SIZE = 4 * 1024 * 1024
#: Index entries beyond this are refused as hostile.
MAX_INDEX_ENTRIES = 10_000
