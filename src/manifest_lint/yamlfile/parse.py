"""The YAML reader: PyYAML's safe loader, made to keep positions and refuse aliases.

Imported only when a YAML text has to be parsed (PyYAML's import is a tenth of an
offline pre-commit run); :mod:`manifest_lint.yamlfile` is the interface. Raises
:class:`~manifest_lint.errors.YamlError`.

Two places differ from PyYAML, to read YAML as the specifications say:

* an anchor defined again (``&name`` twice) applies from its new definition on
  (YAML 1.2, 3.2.2.2); PyYAML's composer refuses the second one;
* merge keys (``<<``, https://yaml.org/type/merge.html) are merged when a mapping is
  constructed: the keys written in the mapping win over merged ones, and of
  ``<<: [*a, *b]`` the earlier mapping wins. A key written twice is still an error,
  ``<<`` included. PyYAML concatenates the merged pairs (so its ``construct_mapping``
  saw an overridden key twice), and each merged mapping is built once here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from manifest_lint.errors import YamlError
from manifest_lint.yamlfile.located import LocatedDict, LocatedList, YamlDocument

#: What PyYAML's constructors raise for values they cannot read (``!!int ''``...).
_CONSTRUCTOR_ERRORS = (ValueError, TypeError, AttributeError, OverflowError, LookupError)


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_TYPED_KEY_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "null", "timestamp")
)


class _Composer(yaml.composer.Composer):
    """PyYAML's composer, refusing aliases unless allowed and letting an anchor be
    defined again; mixed into both loaders (over libyaml's events in the fast one)."""

    #: Aliases (``*name``) are refused unless allowed: policies and configuration never
    #: need them, and they are how "billion laughs" documents grow.
    allow_aliases = False
    # Given by the parser it is mixed with (PyYAML's or libyaml's); declared, not set.
    check_event: Callable[..., bool]
    peek_event: Callable[[], Any]

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            if not self.allow_aliases:
                event = self.peek_event()
                raise YamlError(
                    "YAML aliases (*name) are not allowed here",
                    event.start_mark.line + 1,
                    event.start_mark.column + 1,
                )
        else:
            # An anchor defined again replaces the earlier one from here on: forgotten
            # before PyYAML looks, it records the new node as it composes it.
            self.anchors.pop(self.peek_event().anchor, None)
        return super().compose_node(parent, index)


class _Located(yaml.constructor.SafeConstructor):
    """Constructors that record positions; mixed into a PyYAML or a libyaml loader."""

    #: Read unquoted keys as the text written (a workflow's ``on:`` is "on", not True).
    keys_as_text = False
    lines: list[str]

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except _CONSTRUCTOR_ERRORS as exc:
            # PyYAML's scalar constructors (!!timestamp, !!int, !!float...) raise these
            # for values they cannot read; give them a position like any YAML error.
            raise YamlError(
                f"invalid YAML: cannot read this {node.tag.rpartition(':')[2]} value "
                f"({type(exc).__name__}: {exc})",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            ) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep)
        result = LocatedDict()
        result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
        result.key_positions = {}
        result.value_positions = {}
        result.value_styles = {}
        # The keys written here first, so that a merged key knows whether one wins over it.
        written: list[tuple[str, Any, Any] | list[LocatedDict]] = []
        keys: set[str] = set()
        merge_node = None
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                if merge_node is not None:
                    raise YamlError(
                        "duplicate key '<<' (merge several mappings with <<: [*a, *b])",
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                merge_node = key_node
                written.append(self._merged(value_node))
                continue
            key = self._key(key_node)
            if key in keys:
                raise YamlError(
                    f"duplicate key {key!r}",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            keys.add(key)
            written.append((key, key_node, value_node))
        for entry in written:
            if isinstance(entry, list):
                for merged in entry:  # earlier mappings first: the first one to set a key wins
                    for key, value in merged.items():
                        if key not in keys:
                            keys.add(key)
                            result[key] = value
                            result.key_positions[key] = merged.key_positions[key]
                            result.value_positions[key] = merged.value_positions[key]
                            if key in merged.value_styles:
                                result.value_styles[key] = merged.value_styles[key]
                continue
            key, key_node, value_node = entry
            result[key] = self.construct_object(value_node, deep=True)
            result.key_positions[key] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result.value_positions[key] = _value_start(value_node, self.lines)
            if isinstance(value_node, yaml.ScalarNode):
                result.value_styles[key] = value_node.style
        return result

    def _key(self, key_node: Any) -> str:
        if key_node.tag == _VALUE_TAG or (
            self.keys_as_text
            and isinstance(key_node, yaml.ScalarNode)
            and key_node.tag in _TYPED_KEY_TAGS
        ):
            key_node.tag = _STR_TAG  # (a ``=`` key is the text "=", as in PyYAML)
        key = self.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise YamlError(
                f"mapping keys must be strings, not {key!r}",
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
        return key

    def _merged(self, value_node: Any) -> list[LocatedDict]:
        """The mappings a ``<<`` key merges, each constructed once (an alias is the
        mapping already built), in the order they win."""
        nodes = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        merged = []
        for merge in nodes:
            value = self.construct_object(merge, deep=True)
            if not isinstance(merge, yaml.MappingNode) or not isinstance(value, LocatedDict):
                raise YamlError(
                    "a merge key (<<) takes a mapping or a list of mappings",
                    merge.start_mark.line + 1,
                    merge.start_mark.column + 1,
                )
            merged.append(value)
        return merged

    def construct_sequence(self, node: Any, deep: bool = False) -> Any:
        result = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
        result.item_positions = [
            (child.start_mark.line + 1, child.start_mark.column + 1) for child in node.value
        ]
        return result


def _value_start(node: Any, lines: list[str]) -> tuple[int, int]:
    """1-based line and column where a value starts; for a block scalar (``|``, ``>``)
    its first content line and indentation, since its text starts there, not at the
    indicator (an explicit indentation indicator is not taken into account)."""
    mark = node.start_mark
    if not (isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")):
        return mark.line + 1, mark.column + 1
    for number in range(mark.line + 1, min(node.end_mark.line + 1, len(lines))):
        text = lines[number].rstrip("\r\0")
        if text.strip():
            return mark.line + 2, len(text) - len(text.lstrip(" ")) + 1
    return mark.line + 2, 1


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _Composer,
    _Located,
    yaml.resolver.Resolver,
):
    """The pure-Python loader: the clearest syntax errors. For policy and configuration
    files (small)."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _Composer.__init__(self)
        _Located.__init__(self)
        yaml.resolver.Resolver.__init__(self)


def _fast_loader() -> type[Any]:
    """A loader on libyaml's parser when PyYAML has it (about 10x faster on large files;
    terser syntax errors), else the Python one. For files being scanned for references."""
    if not getattr(yaml, "__with_libyaml__", False):  # pragma: no cover - PyPI wheels have it
        return _Loader
    parser: Any = importlib.import_module("yaml._yaml").CParser

    # libyaml parses; the nodes are composed by _Composer (before the parser in the
    # order, so its check_node/get_node are used), which libyaml's own composer cannot
    # be made to do. Measured on a generated 5.3 MB install.yaml: 0.98 s against 0.87 s
    # with libyaml's composer, 4.4 s all in Python.
    class _FastLoader(_Composer, parser, _Located, yaml.resolver.Resolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            parser.__init__(self, stream)
            _Composer.__init__(self)
            _Located.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    return _FastLoader


_FastLoader = _fast_loader()


for _cls in (_Loader, _FastLoader):
    _cls.add_constructor("tag:yaml.org,2002:map", _Located.construct_mapping)  # type: ignore[type-var]  # the mixin's method
    _cls.add_constructor("tag:yaml.org,2002:seq", _Located.construct_sequence)  # type: ignore[type-var]  # likewise


def parse(
    text: str, *, allow_aliases: bool = False, keys_as_text: bool = False, fast: bool = False
) -> Iterator[YamlDocument]:
    """What :func:`manifest_lint.yamlfile.load_all` returns, read by PyYAML."""
    try:
        _reject_unreadable(text)
        loader: Any = _FastLoader(text) if fast else _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses characters YAML cannot hold
        raise YamlError("invalid YAML: " + " ".join(str(exc).split())) from None
    loader.allow_aliases = allow_aliases
    loader.keys_as_text = keys_as_text
    loader.lines = text.split("\n")
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node() said there is one
                break
            value = loader.construct_document(node)
            if value is not None:
                yield YamlDocument(value, node.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(
            f"invalid YAML: {problem}",
            mark.line + 1 if mark else 0,
            mark.column + 1 if mark else 0,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlError("YAML nested too deeply") from None
    except _CONSTRUCTOR_ERRORS as exc:  # from a constructor run outside construct_object
        raise YamlError(f"invalid YAML: {type(exc).__name__}: {exc}") from None
    finally:
        loader.dispose()


def _reject_unreadable(text: str) -> None:
    """What PyYAML's pure-Python reader refuses, checked before libyaml sees it (which
    would otherwise fail on lone surrogates while encoding the text)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise yaml.YAMLError(
            f"unacceptable character #x{ord(text[exc.start]):04x}: special characters "
            "are not allowed"
        ) from None
