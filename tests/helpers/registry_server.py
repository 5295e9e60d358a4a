"""Run a real CNCF distribution registry (Debian's ``docker-registry``) for tests.

:class:`RegistryServer` writes its own configuration into a temporary
directory (the packaged ``/etc/docker/registry/config.yml`` is broken and is
never used), starts ``docker-registry serve CONFIG`` on 127.0.0.1 on a free
port with filesystem storage in that directory, and waits until ``GET /v2/``
answers. Three modes:

``open``
    no authentication.
``htpasswd``
    Basic authentication against a bcrypt entry made by ``htpasswd -Bbn``
    (this registry answers 401 to every MD5 entry).
``token``
    ``auth: token``, with a :class:`~helpers.token_issuer.TokenIssuer`
    started alongside it (``server.token_issuer``).

Every auth rejection looks like the same 401 to a client; the reason is only
in the registry's log, so :meth:`RegistryServer.log_tail` is worth printing
whenever a test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal

import httpx
import yaml

from tests.helpers.service import Service

from .token_issuer import DEFAULT_ISSUER, DEFAULT_SERVICE, Algorithm, KeyHeader, TokenIssuer

Mode = Literal["open", "htpasswd", "token"]

DEFAULT_BINARY = "/usr/bin/docker-registry"
DEFAULT_USERNAME = "tester"
DEFAULT_PASSWORD = "s3cret-Passw0rd"
HTPASSWD_BINARY = "htpasswd"
STARTUP_TIMEOUT = 10.0


class RegistryStartError(RuntimeError):
    """The registry did not come up; the message carries the tail of its log."""


def registry_binary() -> str | None:
    """The registry executable, or None when it is not installed."""
    override = os.environ.get("MANIFEST_LINT_TEST_REGISTRY")
    path = override or DEFAULT_BINARY
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bcrypt_htpasswd_line(username: str, password: str) -> str:
    """``user:$2y$...`` from ``htpasswd -Bbn`` (bcrypt; MD5 lines always get 401)."""
    exe = shutil.which(HTPASSWD_BINARY)
    if exe is None:
        raise RegistryStartError("htpasswd (Debian package apache2-utils) is not installed")
    out = subprocess.run(
        [exe, "-Bbn", username, password], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


class RegistryServer(Service):
    """A running ``docker-registry``; use as a context manager or call start()/stop().

    Attributes once started: ``host`` (``127.0.0.1:PORT``), ``url``
    (``http://127.0.0.1:PORT``), ``log_path``, ``config_path``, ``root``
    (storage directory), ``mode``, and ``token_issuer`` in token mode.
    ``env`` adds ``REGISTRY_*`` overrides (e.g. ``REGISTRY_LOG_LEVEL=debug``);
    ``REGISTRY_*`` variables inherited from the caller's environment are
    dropped so they cannot silently change the server under test.
    """

    def __init__(
        self,
        mode: Mode = "open",
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        token_ttl: int = 300,
        allow_anonymous_pull: bool = False,
        token_algorithm: Algorithm = "ES256",
        token_key_header: KeyHeader = "x5c",
        directory: Path | None = None,
        binary: str | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        if mode not in ("open", "htpasswd", "token"):
            raise ValueError(f"unknown registry mode {mode!r}")
        self.mode: Mode = mode
        self.username = username
        self.password = password
        self.token_ttl = token_ttl
        self.allow_anonymous_pull = allow_anonymous_pull
        self.token_algorithm: Algorithm = token_algorithm
        self.token_key_header: KeyHeader = token_key_header
        self.binary = binary or registry_binary() or DEFAULT_BINARY
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self._own_dir = directory is None
        self.directory = directory
        self.port = 0
        self.token_issuer: TokenIssuer | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # ---------------------------------------------------------------- addresses

    @property
    def host(self) -> str:
        self._require_started()
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def credentials(self) -> tuple[str, str] | None:
        """(username, password) in the auth modes, None when open."""
        return None if self.mode == "open" else (self.username, self.password)

    @property
    def log_path(self) -> Path:
        return self._dir / "registry.log"

    @property
    def config_path(self) -> Path:
        return self._dir / "config.yml"

    @property
    def root(self) -> Path:
        return self._dir / "storage"

    @property
    def _dir(self) -> Path:
        if self.directory is None:
            raise RuntimeError("registry has no directory yet; call start() first")
        return self.directory

    def _require_started(self) -> None:
        if self._proc is None:
            raise RuntimeError("registry is not running; call start() first")

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> RegistryServer:
        if self._proc is not None:
            return self
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="manifest-lint-registry-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(exist_ok=True)
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise RegistryStartError(f"registry executable {self.binary} is not installed")
        try:
            if self.mode == "token":
                self.token_issuer = TokenIssuer(
                    username=self.username,
                    password=self.password,
                    ttl=self.token_ttl,
                    allow_anonymous_pull=self.allow_anonymous_pull,
                    algorithm=self.token_algorithm,
                    key_header=self.token_key_header,
                    directory=self.directory,
                ).start()
            # A free port can be taken between probing and binding: retry a few times.
            for attempt in range(3):
                self.port = free_port()
                self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
                try:
                    self._spawn()
                    return self
                except RegistryStartError:
                    if attempt == 2 or "address already in use" not in self.log_tail():
                        raise
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def config(self) -> dict[str, Any]:
        """The configuration written to ``config_path`` (call after the port is chosen)."""
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {
                "level": "info",
                "formatter": "text",
                "accesslog": {"disabled": False},
                "fields": {"service": "registry", "test_mode": self.mode},
            },
            "storage": {
                "filesystem": {"rootdirectory": str(self.root)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": f"127.0.0.1:{self.port}",
                "secret": "manifest-lint-test-secret",
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "validation": {"manifests": {"urls": {"allow": ["^https?://"]}}},
        }
        if self.mode == "htpasswd":
            htpasswd = self._dir / "htpasswd"
            htpasswd.write_text(bcrypt_htpasswd_line(self.username, self.password) + "\n")
            config["auth"] = {"htpasswd": {"realm": "manifest-lint-test", "path": str(htpasswd)}}
        elif self.mode == "token":
            issuer = self.token_issuer
            if issuer is None:
                raise RuntimeError("token mode needs the token issuer to be started first")
            config["auth"] = {
                "token": {
                    "realm": issuer.realm,
                    "service": issuer.service,
                    "issuer": issuer.issuer,
                    "rootcertbundle": str(issuer.cert_path),
                }
            }
        return config

    def _spawn(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update(self.env)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [self.binary, "serve", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self._dir,
        )
        try:
            self._wait_ready()
        except BaseException:
            self._terminate()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no answer"
        with httpx.Client(timeout=1.0) as client:
            while True:
                assert self._proc is not None
                code = self._proc.poll()
                if code is not None:
                    raise RegistryStartError(
                        f"docker-registry exited with status {code} during start-up\n"
                        f"--- {self.log_path} (tail) ---\n{self.log_tail()}"
                    )
                try:
                    response = client.get(f"http://127.0.0.1:{self.port}/v2/")
                    if response.status_code in (200, 401):
                        return
                    last_error = f"GET /v2/ answered {response.status_code}"
                except httpx.TransportError as exc:
                    last_error = repr(exc)
                if time.monotonic() > deadline:
                    raise RegistryStartError(
                        f"docker-registry did not answer GET /v2/ within "
                        f"{self.startup_timeout:.0f}s ({last_error})\n"
                        f"--- {self.log_path} (tail) ---\n{self.log_tail()}"
                    )
                time.sleep(0.02)

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Stop the registry and the token issuer; remove a directory we created."""
        self._terminate()
        if self.token_issuer is not None:
            self.token_issuer.stop()
        if self._own_dir and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    # ---------------------------------------------------------------- diagnostics

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the registry log (auth failures are explained only there)."""
        with contextlib.suppress(OSError, RuntimeError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def log_text(self) -> str:
        with contextlib.suppress(OSError, RuntimeError):
            return self.log_path.read_text(errors="replace")
        return ""

    def __repr__(self) -> str:
        where = f"127.0.0.1:{self.port}" if self._proc is not None else "stopped"
        return f"<RegistryServer mode={self.mode} {where}>"


__all__ = [
    "DEFAULT_BINARY",
    "DEFAULT_ISSUER",
    "DEFAULT_PASSWORD",
    "DEFAULT_SERVICE",
    "DEFAULT_USERNAME",
    "Mode",
    "RegistryServer",
    "RegistryStartError",
    "bcrypt_htpasswd_line",
    "free_port",
    "registry_binary",
]
