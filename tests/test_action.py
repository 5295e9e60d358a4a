"""The GitHub Action: ``action.yml`` and ``manifest_lint.action``.

Three layers:

* static checks of ``action.yml``: valid against SchemaStore's GitHub Action schema
  (as check-jsonschema vendors it, run offline), no ``${{ }}`` inside a ``run:``
  script, every input passed to the scripts through ``env:``;
* ``manifest_lint.action.main(env)`` in-process: input checks, arguments, the
  credentials file, ``$GITHUB_OUTPUT``;
* a harness that runs the composite action as the runner does, against the real
  registry.

The harness (:func:`run_action`) reads ``action.yml``, evaluates the few
expressions it uses (``inputs.X``, ``github.token``, ``runner.temp``,
``steps.ID.outputs.K``; anything else fails the test), and runs every ``run:``
step as the runner runs ``shell: bash`` (the script in a file, ``bash --noprofile
--norc -eo pipefail FILE``) in the workspace, with ``GITHUB_ACTION_PATH`` = this
repository, ``GITHUB_ACTIONS=true`` and fresh ``RUNNER_TEMP``, ``GITHUB_OUTPUT``
and ``GITHUB_STEP_SUMMARY`` files. It reads each step's outputs back from its
``GITHUB_OUTPUT`` file (``key=value`` and heredoc forms), skips the remaining
steps after a failure (their ``if:`` defaults to ``success()``), and maps the
action's outputs afterwards, as the runner does even when a step failed.

The install step is run for real, unchanged: ``python3 -m venv`` and ``pip
install "$GITHUB_ACTION_PATH"``, which builds manifest-lint from this working tree
with hatchling in an isolated build environment. Only where pip finds packages
differs, as a runner's pip configuration could: ``PIP_NO_INDEX=1`` and
``PIP_FIND_LINKS`` name a wheelhouse built once per session (``pip wheel`` of the
runtime dependencies and the build backend, read from pyproject.toml). Each
scenario is a separate job on a fresh runner (its own ``RUNNER_TEMP``, so its own
install), and the four run at once to keep the module well under a minute.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import tomllib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifest_lint import action
from manifest_lint.errors import InputError
from manifest_lint.sources.registry.credential_files import DOCKER_HUB_KEY
from manifest_lint.sources.registry.credentials import find_credential
from tests.helpers.images import (
    ANNOTATIONS,
    build_index,
    build_manifest,
    push,
)
from tests.helpers.registry_server import RegistryServer, free_port
from tests.helpers.reports import read_junit

ROOT = Path(__file__).resolve().parents[1]
ACTION_YML = ROOT / "action.yml"
GITHUB_TOKEN = "ghs_harnessToken0123456789"
#: A pinned reference that never needs a registry (offline runs).
PINNED = "registry.example.com/team/app@sha256:" + "a" * 64


def load_action() -> dict[str, Any]:
    document = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def steps() -> list[dict[str, Any]]:
    result = load_action()["runs"]["steps"]
    assert isinstance(result, list)
    return result


# =========================================================================== action.yml


def test_action_yml_is_valid_against_the_schemastore_github_action_schema(
    tmp_path: Path,
) -> None:
    # A proxy that goes nowhere: the schema is vendored in check-jsonschema, so no
    # network is needed, and any attempt fails instead of passing silently.
    env = {
        **os.environ,
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    command.append("vendor.github-actions")
    ok = subprocess.run(
        [*command, str(ACTION_YML)], capture_output=True, text=True, env=env, timeout=120
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The validator is not vacuous: a composite run step without `shell` is refused.
    broken = load_action()
    del broken["runs"]["steps"][0]["shell"]
    broken_path = tmp_path / "action.yml"
    broken_path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    refused = subprocess.run(
        [*command, str(broken_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr


def test_no_expression_inside_a_run_script() -> None:
    scripts = [step["run"] for step in steps() if "run" in step]
    assert scripts
    for script in scripts:
        assert "${{" not in script, script


def test_every_input_reaches_the_scripts_through_env_and_nothing_else() -> None:
    document = load_action()
    declared = set(document["inputs"])
    used: set[str] = set()
    in_conditions: set[str] = set()
    for step in document["runs"]["steps"]:
        for value in (step.get("env") or {}).values():
            used.update(re.findall(r"inputs\.([A-Za-z0-9_-]+)", str(value)))
        in_conditions.update(re.findall(r"inputs\.([A-Za-z0-9_-]+)", str(step.get("if", ""))))
        if "with" in step:  # the cache steps: they see no input, only what was prepared
            assert step["uses"].startswith("actions/cache/"), step
            assert "inputs." not in str(step["with"])
    # `cache` decides which steps run; every other input reaches the scripts by env.
    assert in_conditions == {"cache"}
    assert used | in_conditions == declared
    # ...under the names manifest_lint.action reads.
    env_names = {
        name
        for step in document["runs"]["steps"]
        for name in (step.get("env") or {})
        if name.startswith("ML_") and name not in ("ML_PYTHON", "ML_VENV")
    }
    expected = {f"ML_{name.upper().replace('-', '_')}" for name in declared - {"cache"}}
    assert env_names == expected
    source = "".join(
        path.read_text(encoding="utf-8") for path in Path(action.__file__).parent.glob("*.py")
    )
    for name in env_names:
        assert name in source, name


def test_the_outputs_are_mapped_from_the_run_step() -> None:
    document = load_action()
    ids = [step.get("id") for step in document["runs"]["steps"]]
    assert set(document["outputs"]) == {
        "junit",
        "sarif",
        "json",
        "outcome",
        "passed",
        "failed",
        "errors",
    }
    for name, spec in document["outputs"].items():
        match = re.fullmatch(r"\$\{\{ steps\.([a-z-]+)\.outputs\.([a-z-]+) \}\}", spec["value"])
        assert match, spec["value"]
        assert match.group(1) in ids
        assert match.group(2) == name


def _step(step_id: str) -> dict[str, Any]:
    return next(step for step in steps() if step.get("id") == step_id)


def test_the_install_step_installs_from_the_actions_own_checkout() -> None:
    install = _step("install")["run"]
    assert 'python3 -m venv --without-pip "$venv"' in install
    assert 'echo "venv=$RUNNER_TEMP/manifest-lint-venv"' in _step("prepare")["run"]
    assert (
        'python3 -m pip --python "$venv/bin/python" install --quiet '
        '--disable-pip-version-check "$GITHUB_ACTION_PATH"'
    ) in install
    assert steps()[-1]["run"].strip("'") == '"$ML_PYTHON" -m manifest_lint.action'


# =========================================================================== the harness

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


@dataclass
class Context:
    """What the harness's expression evaluator knows."""

    inputs: dict[str, str]
    github_token: str
    runner_temp: str
    steps: dict[str, dict[str, str]] = field(default_factory=dict)


