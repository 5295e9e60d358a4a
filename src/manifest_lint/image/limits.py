"""Size limits on what is read, shared by the model, the sources and the cache."""

#: Size cap for manifests, indexes and configs; larger bodies are refused unread.
from __future__ import annotations

MAX_DOCUMENT_SIZE = 4 * 1024 * 1024
#: Index entries beyond this are refused as hostile.
MAX_INDEX_ENTRIES = 10_000
#: Size cap for one in-toto statement (an attestation layer): real SBOMs are 1-2 MB,
#: and BuildKit allows 40 MiB per attestation file. ``--max-statement-size`` changes it.
MAX_STATEMENT_SIZE = 16 * 1024 * 1024
#: Referrers of one digest read at most: each may cost a manifest and its statements.
MAX_REFERRERS = 1_000
