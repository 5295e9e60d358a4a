"""CEL backends compared: per-image evaluation cost of the built-in policies, and of six
representative expressions on a synthetic image.

Not a test. Run: ``.venv/bin/python -m bench.cel [--images N]``.

First, the BUILT-IN policies (``policies/``) go through the policy engine itself
(``evaluate.compile_policies`` + ``evaluate.evaluate``, as a lint run does) on the
document of a real 8-platform x 30-layer image read from an OCI layout.

The document has the shape the policy engine evaluates (8 platforms x 30 layers);
six representative policy expressions are compiled once per backend, then evaluated
for N images. "shared" binds each image's values once (``backend.activation``) for
all six programs; "per call" passes a plain dict to every evaluation. Each timing
is the best of ``--repeat`` rounds, as ``timeit`` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from manifest_lint.cel import BUILTIN_FUNCTIONS, MAP, TIMESTAMP, CelBackend, get_backend

VARIABLES = {"ref": MAP, "image": MAP, "params": MAP, "variables": MAP, "platform": MAP}
VARIABLES_NOW = {**VARIABLES, "now": TIMESTAMP}

POLICIES = {
    "required platforms (filter)": (
        "params.requiredPlatforms.filter(p,"
        " !(p in image.platforms.map(q, normalizePlatform(q)))).size() == 0"
    ),
    "max layers (all)": (
        "image.manifests.all(m, m.layerCount <= params.maxLayers"
        " && m.layers.all(l, l.size < params.maxLayerSize))"
    ),
    "pinned digest": "has(ref.digest) && ref.digest.matches('^sha256:[0-9a-f]{64}$')",
    "required annotations (all + in)": (
        "params.requiredAnnotations.all(a, a in image.annotations)"
    ),
    "labels": (
        "image.manifests.all(m, has(m.config.labels)"
        " && 'org.opencontainers.image.source' in m.config.labels"
        " && m.config.labels['org.opencontainers.image.source'].startsWith('https://'))"
    ),
    "age (now)": "timestamp(image.annotations['org.opencontainers.image.created'])"
    " > now - duration('8760h')",
}

PLATFORMS = [
    ("linux", "amd64", ""),
    ("linux", "arm64", "v8"),
    ("linux", "arm", "v7"),
    ("linux", "arm", "v6"),
    ("linux", "386", ""),
    ("linux", "ppc64le", ""),
    ("linux", "s390x", ""),
    ("linux", "riscv64", ""),
]
LAYERS = 30
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def document(seed: int) -> dict[str, Any]:
    """One image's CEL input: plain dicts and lists, 8 platforms x 30 layers."""
    manifests = [
        {
            "platform": {"os": os_, "architecture": arch, "variant": variant},
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": f"sha256:{seed:08x}{index:056x}",
            "layers": [
                {
                    "digest": f"sha256:{seed:08x}{index:08x}{layer:048x}",
                    "size": 1_000_000 + 4096 * layer,
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                }
                for layer in range(LAYERS)
            ],
            "layerCount": LAYERS,
            "config": {
                "labels": {
                    "org.opencontainers.image.source": "https://github.com/example/app",
                    "org.opencontainers.image.version": "1.2.3",
                    "maintainer": "team@example.com",
                }
            },
        }
        for index, (os_, arch, variant) in enumerate(PLATFORMS)
    ]
    return {
        "ref": {
            "registry": "registry.example.com",
            "repository": "team/app",
            "tag": "1.2.3",
            "digest": "sha256:" + f"{seed:x}".rjust(64, "a"),
        },
        "image": {
            "platforms": ["/".join(p for p in platform if p) for platform in PLATFORMS],
            "manifests": manifests,
            "annotations": {
                "org.opencontainers.image.created": "2025-03-01T00:00:00Z",
                "org.opencontainers.image.source": "https://github.com/example/app",
                "org.opencontainers.image.revision": "0123456789abcdef",
            },
        },
        "params": {
            "requiredPlatforms": ["linux/amd64", "linux/arm64"],
            "maxLayers": 40,
            "maxLayerSize": 500_000_000,
            "requiredAnnotations": [
                "org.opencontainers.image.created",
                "org.opencontainers.image.source",
            ],
        },
        "variables": {},
        "platform": {},
        "now": NOW,
    }


def import_ms(module: str) -> float:
    """Milliseconds to import backend ``module`` after ``manifest_lint.cel`` (best of 3)."""
    code = (
        "import time, manifest_lint.cel; t = time.perf_counter(); import " + module + "; "
        "print((time.perf_counter() - t) * 1000)"
    )
    command = [sys.executable, "-c", code]
    runs = [
        float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    ]
    return min(runs)


def measure(backend: CelBackend, images: int, repeat: int) -> dict[str, Any]:
    start = time.perf_counter()
    programs = [
        backend.compile(text, variables=VARIABLES_NOW, functions=BUILTIN_FUNCTIONS)
        for text in POLICIES.values()
    ]
    compile_ms = (time.perf_counter() - start) * 1000
    documents = [document(seed) for seed in range(images)]
    results = [program.evaluate(documents[0]) for program in programs]

    def shared() -> None:
        for values in documents:
            bound = backend.activation(values)
            for program in programs:
                program.evaluate(bound)

    def per_call() -> None:
        for values in documents:
            for program in programs:
                program.evaluate(values)

    def best_ms(run: Callable[[], None]) -> float:
        """Milliseconds per image, best of ``repeat`` rounds (as timeit does)."""
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            timings.append(time.perf_counter() - start)
        return min(timings) * 1000 / images

    return {
        "compile_ms": compile_ms,
        "shared_ms": best_ms(shared),
        "per_call_ms": best_ms(per_call),
        "results": results,
    }


