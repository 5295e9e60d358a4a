"""Hostile content from a registry, and hostile policy and configuration files.

Images are pushed to the real registry of the ``registry`` fixture where it
accepts them; what it refuses to store (manifests over 4 MiB, JSON nested deeper
than Go's decoder allows) is served by :class:`~helpers.fault_proxy.FaultProxy`
instead. Every case must end as a clean ``error`` result (exit code 3) or a
clean usage error (exit code 2), quickly and without a traceback; nothing that
is refused is read whole, and nothing hostile is followed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from manifest_lint.cli.main import main
from manifest_lint.image.limits import MAX_DOCUMENT_SIZE, MAX_INDEX_ENTRIES
from tests.helpers.cli import Run, run_with_report
from tests.helpers.fault_proxy import Fault, FaultProxy, LargeBody, Rule
from tests.helpers.images import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Blob,
    Built,
    build_index,
    build_manifest,
    canonical_json,
    push,
)
from tests.helpers.registry_server import RegistryServer
from tests.helpers.reports import suites_by_reference, validate_junit, validate_sarif

pytestmark = pytest.mark.registry

#: Far beyond any socket buffer, so a client that stops reading is seen to stop.
HUGE = 64 * 1024 * 1024
DEPTH = 100_000
NOTE = "org.example.note"
LABEL = "org.example.label"
#: Every kind of character XML 1.0 cannot carry (or discourages), and terminal escapes;
#: NUL last, since cel-expr-python 0.1.3 cuts strings there (see the xfail below).
HOSTILE_TEXT = "bell\x07 esc\x1b[31m vt\x0b ff\x0c del\x7f nel\x85 nonchars\ufffe\uffff nul\x00 end"
#: How JUnit writes the characters XML 1.0 cannot carry (U+0085 it can, so it stays).
ESCAPED = re.compile(r"\\u00(07|1b|0b|0c|7f)")


# --------------------------------------------------------------------------- images


def _put_blob(registry: RegistryServer, repo: str, blob: Blob) -> None:
    started = httpx.post(f"{registry.url}/v2/{repo}/blobs/uploads/", timeout=30)
    assert started.status_code == 202, started.text
    url = started.url.join(started.headers["Location"]).copy_merge_params({"digest": blob.digest})
    done = httpx.put(
        url, content=blob.data, headers={"Content-Type": "application/octet-stream"}, timeout=60
    )
    assert done.status_code == 201, done.text


def _put_manifest(
    registry: RegistryServer, repo: str, ref: str, data: bytes, media_type: str
) -> None:
    response = httpx.put(
        f"{registry.url}/v2/{repo}/manifests/{ref}",
        content=data,
        headers={"Content-Type": media_type},
        timeout=60,
    )
    assert response.status_code == 201, response.text


def _with_config(base: Built, config: Blob) -> bytes:
    document = json.loads(base.data)
    document["config"] = config.descriptor()
    return canonical_json(document)


@dataclass(frozen=True)
class Hostile:
    host: str
    base: Built
    nested: Built
    big_config: Blob
    unknown_target: Blob

    def ref(self, name: str, host: str = "") -> str:
        return f"{host or self.host}/hostile/{name}:v1"


@pytest.fixture(scope="module")
def hostile(registry: RegistryServer) -> Hostile:
    base = build_manifest(
        "linux/amd64", layers=1, seed="hostile", config_labels={LABEL: HOSTILE_TEXT}
    )
    for name in ("base", "deep-config", "not-utf8", "big-config", "odd-index", "wide", "text"):
        push(registry.url, f"hostile/{name}", base, "v1" if name == "base" else None)

    # A config nested 100,000 deep, and one that is not UTF-8.
    deep = Blob(
        OCI_CONFIG,
        b'{"architecture": "amd64", "os": "linux", "x": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
    )
    _put_blob(registry, "hostile/deep-config", deep)
    _put_manifest(registry, "hostile/deep-config", "v1", _with_config(base, deep), OCI_MANIFEST)
    latin1 = Blob(
        OCI_CONFIG,
        '{"architecture": "amd64", "os": "linux", "author": "Jos\xe9"}'.encode("latin-1"),
    )
    _put_blob(registry, "hostile/not-utf8", latin1)
    _put_manifest(registry, "hostile/not-utf8", "v1", _with_config(base, latin1), OCI_MANIFEST)

    # A config over the cap: the registry stores blobs of any size.
    big = Blob(OCI_CONFIG, b'{"x": "' + b"x" * MAX_DOCUMENT_SIZE + b'"}')
    _put_blob(registry, "hostile/big-config", big)
    _put_manifest(registry, "hostile/big-config", "v1", _with_config(base, big), OCI_MANIFEST)

    # An index with a platform, a nested index (itself holding an index), and an entry
    # of a media type nobody knows (pointing at a blob that exists).
    inner = build_index([base])
    nested = build_index([inner, base])  # inner has no platform: an index inside an index
    push(registry.url, "hostile/odd-index", nested, None)
    assert base.config is not None
    unknown = base.config
    entries = [
        json.loads(build_index([base]).data)["manifests"][0],
        {"mediaType": OCI_INDEX, "digest": nested.digest, "size": nested.size},
        {
            "mediaType": "application/vnd.example.unknown+json",
            "digest": unknown.digest,
            "size": unknown.size,
            "platform": {"os": "linux", "architecture": "arm64"},
        },
    ]
    odd = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries,
        "annotations": {NOTE: HOSTILE_TEXT},
    }
    _put_manifest(registry, "hostile/odd-index", "v1", canonical_json(odd), OCI_INDEX)

    # 20,000 entries (all the same manifest: the registry checks each one exists).
    entry = {"mediaType": OCI_MANIFEST, "digest": base.digest, "size": base.size}
    wide = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry] * 20_000}
    data = json.dumps(wide, separators=(",", ":")).encode()
    assert len(data) < MAX_DOCUMENT_SIZE
    _put_manifest(registry, "hostile/wide", "v1", data, OCI_INDEX)

    # Control characters and XML-illegal characters in annotations and labels.
    text = build_index([base], annotations={NOTE: HOSTILE_TEXT})
    push(registry.url, "hostile/text", text, "v1")
    return Hostile(registry.host, base, nested, big, unknown)


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host) as proxy:
        yield proxy


# --------------------------------------------------------------------------- running


def lint(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> Run:
    return run_with_report(capsys, tmp_path, *argv)


# --------------------------------------------------------------------------- size


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_manifest_over_4_mib_is_refused_without_reading_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    hostile: Hostile,
    proxy: FaultProxy,
    chunked: bool,
) -> None:
    """The registry refuses to store manifests over 4 MiB, so the proxy serves one:
    64 MiB of valid JSON. The client stops reading early (the proxy sees it hang up),
    whether or not a Content-Length announces the size."""
    body = LargeBody(b'{"schemaVersion": 2, "annotations": {"x": "', HUGE, b'"}}')
    proxy.rules.append(
        Rule(Fault.BODY, "/manifests/huge", content_type=OCI_MANIFEST, body=body, chunked=chunked)
    )
    ref = f"{proxy.host}/hostile/base:huge"
    run = lint(capsys, tmp_path, ref)
    assert run.code == 3
    message = run.fetch_error()
    if chunked:
        assert f"larger than the {MAX_DOCUMENT_SIZE}-byte limit; refused after" in message
    else:
        assert (
            f"is {HUGE} bytes, above the {MAX_DOCUMENT_SIZE}-byte limit; refused without" in message
        )
    # The client hung up long before the end: the proxy could not send it all.
    deadline = time.monotonic() + 5
    while not proxy.aborts and time.monotonic() < deadline:
        time.sleep(0.02)
    [abort] = [a for a in proxy.aborts if a.path.endswith("/manifests/huge")]
    print(
        f"\n{HUGE}-byte manifest ({'chunked' if chunked else 'with Content-Length'}): "
        f"the client hung up after the proxy had sent {abort.sent} bytes"
    )
    assert abort.sent < HUGE // 2
    assert run.seconds < 10


def test_a_config_over_4_mib_is_never_requested(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile, proxy: FaultProxy
) -> None:
    run = lint(capsys, tmp_path, hostile.ref("big-config", proxy.host))
    message = run.fetch_error()
    assert f"config {hostile.big_config.digest} is {hostile.big_config.size} bytes" in message
    assert "refused without reading it" in message
    assert proxy.seen(f"/blobs/{hostile.big_config.digest}") == 0


# --------------------------------------------------------------------------- JSON


def test_a_config_nested_100000_deep_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile
) -> None:
    run = lint(capsys, tmp_path, hostile.ref("deep-config"))
    assert run.code == 3
    assert run.fetch_error().endswith("is nested too deeply to be a manifest")


def test_a_manifest_nested_100000_deep_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile, proxy: FaultProxy
) -> None:
    """Go's JSON decoder stops at depth 10,000, so the registry would not store this."""
    body = b'{"schemaVersion": 2, "x": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    proxy.rules.append(Rule(Fault.BODY, "/manifests/deep", content_type=OCI_MANIFEST, body=body))
    for extra in ((), ("--no-cache",)):
        run = lint(capsys, tmp_path, f"{proxy.host}/hostile/base:deep", *extra)
        assert run.code == 3
        assert run.fetch_error().endswith("is nested too deeply to be a manifest")


