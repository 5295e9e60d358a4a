"""The one exception root of manifest-lint, and its tree.

Every error the package raises on purpose derives from :class:`ManifestLintError`
and carries structured fields; third-party exceptions are translated where the
library is imported and keep their cause (``raise ... from exc``)::

    ManifestLintError
    ├── UsageError                  bad input from the user: exit code 2
    │   ├── InvalidReferenceError   an image reference that does not parse
    │   ├── ExpressionError         a CEL expression that does not compile (column, caret)
    │   ├── PolicyError             a policy file that does not load (path, line, column)
    │   ├── ConfigError             a configuration file that does not load (path, line)
    │   │   ├── ScanError               a file scan cannot read (path, line, column)
    │   │   ├── IgnoreCommentError      a `# manifest-lint ignore=` comment that cannot be used
    │   │   └── PolicyTestError         a policy test file (*.policytest.yaml) that is malformed
    │   ├── InputError              a GitHub Action input that cannot be used as given
    │   ├── PluginError             a plugin that registers something invalid or twice
    │   └── YamlError               YAML that cannot be read (line, column); yamlfile raises
    │                               it as the error of the file read (PolicyError...)
    ├── EvaluationError             a CEL expression failed at run time (an ERROR result)
    ├── SourceError                 the image could not be read: exit code 3
    │   ├── RegistryError           the registry answered badly or not at all (url, status)
    │   │   ├── AuthenticationError     credentials refused, or a token could not be had
    │   │   ├── NotFoundError           404 / MANIFEST_UNKNOWN / BLOB_UNKNOWN
    │   │   └── RegistryUnavailableError connection refused, time-out, 5xx
    │   ├── CredentialError         a credential store or helper failed
    │   ├── IntegrityError          bytes that do not hash to the digest they were fetched by
    │   ├── ContentError            a manifest, index or config that is not usable
    │   │   ├── TooLargeError           above the size cap; never read whole
    │   │   └── UnsupportedMediaTypeError  e.g. Docker schema1
    │   └── LayoutError             an OCI image layout that is broken or hostile
    └── NotLocal                    internal, never reported: a source reading from its
                                    cache only lacks a document (the runner then reads
                                    the image again, with requests)

Messages never contain credentials: code that holds a secret must not put it
into an error.
"""

from __future__ import annotations


class ManifestLintError(Exception):
    """Base of every error manifest-lint raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ManifestLintError):
    """The user asked for something that cannot be done as asked (exit code 2)."""


class InvalidReferenceError(UsageError):
    """An image reference that does not follow the reference grammar.

    ``position`` is the 0-based index in ``reference`` where the problem is, or
    ``None`` when the problem is not at one place.
    """

    def __init__(self, reference: str, reason: str, position: int | None = None) -> None:
        where = f" at position {position + 1}" if position is not None else ""
        super().__init__(f"invalid reference {reference!r}: {reason}{where}")
        self.reference = reference
        self.reason = reason
        self.position = position


class ExpressionError(UsageError):
    """A CEL expression that does not compile or declare.

    ``line`` and ``column`` are 1-based positions inside the expression text (0
    when the backend does not say); ``detail`` is the backend's message without
    position; ``caret`` is the offending line with a ``^`` under the column.
    """

    def __init__(
        self, detail: str, *, expression: str, line: int = 0, column: int = 0, caret: str = ""
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.expression = expression
        self.line = line
        self.column = column
        self.caret = caret


class PolicyError(UsageError):
    """A policy file that cannot be loaded: names the file, line and column."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int = 0,
        column: int = 0,
        policy: str | None = None,
    ) -> None:
        where = path + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.column = column
        self.policy = policy


class ConfigError(UsageError):
    """A configuration file or option that cannot be used: names the file and line
    (``column`` is kept, not shown)."""

    #: Whether the message's ``path:line`` goes on with ``:column``.
    show_column = False

    def __init__(self, message: str, *, path: str = "", line: int = 0, column: int = 0) -> None:
        where = path + (f":{line}" if line else "")
        if line and column and self.show_column:
            where += f":{column}"
        super().__init__(f"{where}: {message}" if path else message)
        self.path = path
        self.line = line
        self.column = column


