"""manifest-lint's container image (``scripts/build-image``, docs/install.md).

The image takes a minute or more to build, as root, with Debian's mmdebstrap: ``.ci/run``
builds it once and names the layout in ``MANIFEST_LINT_IMAGE_DIR``. The tests of the
built image say why they did not run without it (and fail on CI). They read it with
skopeo and with ``manifest-lint inspect``, run it with buildah (``--isolation chroot``,
the one that works on these machines), push it to the real registry with skopeo and lint
it with ``image/.manifest-lint.yaml``.

The layout writer (``scripts/oci_image.py``) is tested on a small tree on every run:
the same bytes twice, times clamped, owners numeric, two layers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import manifest_lint
from tests.conftest import require
from tests.helpers.cli import run_with_report
from tests.helpers.registry_server import RegistryServer

ROOT = Path(__file__).resolve().parents[1]
IMAGE_ENV = "MANIFEST_LINT_IMAGE_DIR"
VERSION = manifest_lint.__version__
ANNOTATIONS = (
    "org.opencontainers.image.source",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.version",
    "org.opencontainers.image.created",
    "org.opencontainers.image.licenses",
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
)


def _writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("oci_image", ROOT / "scripts" / "oci_image.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def image_dir() -> Path:
    path = os.environ.get(IMAGE_ENV, "")
    require(
        bool(path),
        f"set {IMAGE_ENV} to a layout `sudo scripts/build-image DIR` wrote (.ci/run does)",
    )
    require((Path(path) / "index.json").is_file(), f"{IMAGE_ENV}={path} is not an OCI layout")
    return Path(path)


def _command(name: str) -> str:
    found = shutil.which(name)
    require(found is not None, f"{name} is not installed (apt-get install {name})")
    assert found is not None
    return found


# -- the built image ---------------------------------------------------------------


def test_skopeo_reads_the_layout(image_dir: Path) -> None:
    out = subprocess.run(
        [_command("skopeo"), "inspect", f"oci:{image_dir}:{VERSION}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    facts = json.loads(out)
    assert facts["Labels"]["org.opencontainers.image.version"] == VERSION
    assert facts["Os"] == "linux"
    assert len(facts["Layers"]) == 2


def test_inspect_shows_annotations_user_and_entrypoint(
    image_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers.cli import inspect_json

    document = inspect_json(capsys, f"oci:{image_dir}:{VERSION}")
    image = document["image"]
    assert set(ANNOTATIONS) <= set(image["annotations"])
    assert image["annotations"]["org.opencontainers.image.version"] == VERSION
    (manifest,) = image["manifests"]
    config = manifest["config"]
    assert config["user"] == "10001:10001"
    assert config["entrypoint"] == ["/opt/manifest-lint/bin/manifest-lint"]
    assert config["workdir"] == "/workspace"
    assert set(ANNOTATIONS) <= set(config["labels"])


def _ok(command: list[str]) -> str:
    """``command``'s standard output; its standard error in the failure when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def container(image_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """A buildah working container of the image, in a storage of its own: the command
    prefix that runs a command in it, as the image's user, in /workspace."""
    buildah = _command("buildah")
    require(os.geteuid() == 0, "buildah runs images as root here (run the tests as root)")
    storage = tmp_path_factory.mktemp("buildah")
    base = [buildah, "--root", str(storage / "root"), "--runroot", str(storage / "run")]
    base += ["--storage-driver", "vfs"]
    # buildah names the image after the layout's path, which must then be a valid
    # image name (no component starting with a dot: .ci-image is not): a link is.
    layout = storage / "layout"
    layout.symlink_to(image_dir)
    name = _ok([*base, "from", "--quiet", f"oci:{layout}:{VERSION}"]).strip()
    examples = [str(ROOT / "examples"), "/workspace/examples"]
    _ok([*base, "copy", "--chown", "10001:10001", name, *examples])
    yield [*base, "run", "--isolation", "chroot", name, "--"]
    subprocess.run([*base, "rm", name], capture_output=True)