def test_a_config_that_is_not_utf8_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile
) -> None:
    run = lint(capsys, tmp_path, hostile.ref("not-utf8"))
    assert run.code == 3
    assert "is not UTF-8: invalid continuation byte at byte" in run.fetch_error()


@pytest.mark.parametrize("backend", ["cel-expr-python", "celpy"])
def test_a_lone_surrogate_is_refused_before_any_policy_sees_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    hostile: Hostile,
    backend: str,
) -> None:
    """JSON may write "\\ud800" alone; that is no Unicode text, and no report could be
    written with it in a message. The document is an error, whatever the backend."""
    document = json.loads(hostile.base.data)
    document["annotations"] = {NOTE: "a\ud800b"}
    data = json.dumps(document, ensure_ascii=True).encode()
    assert b"\\ud800" in data
    _put_manifest(registry, "hostile/base", "surrogate", data, OCI_MANIFEST)
    policy = tmp_path / "echo.yaml"
    policy.write_text(ECHO_POLICY)
    run = lint(
        capsys,
        tmp_path,
        f"{registry.host}/hostile/base:surrogate",
        "--policy",
        str(policy),
        "--cel-backend",
        backend,
        "--junit",
        str(tmp_path / "r.xml"),
        "--sarif",
        str(tmp_path / "r.sarif"),
    )
    assert run.code == 3
    assert "holds a lone UTF-16 surrogate" in run.fetch_error()
    validate_junit(tmp_path / "r.xml")
    validate_sarif(tmp_path / "r.sarif")