class IgnoreCommentError(ConfigError):
    """An inline exception in a scanned file (``# manifest-lint ignore=POLICY
    reason="..."``) that cannot be used: no reason, a bad date, waiving nothing. Unlike
    a file that cannot be read, this stops the run (exit code 2): a typo must not turn
    a failure into a pass, nor a waiver into a failure, unseen."""


class ScanError(ConfigError):
    """A file ``scan`` cannot read (unreadable, too large, not UTF-8, invalid YAML, an
    invalid ``# escape=`` directive); the message starts with ``path:line:column`` as
    far as they are known."""

    show_column = True


class PolicyTestError(ConfigError):
    """A policy test file that cannot be used: unknown key, unknown policy or result
    name, a missing fixture, a bad outcome word; the message starts with ``path:line``."""


class InputError(UsageError):
    """An input of the GitHub Action that cannot be used as given (exit code 2)."""


class PluginError(UsageError):
    """A plugin that registers something invalid, or a name another plugin already has."""

    def __init__(self, message: str, *, plugin: str = "") -> None:
        super().__init__(message)
        self.plugin = plugin


class YamlError(UsageError):
    """YAML that cannot be read: too large, not UTF-8, invalid, an alias where none is
    allowed; ``line``/``column`` are 1-based (0: unknown).

    :mod:`manifest_lint.yamlfile` knows no file: it raises this as the error of the
    file being read, with its path, when given one (a policy's ``PolicyError``...).
    """

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class EvaluationError(ManifestLintError):
    """A CEL expression failed at run time (no such key, wrong type, not a bool...).

    Reported as an ERROR result for that policy and image: fail closed.
    """

    def __init__(self, message: str, *, expression: str = "") -> None:
        super().__init__(message)
        self.expression = expression


class SourceError(ManifestLintError):
    """An image could not be read from its registry or layout (exit code 3).

    ``reference`` names what was being read, when known.
    """

    def __init__(self, message: str, *, reference: str | None = None) -> None:
        super().__init__(message)
        self.reference = reference


class RegistryError(SourceError):
    """A registry request failed; ``url`` and ``status`` (None for no response) say which."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message, reference=reference)
        self.url = url
        self.status = status


class AuthenticationError(RegistryError):
    """The registry refused the credentials, or no token could be obtained."""


class NotFoundError(RegistryError):
    """The repository, tag, manifest or blob does not exist."""


class RegistryUnavailableError(RegistryError):
    """The registry could not be reached, timed out, rate-limited us, or failed.

    ``transient`` errors are retried (connection errors, time-outs, 429, 502, 503,
    504, a body cut short); ``retry_after`` is the server's ``Retry-After`` in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        reference: str | None = None,
        transient: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url, status=status, reference=reference)
        self.transient = transient
        self.retry_after = retry_after


class CredentialError(SourceError):
    """A credential file, store or helper could not be read or failed."""


class IntegrityError(SourceError):
    """Bytes whose digest is not the one they were fetched by or announced with."""

    def __init__(self, message: str, *, expected: str, actual: str, reference: str | None = None):
        super().__init__(message, reference=reference)
        self.expected = expected
        self.actual = actual


class ContentError(SourceError):
    """A manifest, index or config that cannot be used (malformed, unsupported)."""


class TooLargeError(ContentError):
    """A document above the size cap; it is refused without being read whole."""

    def __init__(self, message: str, *, limit: int, reference: str | None = None) -> None:
        super().__init__(message, reference=reference)
        self.limit = limit


class UnsupportedMediaTypeError(ContentError):
    """A media type manifest-lint does not read (e.g. Docker schema1)."""

    def __init__(self, message: str, *, media_type: str, reference: str | None = None) -> None:
        super().__init__(message, reference=reference)
        self.media_type = media_type


class LayoutError(SourceError):
    """An OCI image layout (directory or archive) that is missing, broken or hostile."""

    def __init__(self, message: str, *, path: str, reference: str | None = None) -> None:
        super().__init__(message, reference=reference)
        self.path = path


class NotLocal(ManifestLintError):
    """A source told to answer from local storage only (``cache_only``, see
    :class:`manifest_lint.sources.base.CacheControls`) lacks a document.

    Internal: it never reaches a report. The runner catches it and reads the image
    again, with requests."""
