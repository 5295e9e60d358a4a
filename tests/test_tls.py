"""TLS against the real registry serving https with a certificate from a private CA.

A CA and a server certificate for ``127.0.0.1`` and ``localhost`` are made here
with ``cryptography``; the registry serves them (``http.tls``, set through the
``REGISTRY_HTTP_TLS_*`` environment overrides). An image is pushed over https
with that CA, then read back with ``main()``:

* ``--ca-file CA`` verifies it, and so do ``SSL_CERT_FILE=CA`` and
  ``SSL_CERT_DIR`` (OpenSSL's hashed directory);
* ``--ca-file`` adds to the trust store rather than replacing it;
* without the CA, or with another CA, the run fails closed: exit code 3, the
  certificate error named, one attempt, and never a fallback to plain http
  (127.0.0.1 is a loopback address, where plain http would otherwise be allowed);
* ``--insecure-registry 127.0.0.1:PORT`` skips verification;
* a ``--ca-file`` that cannot be read is a clean error, not a traceback.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from manifest_lint.cli.main import main
from tests.helpers.cli import Run, run_with_report
from tests.helpers.images import Pushed, build_manifest, push
from tests.helpers.registry_server import RegistryServer, RegistryStartError

pytestmark = pytest.mark.registry


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    ca: Path
    other_ca: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("manifest-lint test registry"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key, ca = _ca("manifest-lint test CA")
    _, other = _ca("some other CA")
    key, cert = _server_cert(ca_key, ca)
    paths = Pki(
        directory / "ca.pem",
        directory / "other-ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )
    paths.ca.write_bytes(_pem(ca))
    paths.other_ca.write_bytes(_pem(other))
    paths.cert.write_bytes(_pem(cert))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


# --------------------------------------------------------------------------- the registry


class TlsRegistryServer(RegistryServer):
    """The registry serving https; readiness is polled over https with the CA (the base
    class polls plain http, which a TLS listener answers with 400)."""

    def __init__(self, pki: Pki, **kwargs: Any) -> None:
        env = {
            "REGISTRY_HTTP_TLS_CERTIFICATE": str(pki.cert),
            "REGISTRY_HTTP_TLS_KEY": str(pki.key),
        }
        super().__init__("open", env=env, **kwargs)
        self.context = ssl.create_default_context(cafile=str(pki.ca))

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no answer"
        with httpx.Client(timeout=1.0, verify=self.context) as client:
            while True:
                assert self._proc is not None
                code = self._proc.poll()
                if code is not None:
                    raise RegistryStartError(
                        f"docker-registry exited with status {code} during start-up\n"
                        f"{self.log_tail()}"
                    )
                try:
                    if client.get(f"https://127.0.0.1:{self.port}/v2/").status_code == 200:
                        return
                except httpx.TransportError as exc:
                    last_error = repr(exc)
                if time.monotonic() > deadline:
                    raise RegistryStartError(
                        f"docker-registry did not answer https GET /v2/ ({last_error})\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.02)


@dataclass(frozen=True)
class Served:
    server: TlsRegistryServer
    pushed: Pushed

    @property
    def reference(self) -> str:
        return self.pushed.reference


@pytest.fixture(scope="module")
def served(
    pki: Pki, registry_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("registry-tls")
    server = TlsRegistryServer(pki, binary=registry_executable, directory=directory)
    with server, httpx.Client(verify=server.context, timeout=30.0) as client:
        pushed = push(
            server.url,
            "tls/app",
            build_manifest("linux/amd64", layers=1, seed="tls"),
            "1.0",
            client=client,
        )
        yield Served(server, pushed)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No inherited trust-store variables: each test sets what it means to test."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def lint(capsys: pytest.CaptureFixture[str], tmp_path: Path, reference: str, *extra: str) -> Run:
    return run_with_report(capsys, tmp_path, reference, "--select", "max-layers", *extra)


def finding(run: Run) -> dict[str, Any]:
    """The one fetch or max-layers finding of the one reference."""
    [result] = run.results
    [found] = [f for f in result["findings"] if f["policy"] in ("fetch", "max-layers")]
    return dict(found)


def assert_read(run: Run, served: Served) -> None:
    assert run.code == 0, run.out + run.err
    [result] = run.report["results"]
    assert result["digest"] == served.pushed.digest
    assert finding(run)["outcome"] == "pass"


def assert_fails_closed(run: Run, served: Served) -> None:
    assert run.code == 3, run.out
    [result] = run.report["results"]
    assert result["outcome"] == "error"
    assert result["digest"] == ""
    message = finding(run)["message"]
    assert message.startswith(
        f"TLS certificate of registry {served.server.host} could not be verified for "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert "--ca-file" in message
    # Not retried (a certificate does not get better), and never tried over plain http,
    # which would have met the TLS listener's "400 Bad Request" instead.
    assert "gave up" not in message
    assert "HTTP 400" not in message
    assert run.seconds < 10


# --------------------------------------------------------------------------- tests


def test_the_registry_speaks_only_https(served: Served) -> None:
    response = httpx.get(f"http://{served.server.host}/v2/", timeout=5)
    assert response.status_code == 400


@pytest.mark.usefixtures("clean_env")
def test_ca_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Served, pki: Pki
) -> None:
    assert_read(lint(capsys, tmp_path, served.reference, "--ca-file", str(pki.ca)), served)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_ca_file_with_either_name_in_the_certificate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Served, pki: Pki, name: str
) -> None:
    reference = served.reference.replace("127.0.0.1", name)
    run = lint(capsys, tmp_path, reference, "--ca-file", str(pki.ca))
    assert run.code == 0, run.out


@pytest.mark.usefixtures("clean_env")
def test_ssl_cert_file(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    served: Served,
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    assert_read(lint(capsys, tmp_path, served.reference), served)


@pytest.mark.usefixtures("clean_env")
def test_ssl_cert_dir(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    served: Served,
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (it makes the hashed directory)")
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(pki.ca, certs / "ca.pem")
    subprocess.run([openssl, "rehash", str(certs)], check=True, timeout=30, capture_output=True)
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))
    assert_read(lint(capsys, tmp_path, served.reference), served)


@pytest.mark.usefixtures("clean_env")
def test_ca_file_adds_to_the_trust_store_rather_than_replacing_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    served: Served,
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The registry's CA comes from SSL_CERT_FILE; --ca-file names another CA (as for a
    second, private registry in the same run): both are trusted."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    assert_read(lint(capsys, tmp_path, served.reference, "--ca-file", str(pki.other_ca)), served)


@pytest.mark.usefixtures("clean_env")
def test_without_the_ca_it_fails_closed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Served
) -> None:
    assert_fails_closed(lint(capsys, tmp_path, served.reference), served)


@pytest.mark.usefixtures("clean_env")
def test_another_ca_fails_closed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Served, pki: Pki
) -> None:
    run = lint(capsys, tmp_path, served.reference, "--ca-file", str(pki.other_ca))
    assert_fails_closed(run, served)


@pytest.mark.usefixtures("clean_env")
def test_inspect_fails_closed_too(capsys: pytest.CaptureFixture[str], served: Served) -> None:
    code = main(["inspect", "--format", "json", served.reference])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert captured.err.startswith(
        f"manifest-lint: error: TLS certificate of registry {served.server.host} could not be "
        "verified"
    )
    assert "Traceback" not in captured.err


@pytest.mark.usefixtures("clean_env")
def test_insecure_registry_skips_verification(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Served
) -> None:
    run = lint(capsys, tmp_path, served.reference, "--insecure-registry", served.server.host)
    assert_read(run, served)


@pytest.mark.usefixtures("clean_env")
def test_insecure_registry_is_per_host(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Served
) -> None:
    """Naming another port of the same address does not switch verification off."""
    other = served.server.host.replace(f":{served.server.port}", f":{served.server.port + 1}")
    run = lint(capsys, tmp_path, served.reference, "--insecure-registry", other)
    assert_fails_closed(run, served)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("problem", ["missing", "not-pem"])
def test_an_unusable_ca_file_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Served, problem: str
) -> None:
    path = tmp_path / "ca.pem"
    if problem == "not-pem":
        path.write_text("not a certificate\n")
    requests = served.server.log_text().count(' HTTP/1.1" ')
    assert requests > 0  # the access log counts requests (the push made some)
    code = main(["--ca-file", str(path), served.reference])
    err = capsys.readouterr().err
    # A usage error (exit 2) found before any request, naming the file.
    assert code == 2
    assert f"--ca-file {path}: cannot load CA certificates from it" in err
    assert served.server.log_text().count(' HTTP/1.1" ') == requests


def test_an_unusable_ssl_cert_file_is_a_clean_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = tmp_path / "missing.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(missing))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    run = lint(capsys, tmp_path, served.reference)
    assert run.code == 3
    assert f"SSL_CERT_FILE={missing}" in finding(run)["message"]


# ----------------------------------------------------------------- one context, read early


@pytest.mark.parametrize("variable", ["", "SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_the_verifying_context_trusts_what_httpx_trusts(
    variable: str, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """registry/tls.py makes httpx's default context without importing httpx; the two
    must trust the same CAs (certifi's bundle, or the one the variables name)."""
    from manifest_lint.sources.registry.tls import verified_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if variable == "SSL_CERT_FILE":
        monkeypatch.setenv(variable, str(pki.ca))
    elif variable == "SSL_CERT_DIR":
        directory = tmp_path / "certs"
        directory.mkdir()
        shutil.copy(pki.ca, directory / "ca.pem")
        subprocess.run(["openssl", "rehash", str(directory)], check=True)
        monkeypatch.setenv(variable, str(directory))
    ours = verified_context(None)
    theirs = httpx.create_ssl_context(verify=True, trust_env=True)
    assert ours.get_ca_certs(binary_form=True) == theirs.get_ca_certs(binary_form=True)
    assert (ours.verify_mode, ours.check_hostname) == (ssl.CERT_REQUIRED, True)
    if variable != "SSL_CERT_DIR":  # (a directory's CAs are loaded when first used)
        assert ours.get_ca_certs(binary_form=True)


def test_every_client_of_a_run_shares_one_context_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from manifest_lint.sources.registry import tls
    from manifest_lint.sources.registry.options import RegistryOptions
    from manifest_lint.sources.registry.registries import Registries

    made: list[ssl.SSLContext] = []
    real = tls.verified_context

    def counting(ca_file: str | None, env: Any = None) -> ssl.SSLContext:
        made.append(real(ca_file, env))
        return made[-1]

    monkeypatch.setattr(tls, "verified_context", counting)
    with Registries(RegistryOptions()) as registries:
        registries.prepare()
        registries.prepare()
        first = registries.client("registry.example.com")
        second = registries.client("other.example.com:5000")
        assert first is not second
        assert registries.tls_context() is made[0]
    assert len(made) == 1


def test_the_ca_certificates_are_read_early_only_by_runs_that_ask_registries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from manifest_lint.sources.registry.registries import Registries

    prepared: list[bool] = []
    real = Registries.prepare

    def recording(self: Registries) -> None:
        prepared.append(True)
        real(self)

    monkeypatch.setattr(Registries, "prepare", recording)
    layout = Path(__file__).resolve().parents[1] / "examples" / "multiarch"
    main(["--no-cache", f"oci:{layout}:1.0"])
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM 127.0.0.1:9/x:1\n")
    main(["scan", "--offline", str(dockerfile)])
    assert prepared == []
    main(["--no-cache", "--timeout", "2", "127.0.0.1:9/x:1"])  # a closed port: an error
    capsys.readouterr()
    assert prepared