def builtin_document() -> dict[str, Any]:
    """The policy document of a real 8-platform x 30-layer index, read from a layout."""
    import tempfile

    from tests.helpers.images import build_index, build_manifest, write_layout

    from manifest_lint.image.reference import parse_reference
    from manifest_lint.policy.document import build_document
    from manifest_lint.sources.layout import LayoutSource
    from manifest_lint.sources.load import load_image

    annotations = {
        "org.opencontainers.image.source": "https://example.com/app",
        "org.opencontainers.image.revision": "0" * 40,
        "org.opencontainers.image.created": "2025-01-01T00:00:00Z",
    }
    children = [
        build_manifest("/".join(p for p in platform if p), layers=LAYERS, seed="bench")
        for platform in PLATFORMS
    ]
    index = build_index(children, annotations=annotations, attestations=True)
    with tempfile.TemporaryDirectory() as directory:
        write_layout(directory, index, "v1")
        reference = parse_reference(f"oci:{directory}:v1")
        source = LayoutSource(reference)
        try:
            return build_document(load_image(reference, source))
        finally:
            source.close()


def measure_builtins(images: dict[str, int], repeat: int) -> dict[str, float]:
    """Milliseconds per image for the built-in policies, per backend, through the engine."""
    from manifest_lint.plugin.manager import PluginHost, get_plugin_manager
    from manifest_lint.policy.compile import compile_policies
    from manifest_lint.policy.evaluate import evaluate

    host = PluginHost(get_plugin_manager(autoload=False))
    policies = [p for p in host.policies() if p.origin == "builtin"]
    document = builtin_document()
    results: dict[str, float] = {}
    outcomes = {}
    # cel-expr-python also without the shared activation (policy.compile.Shared), the
    # baseline its speed trick is measured against.
    runs = [(name, name, count, True) for name, count in images.items()]
    runs.append(("not shared", "cel-expr-python", images["cel-expr-python"], False))
    for label, name, count, share in runs:
        compiled = compile_policies(policies, get_backend(name), host.functions(), share=share)
        outcomes[label] = [(f.name, str(f.outcome)) for f in evaluate(compiled, document, NOW)]
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(count):
                evaluate(compiled, document, NOW)
            timings.append(time.perf_counter() - start)
        results[label] = min(timings) * 1000 / count
    if len({tuple(o) for o in outcomes.values()}) != 1:
        raise SystemExit(f"the backends disagree on the built-in policies: {outcomes}")
    names = ", ".join(sorted(p.name for p in policies))
    print(f"built-in policies ({names}) on 8 platforms x {LAYERS} layers, through the engine:")
    for label, ms in results.items():
        print(f"  {label:<16} {ms:8.3f} ms/image")
    shared = results["not shared"] / results["cel-expr-python"]
    print(f"  ratio not shared / shared (cel-expr-python): {shared:.2f}x")
    ratio = results["celpy"] / results["cel-expr-python"]
    print(f"  ratio celpy / cel-expr-python: {ratio:.0f}x\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="images for cel-expr-python")
    parser.add_argument("--celpy-images", type=int, default=20, help="images for celpy")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best one counts")
    args = parser.parse_args()

    measure_builtins({"cel-expr-python": args.images, "celpy": args.celpy_images}, args.repeat)
    layers = len(PLATFORMS) * LAYERS
    shape = f"{len(PLATFORMS)} platforms x {LAYERS} layers ({layers})"
    print(f"{len(POLICIES)} representative expressions, {shape}")
    rows = {}
    for name, images, module in [
        ("cel-expr-python", args.images, "manifest_lint.cel.cel_cpp"),
        ("celpy", args.celpy_images, "manifest_lint.cel.celpy"),
    ]:
        rows[name] = measure(get_backend(name), images, args.repeat) | {
            "images": images,
            "import_ms": import_ms(module),
        }
    if rows["cel-expr-python"]["results"] != rows["celpy"]["results"]:
        raise SystemExit(f"the backends disagree: {rows}")
    print(f"every policy passes on both backends: {rows['celpy']['results']}\n")

    header = ["backend", "images", "import ms", "compile ms"]
    header += ["ms/image shared", "ms/image per call"]
    print("{:<16} {:>6} {:>10} {:>11} {:>16} {:>18}".format(*header))
    for name, row in rows.items():
        print(
            f"{name:<16} {row['images']:>6} {row['import_ms']:>10.1f} {row['compile_ms']:>11.2f}"
            f" {row['shared_ms']:>16.3f} {row['per_call_ms']:>18.3f}"
        )
    fast, slow = rows["cel-expr-python"], rows["celpy"]
    print(
        f"\nratio celpy / cel-expr-python: {slow['shared_ms'] / fast['shared_ms']:.0f}x"
        f" (shared), {slow['per_call_ms'] / fast['per_call_ms']:.0f}x (per call),"
        f" import {slow['import_ms'] / fast['import_ms']:.0f}x"
    )


if __name__ == "__main__":
    main()
