"""Every console example in README.md and docs/ runs, and prints what it shows.

A ```` ```console ```` block is a transcript: ``$ command`` lines, each followed by
the output it shows (none is fine: then only the exit code and the absence of a
traceback are checked). The commands of one document run in order, through bash,
in one scratch directory holding a copy of ``examples/``, the files of
``tests/fixtures/docs/`` (the user's ``Dockerfile``, ``compose.yaml`` and
``k8s/`` that the tour scans), and every YAML (or Dockerfile) block of the document
whose first line is a comment naming a path (``# policies/no-root.yaml``,
``# legacy/Dockerfile``).

Registry references in the examples (``ghcr.io/org/app:1.2``, ...) are served by
the test registry: the example layout is pushed there, the host is swapped in the
command and swapped back in the output. Output is compared after normalising what
differs between runs or is elided for reading: digests (``sha256:771a…``) and
durations. A line ``...`` in the shown output stands for any number of lines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.registry_server import RegistryServer

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "docs"

# Image names used in the docs, and the repository of the test registry serving each.
REGISTRY_REFERENCES = {
    "ghcr.io/org/app": "org/app",
    "registry.example.com/app": "app",
}

_FENCE = re.compile(r"^```(\S*)(.*)$")
# A block of these languages whose first line is this comment is a file to write.
_YAML_FILE = re.compile(r"# [\w./-]+\.ya?ml")
_NAMED_FILE = {
    "yaml": _YAML_FILE,
    "yml": _YAML_FILE,
    "dockerfile": re.compile(r"# [\w./-]*Dockerfile"),
}
_DIGEST = re.compile(r"\b(sha256|sha512):[0-9a-f]+…?")
_DURATION = re.compile(r"\b\d+(\.\d+)? ?(ms|s)\b")


@dataclass
class Command:
    line: int
    text: str
    shown: list[str]


@dataclass
class Document:
    path: Path
    files: dict[str, str]  # relative path -> content, from YAML blocks naming a file
    commands: list[Command]


def parse(path: Path) -> Document:
    files: dict[str, str] = {}
    commands: list[Command] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        language = fence.group(1)
        start = index + 1
        index = start
        while index < len(lines) and not lines[index].startswith("```"):
            index += 1
        body = lines[start:index]
        index += 1
        named = _NAMED_FILE.get(language)
        if named is not None and body and named.fullmatch(body[0]):
            files[body[0][2:]] = "\n".join(body[1:]) + "\n"
        elif language == "console":
            for number, text in enumerate(body, start=start + 1):
                if text.startswith("$ "):
                    commands.append(Command(number, text[2:], []))
                else:
                    assert commands, f"{path.name}:{number}: output before any '$ ' command"
                    commands[-1].shown.append(text)
    return Document(path, files, commands)


PARSED = [parse(path) for path in DOCUMENTS]
WITH_EXAMPLES = [doc for doc in PARSED if doc.commands]


def normalise(lines: list[str]) -> list[str]:
    out = [_DURATION.sub("N s", _DIGEST.sub(r"\1:…", line)).rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def matches(shown: list[str], actual: list[str]) -> bool:
    """``shown`` equals ``actual``, a ``...`` line in ``shown`` matching any lines."""
    if not shown:
        return not actual
    if shown[0] == "...":
        return any(matches(shown[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and shown[0] == actual[0] and matches(shown[1:], actual[1:])


def readme_text() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_docs_have_console_examples() -> None:
    """The parser finds the examples (a test of the test: an empty list would pass all)."""
    readme = next(doc for doc in PARSED if doc.path.name == "README.md")
    assert len(readme.commands) >= 5
    assert any(command.shown for command in readme.commands)
    assert "policies/no-root.yaml" in readme.files


@pytest.fixture(scope="module")
def served(registry: RegistryServer, skopeo: str) -> dict[str, str]:
    """The example layout pushed as each docs image: {docs name: test registry name}."""
    mapping = {}
    for docs_name, repository in REGISTRY_REFERENCES.items():
        target = f"{registry.host}/{repository}"
        subprocess.run(
            [
                skopeo,
                "copy",
                "--quiet",
                "--all",
                "--preserve-digests",
                "--dest-tls-verify=false",
                f"oci:{ROOT / 'examples' / 'multiarch'}:1.0",
                f"docker://{target}:1.2",
            ],
            check=True,
        )
        mapping[docs_name] = target
    return mapping


@pytest.mark.registry
@pytest.mark.parametrize(
    "document", WITH_EXAMPLES, ids=[str(doc.path.relative_to(ROOT)) for doc in WITH_EXAMPLES]
)
def test_console_examples_run_as_shown(
    document: Document, served: dict[str, str], tmp_path: Path
) -> None:
    for example in ("multiarch", "scan"):  # the layout; the files docs/scan.md scans
        shutil.copytree(ROOT / "examples" / example, tmp_path / "examples" / example)
    shutil.copytree(FIXTURES, tmp_path, dirs_exist_ok=True)
    for name, content in document.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "MANIFEST_LINT_CACHE_DIR": str(tmp_path / ".cache"),
    }
    for command in document.commands:
        where = f"{document.path.relative_to(ROOT)}:{command.line}: $ {command.text}"
        text = command.text
        for docs_name, target in served.items():
            text = text.replace(docs_name, target)
        run = subprocess.run(
            ["bash", "-c", text],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = run.stdout + run.stderr
        named = [docs_name for docs_name in served if docs_name in command.text]
        for docs_name in named:
            output = output.replace(served[docs_name], docs_name)
        if len(named) == 1:  # the registry's own lines (requests) name the host alone
            output = output.replace(served[named[0]].split("/")[0], named[0].split("/")[0])
        assert "Traceback" not in output, f"{where}\n{output}"
        shown = normalise(command.shown)
        is_error = bool(shown) and shown[0].startswith("manifest-lint: error")
        allowed = (2, 3) if is_error else (0, 1)
        assert run.returncode in allowed, f"{where}\nexit {run.returncode}\n{output}"
        if shown:
            actual = normalise(output.splitlines())
            assert matches(shown, actual), (
                f"{where}\nshown:\n" + "\n".join(shown) + "\nprinted:\n" + "\n".join(actual)
            )


@pytest.mark.registry
@pytest.mark.parametrize(
    ("user", "outcome"),
    [
        ("", "fail"),  # no user: root
        ("root", "fail"),
        ("0", "fail"),
        ("root:root", "fail"),
        ("0:0", "fail"),
        (":staff", "fail"),
        ("65532:65532", "pass"),
        ("app", "pass"),
        ("rootless", "pass"),
    ],
)
def test_the_readme_no_root_policy_judges_users(
    registry: RegistryServer, tmp_path: Path, user: str, outcome: str
) -> None:
    """The README's own policy fails images that run as root (it once passed ``root``)."""
    import json

    from manifest_lint.cli.main import main
    from tests.helpers.images import build_manifest, push

    readme = next(doc for doc in PARSED if doc.path.name == "README.md")
    policy = tmp_path / "no-root.yaml"
    policy.write_text(readme.files["policies/no-root.yaml"], encoding="utf-8")
    image = build_manifest("linux/amd64", layers=1, user=user, seed=f"user-{user}")
    pushed = push(registry.url, "docs/no-root", image, f"u{abs(hash(user))}")
    report = tmp_path / "report.json"
    main([pushed.reference, "--policy", str(policy), "--select", "no-root", "--json", str(report)])
    (finding,) = json.loads(report.read_text())["results"][0]["findings"]
    assert finding["outcome"] == outcome, finding
    if user == "root":  # the README quotes this message
        assert f"{finding['name']}: {finding['message']}" in readme_text()


