"""Write the example OCI image layout, ``examples/multiarch``, deterministically.

    python examples/make_example_layout.py

The layout is committed, so that the README's first command runs offline on a
fresh machine. Running this script again must leave ``git status`` clean: the
content is built by the same deterministic builders the tests use.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.images import (  # noqa: E402  (needs the repository root on sys.path)
    build_index,
    build_manifest,
    write_layout,
)

OUT = ROOT / "examples" / "multiarch"
TAG = "1.0"
ANNOTATIONS = {
    "org.opencontainers.image.source": "https://github.com/example/hello",
    "org.opencontainers.image.revision": "4f2c1a9e0b7d3c5a6e8f9a1b2c3d4e5f6a7b8c9d",
    "org.opencontainers.image.created": "2024-05-01T12:00:00Z",
}
LABELS = {
    "org.opencontainers.image.title": "hello",
    "org.opencontainers.image.licenses": "Apache-2.0",
}


def main() -> int:
    children = [
        build_manifest(
            platform,
            layers=layers,
            annotations=ANNOTATIONS,
            config_labels=LABELS,
            user="65532:65532",
            entrypoint=["/hello"],
            exposed_ports=["8080/tcp"],
            seed="example",
        )
        for platform, layers in (("linux/amd64", 3), ("linux/arm64/v8", 3), ("linux/arm/v7", 4))
    ]
    index = build_index(children, annotations=ANNOTATIONS, attestations=True)
    if OUT.exists():
        shutil.rmtree(OUT)
    write_layout(OUT, index, TAG)
    print(f"wrote {OUT.relative_to(ROOT)} (tag {TAG}, {index.digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
