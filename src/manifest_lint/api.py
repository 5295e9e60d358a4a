"""The public plugin API: everything a plugin builds or reads, in one import.

::

    from manifest_lint.api import STRING, BOOL, CelFunction, hookimpl

These names are the plugin contract (docs/plugins.md documents each one, and a test
fails if one disappears or goes undocumented); every other module of the package is
internal and may move. The hooks themselves are specified in
:mod:`manifest_lint.plugin.hookspecs`.

What each hook's ``register`` takes:

* ``manifest_lint_register_sources``: a name and a :data:`SourceOpener`, which is
  called with a :class:`Reference` and the run's :class:`Registries` and returns a
  :class:`Source`: its ``resolve()`` returns :class:`Fetched`, its ``fetch()`` is
  given a :class:`Descriptor`;
* ``manifest_lint_register_policies``: a :class:`Policy` (:func:`parse_policies`
  reads them from YAML text) or the path of a policy file or directory;
* ``manifest_lint_register_functions``: a :class:`CelFunction`, its parameter and
  result types declared with the :class:`CelType` constants (``STRING``, ``INT``...)
  and :func:`list_of` / :func:`map_of`;
* ``manifest_lint_register_cel_backends``: a name and a factory of a
  :class:`CelBackend`, whose programs (:class:`CelProgram`) evaluate an
  :class:`Activation` or plain values and raise :class:`ExpressionError` /
  :class:`EvaluationError`;
* ``manifest_lint_register_reporters``: a name and a :data:`ReporterFactory`, called
  with a stream and the :class:`RunInfo` (its :class:`PolicyInfo` and fail-on
  :class:`Severity`); the :class:`Reporter` it returns is given each
  :class:`ReferenceResult` (its :class:`Finding` values, each with an
  :class:`Outcome` and a :class:`Severity`; its :class:`Location`) and at the end
  the :class:`Summary`; text for people goes through :func:`escape`.

Nothing inside manifest-lint imports this module (an import-linter contract in
``pyproject.toml``): it only re-exports.
"""

from __future__ import annotations

from manifest_lint.cel import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    LIST,
    MAP,
    NULL,
    STRING,
    TIMESTAMP,
    UINT,
    Activation,
    CelBackend,
    CelFunction,
    CelProgram,
    CelType,
    CelTypeLike,
    list_of,
    map_of,
)
from manifest_lint.cel.base import SharesActivations
from manifest_lint.errors import EvaluationError, ExpressionError
from manifest_lint.image.model import Descriptor
from manifest_lint.image.reference import Reference
from manifest_lint.image.statements import Statement
from manifest_lint.image.supply_chain import (
    Attested,
    FetchBlob,
    Referrer,
    Signature,
    Verification,
    Verifier,
)
from manifest_lint.plugin.hookspecs import hookimpl
from manifest_lint.policy.files import Policy, parse_policies
from manifest_lint.reporters import Reporter, ReporterFactory, RunInfo
from manifest_lint.reporters.escape import escape
from manifest_lint.results import (
    Finding,
    Location,
    Outcome,
    PolicyInfo,
    ReferenceResult,
    Severity,
    Summary,
)
from manifest_lint.sources.base import (
    CacheControls,
    Fetched,
    Locality,
    Referrers,
    Source,
    SourceOpener,
)
from manifest_lint.sources.registry.registries import Registries

__all__ = [
    "BOOL",
    "BYTES",
    "DOUBLE",
    "DURATION",
    "DYN",
    "INT",
    "LIST",
    "MAP",
    "NULL",
    "STRING",
    "TIMESTAMP",
    "UINT",
    "Activation",
    "Attested",
    "CacheControls",
    "CelBackend",
    "CelFunction",
    "CelProgram",
    "CelType",
    "CelTypeLike",
    "Descriptor",
    "EvaluationError",
    "ExpressionError",
    "FetchBlob",
    "Fetched",
    "Finding",
    "Locality",
    "Location",
    "Outcome",
    "Policy",
    "PolicyInfo",
    "Reference",
    "ReferenceResult",
    "Referrer",
    "Referrers",
    "Registries",
    "Reporter",
    "ReporterFactory",
    "RunInfo",
    "Severity",
    "SharesActivations",
    "Signature",
    "Source",
    "SourceOpener",
    "Statement",
    "Summary",
    "Verification",
    "Verifier",
    "escape",
    "hookimpl",
    "list_of",
    "map_of",
    "parse_policies",
]