def test_a_lone_surrogate_in_a_registry_error_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile, proxy: FaultProxy
) -> None:
    body = b'{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "gone \\ud800 \\u0000 away"}]}'
    proxy.rules.append(
        Rule(Fault.BODY, "/manifests/v1", status=404, content_type="application/json", body=body)
    )
    run = lint(
        capsys, tmp_path, hostile.ref("base", proxy.host), "--junit", str(tmp_path / "r.xml")
    )
    assert run.code == 3
    message = run.fetch_error()
    assert "HTTP 404" in message
    assert "gone" in message
    assert "\ud800" not in message
    assert "\\ud800" in run.out
    validate_junit(tmp_path / "r.xml")


# --------------------------------------------------------------------------- indexes


def test_nested_indexes_and_unknown_entries_are_listed_never_followed(
    capsys: pytest.CaptureFixture[str], hostile: Hostile, proxy: FaultProxy
) -> None:
    """An index cannot name its own digest (that would need a SHA-256 fixed point), so a
    loop can only be made of indexes that are never followed: the nested index (which
    holds another index) and the unknown entry are reported under ``others``, unread."""
    code = main(["inspect", "--format", "json", hostile.ref("odd-index", proxy.host)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    image = json.loads(captured.out)["image"]
    assert image["platforms"] == ["linux/amd64"]
    assert [(o["mediaType"], o["digest"]) for o in image["others"]] == [
        (OCI_INDEX, hostile.nested.digest),
        ("application/vnd.example.unknown+json", hostile.unknown_target.digest),
    ]
    assert image["others"][1]["platform"] == "linux/arm64"
    assert proxy.seen(f"/manifests/{hostile.nested.digest}") == 0
    inner = hostile.nested.children[0]
    assert proxy.seen(f"/manifests/{inner.digest}") == 0
    # The unknown entry's target is the platform's config: read once, as a config.
    assert proxy.seen(f"/manifests/{hostile.unknown_target.digest}") == 0


def test_an_index_entry_lying_about_its_type_is_an_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    registry: RegistryServer,
    hostile: Hostile,
) -> None:
    """An entry that says "image manifest" but names an index is not followed as one."""
    entries = [
        {
            "mediaType": OCI_MANIFEST,
            "digest": hostile.nested.digest,
            "size": hostile.nested.size,
            "platform": {"os": "linux", "architecture": "amd64"},
        }
    ]
    data = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    _put_manifest(registry, "hostile/odd-index", "liar", data, OCI_INDEX)
    run = lint(capsys, tmp_path, f"{registry.host}/hostile/odd-index:liar")
    assert run.code == 3
    message = run.fetch_error()
    assert hostile.nested.digest in message
    assert "does not match" in message or "got an index" in message


def test_an_index_with_20000_entries_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile, proxy: FaultProxy
) -> None:
    run = lint(capsys, tmp_path, hostile.ref("wide", proxy.host))
    assert run.code == 3
    assert run.fetch_error().endswith(
        f"20000 manifests in one index, the limit is {MAX_INDEX_ENTRIES}"
    )
    # Not one entry was fetched.
    assert proxy.seen(f"/manifests/{hostile.base.digest}") == 0
    assert run.seconds < 10