def evaluate(text: str, context: Context) -> str:
    """Substitute the simple expressions action.yml may use; anything else is an error."""

    def one(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        parts = expression.split(".")
        if len(parts) == 2 and parts[0] == "inputs":
            return context.inputs[parts[1]]
        if expression == "github.token":
            return context.github_token
        if expression == "runner.temp":
            return context.runner_temp
        if len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs":
            return context.steps.get(parts[1], {}).get(parts[3], "")
        raise AssertionError(f"the harness does not evaluate ${{{{ {expression} }}}}")

    return _EXPRESSION.sub(one, text)


_COMPARISON = re.compile(r"^(\S+)\s*(==|!=)\s*'([^']*)'$")


def condition(text: str, context: Context, *, failed: bool) -> bool:
    """A step's ``if:``, of the forms action.yml uses: comparisons of ``inputs.X`` and
    ``steps.ID.outputs.K`` with a string, joined by ``&&``. Without ``always()`` or
    ``failure()`` it holds only while no step has failed (the runner's implicit
    ``success() &&``). Anything else is an error."""
    result = not failed
    for term in (t.strip() for t in text.split("&&")):
        if term == "success()":
            continue
        found = _COMPARISON.match(term)
        assert found, f"the harness does not evaluate the condition {term!r}"
        value = evaluate("${{ " + found.group(1) + " }}", context)
        result = result and ((value == found.group(3)) == (found.group(2) == "=="))
    return result


def actions_cache(step: dict[str, Any], context: Context, store: Path | None) -> dict[str, str]:
    """``actions/cache/restore`` and ``actions/cache/save``, as the runner runs them, with
    a directory for the Actions cache service (which tests cannot reach): a tar of
    ``path`` per key, written once (a key is never overwritten), restored to the same
    absolute path."""
    uses = step["uses"]
    assert uses in ("actions/cache/restore@v4", "actions/cache/save@v4"), uses
    assert store is not None, "this run has no Actions cache"
    with_ = {k: evaluate(str(v), context) for k, v in step.get("with", {}).items()}
    path, key = Path(with_["path"]), with_["key"]
    assert path.is_absolute(), with_
    assert key, with_
    archive = store / f"{hashlib.sha256(key.encode()).hexdigest()}.tar"
    # GNU tar, as actions/cache runs it (it adds zstd and the download: not here).
    if uses.startswith("actions/cache/restore"):
        if not archive.is_file():
            return {"cache-hit": "false", "cache-primary-key": key}
        subprocess.run(["tar", "-xf", str(archive), "-C", "/"], check=True, timeout=120)
        return {"cache-hit": "true", "cache-primary-key": key, "cache-matched-key": key}
    if not archive.exists():
        partial = archive.with_suffix(".partial")
        relative = str(path).lstrip("/")
        subprocess.run(["tar", "-cf", str(partial), "-C", "/", relative], check=True, timeout=120)
        partial.rename(archive)
    return {}


def parse_file_commands(text: str) -> dict[str, str]:
    """A ``$GITHUB_OUTPUT`` file as the runner reads it: ``key=value`` lines and
    ``key<<DELIMITER`` ... ``DELIMITER`` blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            values[line[:equals]] = line[equals + 1 :]
            continue
        assert heredoc > 0, f"invalid line in GITHUB_OUTPUT: {line!r}"
        key, delimiter = line[:heredoc], line[heredoc + 2 :]
        body: list[str] = []
        while True:
            assert index < len(lines), f"heredoc {delimiter!r} is not closed"
            line = lines[index]
            index += 1
            if line == delimiter:
                break
            body.append(line)
        values[key] = "\n".join(body)
    return values


@dataclass(frozen=True)
class ActionRun:
    """What one use of the action did."""

    #: The exit code of the step that failed, else 0.
    code: int
    failed_step: str | None
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    output_files: str
    runner_temp: Path
    #: Wall seconds of each step that ran, by step ID.
    seconds: dict[str, float] = field(default_factory=dict)

    def log_lines(self) -> list[str]:
        """stdout as the job log shows it: ``::add-mask::`` commands are consumed."""
        return [line for line in self.stdout.splitlines() if not line.startswith("::add-mask::")]

    def masks(self) -> list[str]:
        prefix = "::add-mask::"
        return [line[len(prefix) :] for line in self.stdout.splitlines() if line.startswith(prefix)]


_DROPPED = ("GITHUB_", "RUNNER_", "ML_", "PIP_", "INPUT_")


def _runner_env(workspace: Path, runner_temp: Path, wheelhouse: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_DROPPED)
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "REGISTRY_AUTH_FILE")
        and not k.startswith("XDG_")
    }
    docker_config = runner_temp / "docker-config"  # the runner's own: empty
    docker_config.mkdir(exist_ok=True)
    cache = runner_temp / "manifest-cache"
    cache.mkdir(exist_ok=True)
    env.update(
        GITHUB_ACTIONS="true",
        CI="true",
        RUNNER_OS="Linux",
        RUNNER_ARCH="X64",
        GITHUB_ACTION_PATH=str(ROOT),
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_ACTOR="octocat",
        RUNNER_TEMP=str(runner_temp),
        DOCKER_CONFIG=str(docker_config),
        MANIFEST_LINT_CACHE_DIR=str(cache),
        MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD="1",
        # Where pip finds packages: the session's wheelhouse (see the module docstring).
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheelhouse),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # The runner's python3 is the Python these tests run on, for which the
        # wheelhouse was built (.ci/run runs them on 3.11, 3.12 and 3.13).
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def run_action(
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    runner_temp: Path,
    wheelhouse: Path,
    github_token: str = GITHUB_TOKEN,
    cache_store: Path | None = None,
) -> ActionRun:
    """Run action.yml's steps like the runner does (see the module docstring);
    ``cache_store`` stands in for the Actions cache (:func:`actions_cache`)."""
    document = load_action()
    declared: dict[str, Any] = document["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs not declared in action.yml: {sorted(unknown)}"
    context = Context({}, github_token, str(runner_temp))
    context.inputs = {
        name: inputs[name] if name in inputs else evaluate(str(spec.get("default", "")), context)
        for name, spec in declared.items()
    }
    base_env = _runner_env(workspace, runner_temp, wheelhouse)
    files = runner_temp / "_runner_file_commands"
    files.mkdir()
    stdout, stderr, summary, output_files = [], [], [], []
    code, failed_step = 0, None
    seconds: dict[str, float] = {}
    for index, step in enumerate(document["runs"]["steps"]):
        step_id = step.get("id") or f"__run_{index}"
        if not condition(str(step.get("if", "success()")), context, failed=bool(failed_step)):
            continue
        started = time.monotonic()
        if "uses" in step:
            context.steps[step_id] = actions_cache(step, context, cache_store)
            seconds[step_id] = time.monotonic() - started
            continue
        assert step.get("shell") == "bash", step
        output_file = files / f"set_output_{index}"
        summary_file = files / f"step_summary_{index}"
        output_file.touch()
        summary_file.touch()
        env = dict(base_env)
        for name, value in (step.get("env") or {}).items():
            env[name] = evaluate(str(value), context)
        env.update(GITHUB_OUTPUT=str(output_file), GITHUB_STEP_SUMMARY=str(summary_file))
        script = files / f"step_{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        seconds[step_id] = time.monotonic() - started
        stdout.append(done.stdout)
        stderr.append(done.stderr)
        text = output_file.read_text(encoding="utf-8")
        output_files.append(text)
        context.steps[step_id] = parse_file_commands(text)
        summary.append(summary_file.read_text(encoding="utf-8"))
        if done.returncode != 0:
            code, failed_step = done.returncode, step_id
    outputs = {
        name: evaluate(str(spec["value"]), context) for name, spec in document["outputs"].items()
    }
    return ActionRun(
        code,
        failed_step,
        "".join(stdout),
        "".join(stderr),
        outputs,
        "".join(summary),
        "".join(output_files),
        runner_temp,
        seconds,
    )


def test_the_harness_reads_both_output_forms() -> None:
    text = action.format_output("a", "1") + action.format_output("b", "x\ny", multiline=True)
    text += action.format_output("c", "z=w")
    assert parse_file_commands(text) == {"a": "1", "b": "x\ny", "c": "z=w"}
    assert action.format_output("p", "/tmp/a b").startswith("p=")
    assert action.format_output("p", "line\nbreak").startswith("p<<ghadelimiter_")


def test_the_harness_evaluates_conditions_as_the_runner_does() -> None:
    context = Context({"cache": "true"}, "t", "/tmp", {"install": {"installed": "true"}})
    both = "inputs.cache == 'true' && steps.install.outputs.installed == 'true'"
    assert condition(both, context, failed=False)
    assert not condition(both, context, failed=True)  # the implicit success()
    assert not condition("steps.install.outputs.installed != 'true'", context, failed=False)
    assert condition("steps.restore.outputs.cache-hit != 'true'", context, failed=False)
    with pytest.raises(AssertionError, match="does not evaluate the condition"):
        condition("always()", context, failed=True)


def test_the_harness_refuses_expressions_it_does_not_know() -> None:
    context = Context({"x": "1"}, "t", "/tmp")
    assert evaluate("${{ inputs.x }}-${{ github.token }}-${{runner.temp}}", context) == "1-t-/tmp"
    with pytest.raises(AssertionError, match="does not evaluate"):
        evaluate("${{ github.event.issue.title }}", context)


# --------------------------------------------------------------------------- scenarios


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of manifest-lint's runtime dependencies and build backend (pyproject.toml),
    built once per session; the action's install step finds everything here."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    directory = tmp_path_factory.mktemp("wheelhouse")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--wheel-dir",
            str(directory),
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        from tests.conftest import require

        require(False, f"cannot build the wheelhouse (pip wheel needs PyPI): {built.stderr}")
    return directory


@dataclass(frozen=True)
class Scenario:
    inputs: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)
    github_token: str = GITHUB_TOKEN


@dataclass(frozen=True)
class Runs:
    references: ActionRun
    files: ActionRun
    unreachable: ActionRun
    credentials: ActionRun
    #: What the scenarios pushed and used.
    passing_digest_ref: str
    passing_tag_ref: str
    private_ref: str
    down_ref: str
    password: str


def _image() -> Any:
    return build_index(
        [build_manifest(p, layers=2, seed="action") for p in ("linux/amd64", "linux/arm64")],
        annotations=ANNOTATIONS,
    )


@pytest.fixture(scope="module")
def runs(
    registry: RegistryServer,
    registry_basic: RegistryServer,
    wheelhouse: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runs:
    """The four scenarios, each a job on a fresh runner, run at once."""
    passing = push(registry.url, "action/app", _image(), "1.0")
    credentials = registry_basic.credentials
    assert credentials is not None
    username, password = credentials
    private = push(registry_basic.url, "action/private", _image(), "1.0", auth=credentials)
    down = f"127.0.0.1:{free_port()}/action/down:1.0"
    scenarios = {
        "references": Scenario(
            {"references": f"# the release\n\n{passing.digest_reference}  # pinned\n"}
        ),
        "files": Scenario(
            {"files": "Dockerfile", "fail-on": "warning"},
            files={"Dockerfile": f"FROM {passing.reference}\nRUN true\n"},
        ),
        "unreachable": Scenario({"references": down, "cache": "false"}),
        "credentials": Scenario(
            {
                "references": private.digest_reference,
                "registry": registry_basic.host,
                "username": username,
                "password": password,
            }
        ),
    }

    def one(name: str, scenario: Scenario) -> ActionRun:
        workspace = tmp_path_factory.mktemp(f"workspace-{name}")
        for path, text in scenario.files.items():
            (workspace / path).write_text(text, encoding="utf-8")
        return run_action(
            scenario.inputs,
            workspace=workspace,
            runner_temp=tmp_path_factory.mktemp(f"runner-temp-{name}"),
            wheelhouse=wheelhouse,
            github_token=scenario.github_token,
            cache_store=tmp_path_factory.mktemp(f"actions-cache-{name}"),
        )

    with ThreadPoolExecutor(len(scenarios)) as pool:
        futures = {name: pool.submit(one, name, s) for name, s in scenarios.items()}
        done = {name: future.result() for name, future in futures.items()}
    return Runs(
        **done,
        passing_digest_ref=passing.digest_reference,
        passing_tag_ref=passing.reference,
        private_ref=private.digest_reference,
        down_ref=down,
        password=password,
    )


def _explain(run: ActionRun) -> str:
    return f"failed step: {run.failed_step}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"


def _report_paths_exist(run: ActionRun) -> None:
    for name in ("junit", "sarif", "json"):
        path = Path(run.outputs[name])
        assert path.is_absolute(), (name, path)
        assert path.is_file(), (name, path)
        assert run.runner_temp in path.parents  # the defaults are under RUNNER_TEMP


@pytest.mark.registry
def test_references_of_a_passing_image_pass(runs: Runs) -> None:
    run = runs.references
    assert run.code == 0, _explain(run)
    assert run.outputs["outcome"] == "pass"
    assert (run.outputs["failed"], run.outputs["errors"]) == ("0", "0")
    assert int(run.outputs["passed"]) >= 4
    _report_paths_exist(run)
    totals, suites = read_junit(Path(run.outputs["junit"]))
    assert [s.name for s in suites] == [runs.passing_digest_ref]
    assert (totals["failures"], totals["errors"]) == ("0", "0")
    report = json.loads(Path(run.outputs["json"]).read_text(encoding="utf-8"))
    assert [r["reference"] for r in report["results"]] == [runs.passing_digest_ref]
    sarif = json.loads(Path(run.outputs["sarif"]).read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    # The job summary: the results table and the platform coverage matrix.
    assert "## manifest-lint" in run.summary
    assert "| image | result | digest | failed or not evaluated |" in run.summary
    assert f"| `{runs.passing_digest_ref}` | ✅ pass |" in run.summary
    assert "### Platform coverage" in run.summary
    assert "| image | `linux/amd64` | `linux/arm64` |" in run.summary
    assert f"| `{runs.passing_digest_ref}` | ✅ | ✅ |" in run.summary
    assert not [line for line in run.log_lines() if line.startswith("::error")]


@pytest.mark.registry
def test_files_with_an_unpinned_from_fail_on_warning_with_an_annotation(runs: Runs) -> None:
    run = runs.files
    assert run.code == 1, _explain(run)
    assert run.failed_step == "lint"
    # Outputs are set although the step failed.
    assert run.outputs["outcome"] == "fail"
    assert (run.outputs["failed"], run.outputs["errors"]) == ("1", "0")
    _report_paths_exist(run)
    annotations = [line for line in run.log_lines() if line.startswith("::error ")]
    assert len(annotations) == 1, run.stdout
    assert annotations[0].startswith("::error file=Dockerfile,line=1,col=6,")
    assert "title=manifest-lint%3A pinned-digest::" in annotations[0]
    assert f"{runs.passing_tag_ref}: not pinned to a digest" in annotations[0]
    assert f"| `{runs.passing_tag_ref}` (Dockerfile:1) | ❌ fail |" in run.summary


@pytest.mark.registry
def test_an_unreachable_registry_is_an_error(runs: Runs) -> None:
    run = runs.unreachable
    assert run.code == 3, _explain(run)
    assert run.outputs["outcome"] == "error"
    assert (run.outputs["passed"], run.outputs["failed"], run.outputs["errors"]) == (
        "0",
        "0",
        "1",
    )
    _report_paths_exist(run)
    errors = [line for line in run.log_lines() if line.startswith("::error ")]
    assert len(errors) == 1, run.stdout
    assert runs.down_ref in errors[0]
    assert "⚠️ error" in run.summary


def test_without_the_cache_nothing_is_restored_or_saved(runs: Runs) -> None:
    run = runs.unreachable  # cache: false
    assert "restore" not in run.seconds
    assert "save" not in run.seconds
    assert "install" in run.seconds
    assert not list((run.runner_temp.parent).glob("actions-cache-unreachable*/*.tar"))


def _jobs(wheelhouse: Path, tmp_path: Path, count: int, cache: str = "true") -> Iterator[ActionRun]:
    """``count`` jobs one after another on one runner (the same ``RUNNER_TEMP`` path,
    emptied between jobs, as a hosted runner's is) sharing one Actions cache: an
    offline lint of a pinned reference, to time what comes before it."""
    store, workspace, runner_temp = tmp_path / "store", tmp_path / "ws", tmp_path / "temp"
    store.mkdir()
    workspace.mkdir()
    for _ in range(count):
        shutil.rmtree(runner_temp, ignore_errors=True)
        runner_temp.mkdir()
        yield run_action(
            {"references": PINNED, "offline": "true", "cache": cache},
            workspace=workspace,
            runner_temp=runner_temp,
            wheelhouse=wheelhouse,
            cache_store=store,
        )


def install_seconds(run: ActionRun) -> float:
    """What a job spends before the lint: the prepare, restore, install and save steps."""
    return sum(v for k, v in run.seconds.items() if k in ("prepare", "restore", "install", "save"))


def test_a_warm_job_restores_the_venv_instead_of_installing(
    wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold, warm = _jobs(wheelhouse, tmp_path, 2)
    for run in (cold, warm):
        assert run.code == 0, _explain(run)
        assert run.outputs["outcome"] == "pass"
    assert "installed=true" in cold.output_files
    assert "save" in cold.seconds
    assert "installed=false" in warm.output_files  # restored, and it imports
    assert "save" not in warm.seconds
    assert len(list((tmp_path / "store").glob("*.tar"))) == 1
    with capsys.disabled():  # the harness's report (bench/action_install.py measures it)
        print(
            f"\naction install: cold {install_seconds(cold):.1f} s, "
            f"warm {install_seconds(warm):.1f} s (to the lint step); steps, cold: "
            + ", ".join(f"{k} {v:.2f}" for k, v in cold.seconds.items())
            + "; warm: "
            + ", ".join(f"{k} {v:.2f}" for k, v in warm.seconds.items())
        )


def test_a_restored_venv_that_does_not_import_is_installed_again(
    wheelhouse: Path, tmp_path: Path
) -> None:
    """A cache entry whose venv is broken (its Python gone, a file lost) costs an
    install, never a failed job."""
    jobs = _jobs(wheelhouse, tmp_path, 2)
    first = next(jobs)
    assert first.code == 0, _explain(first)
    (archive,) = (tmp_path / "store").glob("*.tar")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/manifest_lint/" not in m.name]
        broken = archive.with_suffix(".broken")
        with tarfile.open(broken, "w") as out:
            for member in members:
                out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    broken.replace(archive)
    second = next(jobs)
    assert second.code == 0, _explain(second)
    assert "installed=true" in second.output_files


@pytest.mark.registry
def test_credentials_reach_a_basic_auth_registry_and_never_the_log(runs: Runs) -> None:
    run = runs.credentials
    assert run.code == 0, _explain(run)
    assert run.outputs["outcome"] == "pass"
    assert run.outputs["errors"] == "0"
    # The secrets were masked first, and appear nowhere else.
    assert runs.password in run.masks()
    assert GITHUB_TOKEN in run.masks()
    assert run.stdout.startswith("::add-mask::")
    reports = "".join(
        Path(run.outputs[name]).read_text(encoding="utf-8") for name in ("junit", "sarif", "json")
    )
    for secret in (runs.password, GITHUB_TOKEN):
        for where, text in {
            "log": "\n".join(run.log_lines()),
            "stderr": run.stderr,
            "summary": run.summary,
            "outputs": json.dumps(run.outputs),
            "GITHUB_OUTPUT": run.output_files,
            "reports": reports,
        }.items():
            assert secret not in text, where
    # The private credentials file is gone after the run.
    assert not list(run.runner_temp.glob("manifest-lint-auth-*"))


# =========================================================================== in-process


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A GitHub-like environment for action.main(env), in an empty workspace (cwd)."""
    workspace = tmp_path / "workspace"
    temp = tmp_path / "runner-temp"
    workspace.mkdir()
    temp.mkdir()
    (temp / "output").touch()
    (temp / "summary").touch()
    docker = tmp_path / "docker"
    docker.mkdir()
    monkeypatch.chdir(workspace)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "DOCKER_CONFIG": str(docker),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_STEP_SUMMARY": str(temp / "summary"),
        "GITHUB_ACTIONS": "true",
        "MANIFEST_LINT_CACHE_DIR": os.environ["MANIFEST_LINT_CACHE_DIR"],
        "MANIFEST_LINT_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def outputs_of(env: Mapping[str, str]) -> dict[str, str]:
    return parse_file_commands(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "give image references (input `references`) or files to scan (input `files`)"),
        ({"ML_REFERENCES": "# only a comment\n\n"}, "give image references"),
        ({"ML_REFERENCES": PINNED, "ML_FAIL_ON": "fatal"}, "fail-on must be one of"),
        ({"ML_REFERENCES": PINNED, "ML_OFFLINE": "yes"}, "offline must be true or false"),
        ({"ML_REFERENCES": PINNED, "ML_USERNAME": "me"}, "password is empty"),
        ({"ML_REFERENCES": PINNED, "ML_PASSWORD": "pw"}, "username is empty"),
        (
            {"ML_REFERENCES": PINNED, "ML_USERNAME": "a:b", "ML_PASSWORD": "pw"},
            "username must not contain",
        ),
        (
            {"ML_REFERENCES": PINNED, "ML_REGISTRY": "not a host", "ML_USERNAME": "u"}
            | {"ML_PASSWORD": "p"},
            "registry 'not a host' is not a host[:port]",
        ),
        ({"ML_REFERENCES": "--policy=/etc/evil"}, "is not an image reference"),
        ({"ML_FILES": "k8s/**/*.yaml"}, "files: 'k8s/**/*.yaml' matches no file"),
    ],
)
def test_invalid_inputs_exit_2_with_an_error_annotation(
    github: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    inputs: dict[str, str],
    message: str,
) -> None:
    code = action.main(github | inputs)
    out = capsys.readouterr().out
    assert code == 2
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, out
    assert message in errors[0]
    outputs = outputs_of(github)
    assert (outputs["outcome"], outputs["passed"], outputs["failed"], outputs["errors"]) == (
        "error",
        "0",
        "0",
        "0",
    )
    assert all(outputs[name] for name in ("junit", "sarif", "json"))