def test_the_image_runs_manifest_lint(container: list[str]) -> None:
    ran = subprocess.run(
        [*container, "manifest-lint", "--version"], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert VERSION in ran.stdout
    who = subprocess.run([*container, "id", "-u"], capture_output=True, text=True, check=True)
    assert who.stdout.strip() == "10001"


def _results(report: dict[str, Any]) -> list[Any]:
    return [(r["reference"], r["outcome"], r["findings"]) for r in report["results"]]


def test_the_example_gives_the_same_result_inside_and_outside(
    container: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a copy of examples/ in the image's working directory, as the README's first
    command runs it from the checkout."""
    ran = subprocess.run(
        [*container, "manifest-lint", "oci:examples/multiarch:1.0", "--json", "/workspace/ml.json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    inside = json.loads(
        subprocess.run(
            [*container, "cat", "/workspace/ml.json"], capture_output=True, text=True, check=True
        ).stdout
    )
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        outside = run_with_report(capsys, tmp_path, "oci:examples/multiarch:1.0")
    finally:
        os.chdir(cwd)
    assert ran.returncode == outside.code, ran.stderr
    assert _results(inside) == _results(outside.report)


def _docs_image_steps() -> list[dict[str, Any]]:
    """The steps and jobs of docs/ci.md that use the image."""
    import re

    import yaml

    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL):
        document = yaml.safe_load(block)
        if not isinstance(document, dict) or not isinstance(document.get("jobs"), dict):
            continue
        for job in document["jobs"].values():
            image = job.get("container", {}).get("image", "")
            for step in job.get("steps", []):
                uses = step.get("uses", "")
                if uses.startswith("docker://") or (image and "run" in step):
                    found.append({"image": uses.removeprefix("docker://") or image, **step})
    return found


@pytest.fixture
def workspace_with_a_dockerfile(container: list[str], tmp_path: Path) -> Iterator[list[str]]:
    """A Dockerfile with a pinned FROM in the container's /workspace."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM registry.example.com/team/base@sha256:" + "b" * 64 + "\n")
    dockerfile.chmod(0o644)
    copy = [*container[: container.index("run")], "copy"]
    name = container[-2]
    _ok([*copy, name, str(dockerfile), "/workspace/Dockerfile"])
    yield container
    _ok(
        [*_as_root(container), "rm", "-rf", "/workspace/Dockerfile", "/workspace/manifest-lint.xml"]
    )


def _as_root(container: list[str]) -> list[str]:
    """The container's command prefix, as root."""
    at = len(container) - 2  # (the container's name, then "--")
    return [*container[:at], "--user", "0:0", *container[at:]]


def test_the_docs_image_steps_run_in_the_image(workspace_with_a_dockerfile: list[str]) -> None:
    """docs/ci.md's `docker://` step (the entrypoint with its `args`, as the image's
    user, GITHUB_ACTIONS=true) and its container job (`run:` as root)."""
    import shlex

    container = workspace_with_a_dockerfile
    steps = _docs_image_steps()
    assert len(steps) == 2, steps
    for step in steps:
        assert step["image"] == f"ghcr.io/manifest-lint/manifest-lint:{VERSION}"
    docker_step, job_step = steps
    ran = subprocess.run(
        [
            *container,
            "env",
            "GITHUB_ACTIONS=true",
            "manifest-lint",
            *shlex.split(docker_step["with"]["args"]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Dockerfile" in ran.stdout
    as_root = _as_root(container)
    ran = subprocess.run(
        [*as_root, *shlex.split(job_step["run"])], capture_output=True, text=True, timeout=120
    )
    # The pinned base cannot be resolved (no network here): an error result, in the report.
    assert ran.returncode in (0, 3), ran.stdout + ran.stderr
    report = _ok([*as_root, "cat", "/workspace/manifest-lint.xml"])
    assert "<testsuite" in report


def test_the_pushed_image_passes_its_own_policies(
    image_dir: Path, registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = f"{registry.host}/manifest-lint:{VERSION}"
    subprocess.run(
        [
            _command("skopeo"),
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{image_dir}:{VERSION}",
            f"docker://{reference}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    ran = run_with_report(
        capsys, tmp_path, "--config", str(ROOT / "image" / ".manifest-lint.yaml"), reference
    )
    assert ran.code == 0, ran.out + ran.err
    outcomes = {f["policy"]: f["outcome"] for f in ran.report["results"][0]["findings"]}
    for policy in ("required-annotations", "required-platforms", "max-layers", "non-root-user"):
        assert outcomes[policy] == "pass", (policy, ran.out)


def test_the_image_policies_pass_their_tests(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers.cli import run

    ran = run(capsys, "test", str(ROOT / "image" / "policy-tests"))
    assert ran.code == 0, ran.out + ran.err
    assert "4 cases in 1 file: 4 passed, 0 failed" in ran.out


# -- the layout writer, on a small tree ----------------------------------------------

EPOCH = 1_700_000_000


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=test\n")
    os.utime(root / "etc" / "os-release", (EPOCH - 1000, EPOCH - 1000))  # older: kept
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "tool").write_text("#!/bin/sh\n")
    (root / "usr" / "bin" / "tool").chmod(0o755)
    os.link(root / "usr" / "bin" / "tool", root / "usr" / "bin" / "tool2")
    (root / "usr" / "bin" / "sh").symlink_to("tool")
    (root / "dev").mkdir()
    (root / "dev" / "stray").write_text("left out")
    (root / "opt" / "app" / "bin").mkdir(parents=True)
    (root / "opt" / "app" / "bin" / "app").write_text("app")
    return root


def _write(tree: Path, output: Path) -> str:
    config = output.parent / f"{output.name}.config.json"
    config.write_text(json.dumps({"User": "10001:10001", "Entrypoint": ["/opt/app/bin/app"]}))
    argv = [str(tree), str(output), "--tag", "1.0", "--created", str(EPOCH)]
    argv += ["--architecture", "amd64", "--app-dir", "/opt/app", "--config", str(config)]
    argv += ["--annotation", "org.opencontainers.image.version=1.0"]
    argv += ["--history", "base", "--history", "app"]
    writer = _writer()
    assert writer.main(argv) == 0
    index = json.loads((output / "index.json").read_text())
    return str(index["manifests"][0]["digest"])


def _layers(output: Path) -> list[list[tarfile.TarInfo]]:
    index = json.loads((output / "index.json").read_text())
    blobs = output / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    layers = []
    for layer in manifest["layers"]:
        with tarfile.open(blobs / layer["digest"][7:], "r:gz") as tar:
            layers.append(tar.getmembers())
    return layers


def test_the_writer_gives_the_same_bytes_twice(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _write(tree, tmp_path / "one")
    (tree / "usr" / "bin" / "tool").touch()  # a later time: clamped, so no change
    second = _write(tree, tmp_path / "two")
    assert first == second
    (tree / "usr" / "bin" / "tool").write_text("#!/bin/sh\necho changed\n")
    assert _write(tree, tmp_path / "three") != first
    capsys.readouterr()


def test_the_writer_clamps_times_and_keeps_the_runtime_out(tree: Path, tmp_path: Path) -> None:
    _write(tree, tmp_path / "out")
    base, app = _layers(tmp_path / "out")
    names = [m.name for m in base]
    assert names == sorted(names, key=lambda n: n.encode())
    assert "dev" in names
    assert "dev/stray" not in names
    assert not any(n.startswith("opt/app") for n in names)
    assert [m.name for m in app] == ["opt/app", "opt/app/bin", "opt/app/bin/app"]
    members = {m.name: m for m in base + app}
    assert members["etc/os-release"].mtime == EPOCH - 1000
    assert all(m.mtime <= EPOCH for m in members.values())
    assert members["usr/bin/tool2"].islnk()
    assert members["usr/bin/tool2"].linkname == "usr/bin/tool"
    assert members["usr/bin/sh"].issym()
    assert all(m.uname == "" and m.gname == "" for m in members.values())


def test_skopeo_and_manifest_lint_read_what_the_writer_wrote(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers.cli import inspect_json

    _write(tree, tmp_path / "out")
    capsys.readouterr()
    facts = json.loads(
        subprocess.run(
            [_command("skopeo"), "inspect", f"oci:{tmp_path / 'out'}:1.0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert facts["Architecture"] == "amd64"
    assert facts["Labels"] == {"org.opencontainers.image.version": "1.0"}
    document = inspect_json(capsys, f"oci:{tmp_path / 'out'}:1.0")
    (manifest,) = document["image"]["manifests"]
    assert manifest["config"]["user"] == "10001:10001"
    assert manifest["layerCount"] == 2


def test_the_writer_refuses_a_non_empty_output(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        _writer().main(
            [
                str(tree),
                str(tmp_path / "full"),
                "--tag",
                "1",
                "--created",
                "0",
                "--architecture",
                "amd64",
                "--app-dir",
                "opt/app",
                "--config",
                "c.json",
            ]
        )
    assert exit_info.value.code == 2