# --------------------------------------------------------------------------- text


ECHO_POLICY = f"""\
apiVersion: manifest-lint.dev/v1
kind: Policy
metadata: {{name: echo}}
spec:
  validations:
    - expression: "false"
      messageExpression: >-
        'note: ' + image.annotations['{NOTE}'] + ' label: ' +
        image.manifests[0].config.labels['{LABEL}']
"""


def _echo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ref: str, backend: str, *extra: str
) -> Run:
    policy = tmp_path / "echo.yaml"
    policy.write_text(ECHO_POLICY)
    return lint(
        capsys,
        tmp_path,
        ref,
        "--policy",
        str(policy),
        "--select",
        "echo",
        "--cel-backend",
        backend,
        *extra,
    )


@pytest.mark.parametrize("backend", ["cel-expr-python", "celpy"])
def test_control_and_xml_illegal_characters_stay_valid_in_every_report(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    hostile: Hostile,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    ref = hostile.ref("text")
    junit, sarif = tmp_path / "r.xml", tmp_path / "r.sarif"
    run = _echo(
        capsys, tmp_path, ref, backend, "--junit", str(junit), "--sarif", str(sarif), "--github"
    )
    assert run.code == 1, run.out
    text = HOSTILE_TEXT if backend == "celpy" else HOSTILE_TEXT[: HOSTILE_TEXT.index("\x00")]
    expected = f"note: {text} label: {text}"
    # JSON carries the text exactly (JSON escapes it).
    assert run.messages == [expected]
    # JUnit: valid against the XSD, and nothing dropped (\uXXXX escapes instead).
    validate_junit(junit)
    case = suites_by_reference(junit, [ref])[ref].case("echo")
    assert case.kind == "failure"
    assert len(ESCAPED.findall(case.message)) == 2 * 5
    assert case.message.count("nel\x85 ") == 2
    assert case.message.count("\\ufffe\\uffff") == 2
    assert ("\\u0000" in case.message) is (backend == "celpy")
    # SARIF: valid against the schema, the text exact.
    document = validate_sarif(sarif)
    [result] = document["runs"][0]["results"]
    assert result["message"]["text"] == f"{ref}: {expected}"
    # Text on the terminal (and GitHub's workflow commands): no control character gets
    # through; each is written as an escape (reporters/escape.py).
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", run.out)
    assert "bell\\x07 esc\\x1b[31m vt\\x0b" in run.out
    assert "::error " in run.out
    assert summary.read_text(encoding="utf-8").count("❌") == 1


@pytest.mark.xfail(reason="cel-expr-python 0.1.3 cuts strings at the first NUL", strict=True)
def test_a_nul_in_an_annotation_reaches_the_policy_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile
) -> None:
    run = _echo(capsys, tmp_path, hostile.ref("text"), "cel-expr-python")
    assert run.messages == [f"note: {HOSTILE_TEXT} label: {HOSTILE_TEXT}"]


