"""``manifest-lint inspect``: the policy document of one reference, as JSON or text."""

from __future__ import annotations

import json
from typing import Any, TextIO

from manifest_lint.image.platforms import Platform
from manifest_lint.reporters.escape import escape as e
from manifest_lint.reporters.escape import json_text


def filter_platform(document: dict[str, Any], platform: Platform) -> dict[str, Any]:
    """The document with only the manifests (and attestations) of ``platform``."""
    image = dict(document["image"])
    keep = [m for m in image["manifests"] if _platform_of(m).matches(platform)]
    digests = {m["digest"] for m in keep}
    image["manifests"] = keep
    image["attestations"] = [a for a in image["attestations"] if a["describes"] in digests]
    return {**document, "image": image}


def _platform_of(manifest: dict[str, Any]) -> Platform:
    p = manifest["platform"]
    return Platform(p["os"], p["architecture"], p["variant"])


def write_json(document: dict[str, Any], out: TextIO) -> None:
    # Exact values; the characters a terminal would obey as \u escapes (reporters/escape.py).
    out.write(json_text(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _short(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm}:{encoded[:12]}" if encoded else digest


def _json(value: Any) -> str:
    """A command (entrypoint, cmd) as JSON, written as in ``write_json``."""
    return json_text(json.dumps(value, ensure_ascii=False))


def write_text(document: dict[str, Any], out: TextIO) -> None:
    """A readable view of the document: what ``docker manifest inspect -v`` shows,
    for every platform at once. Every value from the image or the command line goes
    through ``e`` (reporters/escape.py): it cannot drive the terminal."""
    ref, image = document["ref"], document["image"]
    w = out.write
    w(f"{e(ref['normalized'])}\n")
    kind = "index" if image["isIndex"] else "manifest"
    w(f"  digest       {e(image['digest'])}\n")
    w(f"  media type   {e(image['mediaType'])} ({kind}, {_size(image['size'])})\n")
    w(f"  pinned       {'yes' if ref['pinned'] else 'no'}\n")
    names = sorted(m["platform"]["name"] for m in image["manifests"])  # one per row below
    w(f"  platforms    {e(', '.join(names)) or '(none)'}\n")
    _annotations(out, image["annotations"], "  ")
    _supply_chain(out, image, image["digest"], "  ")
    for m in image["manifests"]:
        cfg = m["config"]
        w(f"\n  {e(m['platform']['name'])}")
        if m["platform"]["osVersion"] and m["platform"]["osVersion"] not in m["platform"]["name"]:
            w(f" (os.version {e(m['platform']['osVersion'])})")
        w(f"\n    manifest   {e(m['digest'])} ({e(m['mediaType'])})\n")
        w(f"    layers     {m['layerCount']}, {_size(m['totalSize'])}\n")
        for layer in m["layers"]:
            foreign = f"  foreign: {e(', '.join(layer['urls']))}" if layer["urls"] else ""
            w(f"      {e(_short(layer['digest']))}  {_size(layer['size']):>10}{foreign}\n")
        if cfg["digest"]:
            w(f"    config     {e(cfg['digest'])}\n")
            for label, key in (("created", "created"), ("user", "user"), ("workdir", "workdir")):
                if cfg[key]:
                    w(f"    {label:<10} {e(cfg[key])}\n")
            if cfg["entrypoint"]:
                w(f"    entrypoint {_json(cfg['entrypoint'])}\n")
            if cfg["cmd"]:
                w(f"    cmd        {_json(cfg['cmd'])}\n")
            if cfg["exposedPorts"]:
                w(f"    ports      {e(', '.join(cfg['exposedPorts']))}\n")
            w(f"    history    {len(cfg['history'])} entries\n")
            if cfg["labels"]:
                w("    labels\n")
                for key, value in cfg["labels"].items():
                    w(f"      {e(key)}: {e(value)}\n")
        _annotations(out, m["annotations"], "    ")
        _supply_chain(out, m, m["digest"], "    ")
        _statements(out, m["attestations"], "    ")
    if image["attestations"]:
        w("\n  attestations\n")
        for a in image["attestations"]:
            target = e(a["platform"] or _short(a["describes"]))
            if a["describes"] == image["digest"]:
                target = "the image"
            w(f"    {e(a['digest'])} describes {target} ({e(a['source'])})\n")
            if a["error"]:
                w(f"      error: {e(a['error'])}\n")
            elif a["describes"] == image["digest"]:
                _statements(out, a["statements"], "    ", title=False)
    if image["others"]:
        w("\n  other entries (not read)\n")
        for o in image["others"]:
            w(f"    {e(o['digest'])} {e(o['mediaType'])}\n")


def _annotations(out: TextIO, annotations: dict[str, str], indent: str) -> None:
    if annotations:
        out.write(f"{indent}annotations\n")
        for key, value in annotations.items():
            out.write(f"{indent}  {e(key)}: {e(value)}\n")


def _supply_chain(out: TextIO, part: dict[str, Any], digest: str, indent: str) -> None:
    """Signatures (of ``digest`` only) and referrers of the image or of one manifest."""
    signatures = [s for s in part.get("signatures", []) if s["signs"] == digest]
    if signatures:
        out.write(f"{indent}signatures\n")
        for s in signatures:
            verified = f", verified: {e(s['identity'])}" if s["verified"] else ""
            where = f"{e(s['format'])} ({e(s['source'])})"
            out.write(f"{indent}  {where} {e(_short(s['digest']))}{verified}\n")
    if part.get("referrers"):
        out.write(f"{indent}referrers\n")
        for r in part["referrers"]:
            kind = r["artifactType"] or r["mediaType"]
            out.write(f"{indent}  {e(_short(r['digest']))}  {e(kind)} ({e(r['source'])})\n")


def _statements(
    out: TextIO, statements: list[dict[str, Any]], indent: str, *, title: bool = True
) -> None:
    """One line per in-toto statement, and what provenance and SBOMs say."""
    if not statements:
        return
    if title:
        out.write(f"{indent}attestations\n")
    for s in statements:
        notes = ["signed" if s["signed"] else "unsigned"]
        notes.append("subject matches" if s["subjectMatches"] else "subject does not match")
        if s["verified"]:
            notes.append(f"verified: {s['identity']}")
        out.write(f"{indent}  {e(s['kind'])} {e(s['predicateType'])} ({e(', '.join(notes))})\n")
        p, sbom = s["provenance"], s["sbom"]
        if s["kind"] == "provenance":
            for label, key in (
                ("builder", "builderId"),
                ("source", "source"),
                ("entry", "entryPoint"),
            ):
                if p[key]:
                    out.write(f"{indent}    {label} {e(p[key])}\n")
        elif s["kind"] == "sbom":
            version = f" {sbom['specVersion']}" if sbom["specVersion"] else ""
            out.write(f"{indent}    {e(sbom['format'] + version)}, {sbom['packages']} packages\n")
