"""Reading JSON documents from registries and layouts into typed fields.

Every shape the specs do not allow is a :class:`~manifest_lint.errors.ContentError`,
never a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from manifest_lint.errors import ContentError
from manifest_lint.image.platforms import Platform

#: The default of an absent ``annotations`` or ``labels`` map (read-only: shared).
NO_ENTRIES: Mapping[str, str] = MappingProxyType({})


def decode_json(data: bytes, what: str) -> dict[str, Any]:
    """Decode a JSON object, turning every failure into :class:`ContentError`."""
    try:
        value = json.loads(data)
    except UnicodeDecodeError as exc:
        raise ContentError(f"{what} is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise ContentError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise ContentError(f"{what} is nested too deeply to be a manifest") from exc
    if b"\\ud" in data or b"\\uD" in data:
        # JSON's grammar allows "\ud800" alone, but that is no Unicode text: nothing could
        # print, encode or evaluate it, so the document is refused here, at the border.
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ContentError(
                f"{what} holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without "
                "its pair), which is not Unicode text"
            ) from None
        except RecursionError:
            raise ContentError(f"{what} is nested too deeply to be a manifest") from None
    if not isinstance(value, dict):
        raise ContentError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


class Fields:
    """Typed accessors over one JSON object, with messages that say where."""

    def __init__(self, obj: Mapping[str, Any], what: str) -> None:
        self.obj = obj
        self.what = what

    def _bad(self, key: str, expected: str) -> ContentError:
        return ContentError(f"{self.what}: field {key!r} must be {expected}")

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise ContentError(f"{self.what}: field {key!r} is missing")
            return default
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def integer(self, key: str, *, required: bool = False) -> int:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise ContentError(f"{self.what}: field {key!r} is missing")
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer")
        return value

    def flag(self, key: str) -> bool:
        value = self.obj.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def strs(self, key: str) -> tuple[str, ...]:
        value = self.obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        return tuple(value)

    def str_map(self, key: str) -> dict[str, str]:
        value = self.obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._bad(key, "an object of strings")
        return dict(value)

    def keys_of(self, key: str) -> tuple[str, ...]:
        """Keys of an object used as a set (``ExposedPorts``, ``Volumes``), sorted."""
        value = self.obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self._bad(key, "an object")
        return tuple(sorted(value))

    def obj_(self, key: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise ContentError(f"{self.what}: field {key!r} is missing")
            return None
        if not isinstance(value, dict):
            raise self._bad(key, "an object")
        return value

    def list_(self, key: str) -> list[Any]:
        value = self.obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value


def read_platform(obj: Mapping[str, Any], what: str) -> Platform:
    f = Fields(obj, what)
    return Platform(
        os=f.text("os", required=True),
        architecture=f.text("architecture", required=True),
        variant=f.text("variant"),
        os_version=f.text("os.version"),
        os_features=f.strs("os.features"),
    )