# --------------------------------------------------------------------------- policies


def test_a_policy_that_iterates_forever_is_stopped_by_the_iteration_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile
) -> None:
    """Three nested comprehensions over 1,000 numbers: 10^9 iterations, stopped at
    cel-expr-python's 10,000, as an error result for that policy only."""
    numbers = ", ".join(str(i) for i in range(1000))
    policy = tmp_path / "blow-up.yaml"
    policy.write_text(
        "apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata: {name: blow-up}\nspec:\n"
        f"  variables:\n    - name: xs\n      expression: '[{numbers}]'\n"
        "  validations:\n"
        "    - expression: >-\n"
        "        variables.xs.all(a, variables.xs.all(b, variables.xs.all(c,\n"
        "          a + b + c + size(image.platforms) > 0)))\n"
    )
    run = lint(
        capsys,
        tmp_path,
        hostile.ref("base"),
        "--policy",
        str(policy),
        "--select",
        "blow-up,max-layers",
    )
    assert run.code == 3
    [result] = run.report["results"]
    findings = {f["policy"]: f for f in result["findings"]}
    assert findings["max-layers"]["outcome"] == "pass"
    assert findings["blow-up"]["outcome"] == "error"
    assert "iteration budget exceeded: more than 10000" in findings["blow-up"]["message"]
    assert run.seconds < 10


BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _indented(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


@pytest.mark.parametrize("where", ["policy", "config"])
def test_a_yaml_bomb_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hostile: Hostile, where: str
) -> None:
    path = tmp_path / f"{where}.yaml"
    if where == "policy":
        path.write_text(
            "apiVersion: manifest-lint.dev/v1\nkind: Policy\nmetadata: {name: bomb}\nspec:\n"
            "  params:\n" + _indented(BOMB, 4) + "  validations:\n    - expression: 'true'\n"
        )
        argv = ["--policy", str(path)]
        line = 7
    else:
        path.write_text("policies:\n  max-layers:\n    params:\n" + _indented(BOMB, 6))
        argv = ["--config", str(path)]
        line = 5
    started = time.monotonic()
    code = main([hostile.ref("base"), *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith(f"manifest-lint: error: {path}:{line}")
    assert "YAML aliases (*name) are not allowed" in captured.err
    assert "Traceback" not in captured.err
    assert time.monotonic() - started < 5