_PIN = re.compile(
    r"(?:manifest-lint/manifest-lint@|rev: |refs/tags/|OWNER/manifest-lint@|`@)"
    r"(v\d+(?:\.\d+)*)"
)


def test_release_pins_in_the_docs_are_this_version() -> None:
    """Snippets that pin a release (`@vX.Y.Z`, `rev:`, archive URLs) pin this version."""
    from manifest_lint import __version__

    found = []
    for path in [*DOCUMENTS, ROOT / "action.yml"]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [(f"{path.name}:{number}", pin) for pin in _PIN.findall(line)]
    assert len(found) >= 8, found  # the ci.md snippets: the pattern still finds them
    wrong = [(where, pin) for where, pin in found if pin != f"v{__version__}"]
    assert not wrong, f"pins that are not v{__version__}: {wrong}"


@pytest.mark.registry
@pytest.mark.parametrize(
    ("argv", "configs"),
    [
        ([], 2),  # a default run: required-annotations reads config labels
        (["--select", "max-layers,required-platforms"], 0),
        (["inspect"], 2),
    ],
    ids=["default", "select", "inspect"],
)
def test_which_runs_fetch_configs(
    registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    configs: int,
) -> None:
    """docs/document.md says which runs read image configs: count the config blobs read."""
    from manifest_lint.cli.main import main
    from manifest_lint.sources.registry.client import RegistryClient
    from tests.helpers.images import ANNOTATIONS, build_index, build_manifest, push

    children = [
        build_manifest(p, layers=1, seed="docs-configs") for p in ("linux/amd64", "linux/arm64")
    ]
    pushed = push(
        registry.url, "docs/configs", build_index(children, annotations=ANNOTATIONS), "v1"
    )
    read: list[str] = []
    real = RegistryClient.get_blob

    def counting(self: RegistryClient, *args: object, **kwargs: object) -> object:
        read.append(repr(args))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RegistryClient, "get_blob", counting)
    command = (
        ["inspect", "--no-cache", pushed.reference]
        if argv == ["inspect"]
        else [
            *argv,
            "--no-cache",
            pushed.reference,
        ]
    )
    assert main(command) in (0, 1)
    capsys.readouterr()
    assert len(read) == configs, read