def test_an_offline_run_on_files_in_process(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("Dockerfile").write_text(f"FROM {PINNED}\n", encoding="utf-8")
    Path("deploy").mkdir()
    Path("deploy/web.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "    - name: web\n      image: registry.example.com/team/web:latest\n",
        encoding="utf-8",
    )
    env = github | {
        "ML_FILES": "Dockerfile\ndeploy/**/*.yaml\nDockerfile\n",
        "ML_OFFLINE": "true",
        "ML_FAIL_ON": "warning",
        "ML_JUNIT": "reports/junit.xml",
    }
    code = action.main(env)
    out = capsys.readouterr().out
    assert code == 1, out
    outputs = outputs_of(github)
    assert outputs["outcome"] == "fail"
    assert outputs["junit"] == str(Path.cwd() / "reports" / "junit.xml")
    assert Path(outputs["junit"]).is_file()
    report = json.loads(Path(outputs["json"]).read_text(encoding="utf-8"))
    assert [(r["reference"], r["location"]["path"]) for r in report["results"]] == [
        (PINNED, "Dockerfile"),
        ("registry.example.com/team/web:latest", "deploy/web.yaml"),
    ]
    assert "::error file=deploy/web.yaml,line=7," in out


def test_exceptions_files_waive_in_an_action_run(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("deploy").mkdir()
    Path("deploy/web.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "    - name: web\n      image: registry.example.com/team/web:latest\n",
        encoding="utf-8",
    )
    expires = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    Path("legacy.yaml").write_text(
        "exceptions:\n"
        + "".join(
            f"  - policy: {policy}\n"
            "    images: [registry.example.com/team/*]\n"
            "    reason: web moves to pinned tags in OPS-9\n"
            f"    expires: {expires}\n"
            for policy in ("no-latest", "pinned-digest")
        ),
        encoding="utf-8",
    )
    env = github | {"ML_FILES": "deploy/web.yaml", "ML_OFFLINE": "true", "ML_FAIL_ON": "warning"}
    assert action.main(env) == 1, capsys.readouterr().out
    assert outputs_of(github)["outcome"] == "fail"
    code = action.main(env | {"ML_EXCEPTIONS": "legacy.yaml\n"})
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(Path(outputs_of(github)["json"]).read_text(encoding="utf-8"))
    waived = {f["policy"]: f for f in report["results"][0]["findings"] if f["outcome"] == "waived"}
    assert sorted(waived) == ["no-latest", "pinned-digest"]
    assert waived["pinned-digest"]["exception"]["source"] == "legacy.yaml:6"


def test_inline_references_with_files_have_no_location_in_any_report(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """With both inputs, inline references are in no file: no annotation, SARIF
    result or JUnit case locates them anywhere, least of all under RUNNER_TEMP."""
    Path("Dockerfile").write_text(f"FROM {PINNED}\n", encoding="utf-8")
    inline = "registry.example.com/team/api:latest"
    env = github | {
        "ML_FILES": "Dockerfile",
        "ML_REFERENCES": f"registry.example.com/team/api@sha256:{'b' * 64}\n{inline}\n",
        "ML_OFFLINE": "true",
        "ML_FAIL_ON": "warning",
    }
    assert action.main(env) == 1
    out = capsys.readouterr().out
    outputs = outputs_of(github)
    report = json.loads(Path(outputs["json"]).read_text(encoding="utf-8"))
    assert [(r["reference"], r["location"]) for r in report["results"]] == [
        (PINNED, {"path": "Dockerfile", "line": 1, "column": 6}),
        (f"registry.example.com/team/api@sha256:{'b' * 64}", None),
        (inline, None),
    ]
    temp = github["RUNNER_TEMP"]
    annotations = [line for line in out.splitlines() if line.startswith("::error")]
    assert annotations, out
    assert not [line for line in annotations if "file=" in line and inline in line]
    for name in ("sarif", "junit", "json"):
        assert temp not in Path(outputs[name]).read_text(encoding="utf-8"), name
    assert temp not in out
    assert temp not in Path(github["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    sarif = json.loads(Path(outputs["sarif"]).read_text(encoding="utf-8"))
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for location in result.get("locations", ())
        if "physicalLocation" in location
    }
    assert uris <= {"Dockerfile"}


def test_an_inline_reference_spelled_like_a_command_is_an_image(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env = github | {"ML_REFERENCES": "scan", "ML_OFFLINE": "true"}
    action.main(env)
    capsys.readouterr()
    report = json.loads(Path(outputs_of(github)["json"]).read_text(encoding="utf-8"))
    assert [(r["reference"], r["normalized"]) for r in report["results"]] == [
        ("scan", "docker.io/library/scan:latest")
    ]


def test_the_report_directory_and_files_honour_the_umask(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A root container step writes the reports; a later step as another user reads them."""
    saved = os.umask(0o022)
    try:
        assert action.main(github | {"ML_REFERENCES": PINNED, "ML_OFFLINE": "true"}) == 0
    finally:
        os.umask(saved)
    outputs = outputs_of(github)
    for name in ("junit", "sarif", "json"):
        path = Path(outputs[name])
        assert path.stat().st_mode & 0o777 == 0o644, name
        assert path.parent.stat().st_mode & 0o777 == 0o755, name


def test_build_argv_keeps_every_value_out_of_option_parsing() -> None:
    inputs = action.Inputs(
        references=("a/b:1",),
        policies=("-odd.yaml", "policies/"),
        exceptions=("-x.yaml",),
        config="-c.yaml",
        fail_on="info",
        offline=True,
    )
    reports = action.Reports("/r/j.xml", "/r/s.sarif", "/r/j.json")
    assert action.build_argv(inputs, [], reports) == [
        "--policy=-odd.yaml",
        "--policy=policies/",
        "--exceptions=-x.yaml",
        "--config=-c.yaml",
        "--fail-on=info",
        "--offline",
        "--junit=/r/j.xml",
        "--sarif=/r/s.sarif",
        "--json=/r/j.json",
        "--ref=a/b:1",
    ]
    argv = action.build_argv(inputs, ["Dockerfile"], reports)
    assert argv[0] == "scan"
    assert argv[-4:] == ["--json=/r/j.json", "--ref=a/b:1", "--", "Dockerfile"]


def test_expand_files(tmp_path: Path) -> None:
    for name in ("a/Dockerfile", "a/b/Dockerfile", "c.yaml", "-p.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    patterns = ("**/Dockerfile", "c.yaml", "a/Dockerfile", "missing.yaml", "-p.yaml")
    assert action.expand_files(patterns, tmp_path) == [
        "a/Dockerfile",
        "a/b/Dockerfile",
        "c.yaml",
        "missing.yaml",
        "./-p.yaml",
    ]


def test_registry_keys() -> None:
    assert action.registry_key("docker.io") == DOCKER_HUB_KEY
    assert action.registry_key("https://index.docker.io/v1/") == DOCKER_HUB_KEY
    assert action.registry_key("GHCR.io") == "ghcr.io"
    assert action.registry_key("https://localhost:5000/v2/") == "localhost:5000"
    with pytest.raises(InputError):
        action.registry_key("")


class Helpers:
    """A credential-helper runner that records who is asked and knows nothing."""

    def __init__(self) -> None:
        self.asked: list[bytes] = []

    def __call__(
        self, argv: Any, *, stdin: bytes, timeout: float, env: Any
    ) -> subprocess.CompletedProcess[bytes]:
        self.asked.append(stdin)
        return subprocess.CompletedProcess(
            argv, 1, b"credentials not found in native keychain", b""
        )


def test_the_credentials_file_wins_over_helpers_and_keeps_other_registries(
    tmp_path: Path,
) -> None:
    base = {
        "auths": {"other.example": {"auth": "dXNlcjpwdw=="}},
        "credsStore": "desktop",
        "credHelpers": {"registry.example.com": "ecr-login"},
        "experimental": "enabled",
    }
    config = action.docker_config(base, {"registry.example.com": ("me", "s3cret:with:colons")})
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    env = {"DOCKER_CONFIG": str(tmp_path)}
    helpers = Helpers()
    credential = find_credential("registry.example.com", env=env, run_helper=helpers)
    assert credential is not None
    assert (credential.username, credential.password) == ("me", "s3cret:with:colons")
    assert helpers.asked == []
    # Other hosts are as before: the credsStore is asked (as docker asks it).
    assert find_credential("other.example", env=env, run_helper=helpers) is None
    assert helpers.asked == [b"other.example"]
    assert config["experimental"] == "enabled"
    assert config["credsStore"] == "desktop"


def test_the_github_token_is_for_ghcr_only_when_nothing_else_is(tmp_path: Path) -> None:
    inputs = action.Inputs(references=("ghcr.io/o/a:1",), github_token="tok")
    empty = {"DOCKER_CONFIG": str(tmp_path / "none"), "GITHUB_ACTOR": "octocat"}
    assert action.credential_entries(inputs, empty) == {"ghcr.io": ("octocat", "tok")}
    # docker/login-action already logged in to ghcr.io: that credential is kept.
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"ghcr.io": {"auth": "bWU6cGF0"}}}), encoding="utf-8"
    )
    assert action.credential_entries(inputs, {"DOCKER_CONFIG": str(tmp_path)}) == {}
    # Explicit inputs for ghcr.io win over the token.
    explicit = action.Inputs(
        references=("ghcr.io/o/a:1",),
        registry="ghcr.io",
        username="bot",
        password="pat",
        github_token="tok",
    )
    assert action.credential_entries(explicit, empty) == {"ghcr.io": ("bot", "pat")}
    assert action.credential_entries(action.Inputs(references=("x",)), empty) == {}


def test_the_cli_runs_with_the_credentials_file_and_without_the_inputs(
    github: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def fake_main(argv: list[str]) -> int:
        seen["argv"] = argv
        seen["env"] = dict(os.environ)
        seen["config"] = json.loads(
            Path(os.environ["DOCKER_CONFIG"], "config.json").read_text(encoding="utf-8")
        )
        return 0

    monkeypatch.setattr("manifest_lint.cli.main.main", fake_main)
    before = dict(os.environ)
    env = github | {
        "ML_REFERENCES": "localhost:5000/app:1",
        "ML_REGISTRY": "localhost:5000",
        "ML_USERNAME": "me",
        "ML_PASSWORD": "pa%ss\nword",
        "ML_GITHUB_TOKEN": "tok",
    }
    assert action.main(env) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:4] == [
        "::add-mask::pa%25ss%0Aword",
        "::add-mask::pa%25ss",
        "::add-mask::word",
        "::add-mask::tok",
    ]
    assert not [k for k in seen["env"] if k.startswith("ML_")]
    assert seen["env"]["REGISTRY_AUTH_FILE"] == str(
        Path(seen["env"]["DOCKER_CONFIG"], "config.json")
    )
    assert set(seen["config"]["auths"]) == {"localhost:5000", "ghcr.io"}
    assert seen["argv"][-1] == "--ref=localhost:5000/app:1"
    assert not Path(seen["env"]["DOCKER_CONFIG"]).exists()
    assert dict(os.environ) == before


def test_counts_never_come_from_an_older_report(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("old.json").write_text(
        json.dumps({"summary": {"pass": 7, "blockingFailures": 0, "error": 0}}), encoding="utf-8"
    )
    env = github | {"ML_REFERENCES": PINNED, "ML_JSON": "old.json", "ML_CONFIG": "missing.yaml"}
    assert action.main(env) == 2
    assert "missing.yaml" in capsys.readouterr().err
    outputs = outputs_of(github)
    assert (outputs["outcome"], outputs["passed"]) == ("error", "0")


def test_a_warning_below_fail_on_shows_as_a_pass_in_the_job_summary(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # A tag: pinned-digest warns, below the default fail-on (error).
    env = github | {"ML_REFERENCES": f"oci:{ROOT / 'examples' / 'multiarch'}:1.0"}
    assert action.main(env) == 0, capsys.readouterr().out
    assert outputs_of(github)["outcome"] == "pass"
    summary = Path(github["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "❌ fail" not in summary
    assert "✅ pass (1 below --fail-on)" in summary


def test_module_entry_point(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "manifest_lint.action"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "RUNNER_TEMP": str(tmp_path)},
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stdout.startswith("::error title=manifest-lint: invalid input::give image")


# =========================================================================== docs/ci.md


def yaml_blocks(path: Path) -> list[str]:
    found = re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [textwrap.dedent(block) for block in found]


def _uses_of_the_action(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("uses", "").startswith("manifest-lint/manifest-lint@"):
            yield node
        for value in node.values():
            yield from _uses_of_the_action(value)
    elif isinstance(node, list):
        for item in node:
            yield from _uses_of_the_action(item)


def test_the_yaml_snippets_in_docs_ci_parse_and_the_whole_files_validate(tmp_path: Path) -> None:
    blocks = yaml_blocks(ROOT / "docs" / "ci.md")
    assert len(blocks) >= 6
    documents = [yaml.safe_load(block) for block in blocks]
    schemas: dict[str, list[int]] = {"vendor.github-workflows": [], "vendor.gitlab-ci": []}
    for index, document in enumerate(documents):
        if isinstance(document, dict) and "jobs" in document and True in document:
            schemas["vendor.github-workflows"].append(index)  # `on:` reads as True
        elif isinstance(document, dict) and "manifest-lint" in document:
            schemas["vendor.gitlab-ci"].append(index)
    assert all(schemas.values()), schemas
    for schema, indexes in schemas.items():
        for index in indexes:
            path = tmp_path / f"snippet-{index}.yaml"
            path.write_text(blocks[index], encoding="utf-8")
            done = subprocess.run(
                [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"{schema}\n{blocks[index]}\n{done.stdout}{done.stderr}"
    # Every use of the action passes only inputs it declares.
    declared = set(load_action()["inputs"])
    uses = [use for document in documents for use in _uses_of_the_action(document)]
    assert len(uses) >= 5
    for use in uses:
        assert set(use.get("with", {})) <= declared, use


def test_a_registry_without_credentials_is_a_warning(
    github: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env = github | {"ML_REFERENCES": PINNED, "ML_OFFLINE": "true", "ML_REGISTRY": "ghcr.io"}
    assert action.main(env) == 0
    out = capsys.readouterr().out
    assert "::warning title=manifest-lint::registry ghcr.io is set without username" in out