@pytest.mark.registry
def test_every_json_summary_field_is_documented(
    served: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/reporters.md's table names every field a real run's `summary` has."""
    import json

    from manifest_lint.cli.main import main

    report = tmp_path / "report.json"
    reference = served["ghcr.io/org/app"] + ":1.2"
    main(["--cache-dir", str(tmp_path / "cache"), "--json", str(report), reference])
    capsys.readouterr()
    summary = json.loads(report.read_text())["summary"]
    (registry,) = summary["registries"].values()
    fields = {*summary, *registry, *summary["cache"], *summary["outcomes"]}
    table = (ROOT / "docs" / "reporters.md").read_text(encoding="utf-8")
    table = table[table.index("Every field of `summary`") :]
    undocumented = sorted(f for f in fields if f"`{f}`" not in table)
    assert not undocumented, f"summary fields missing from docs/reporters.md: {undocumented}"


@pytest.mark.registry
def test_the_cel_docs_fresh_policy_fails_an_image_without_a_creation_time(
    registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cel.md's 'created within 90 days' policy: an image whose config has no
    `created` is a failure with a message, not an evaluation error (exit 3)."""
    import json

    from manifest_lint.cli.main import main
    from tests.helpers.images import build_manifest, push

    cel_docs = next(doc for doc in PARSED if doc.path.name == "cel.md")
    policy = tmp_path / "fresh.yaml"
    policy.write_text(cel_docs.files["policies/fresh.yaml"], encoding="utf-8")
    image = build_manifest("linux/amd64", layers=1, created="", seed="docs-no-created")
    pushed = push(registry.url, "docs/fresh", image, "v1")
    report = tmp_path / "report.json"
    argv = ["--policy", str(policy), "--select", "fresh", "--json", str(report), pushed.reference]
    assert main(argv) == 1
    capsys.readouterr()
    (finding,) = json.loads(report.read_text())["results"][0]["findings"]
    assert (finding["outcome"], finding["message"]) == (
        "fail",
        "the image config has no creation time",
    )
