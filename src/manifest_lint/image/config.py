"""The image configuration (OCI's ``config.v1+json`` and Docker's): platform, labels,
user, history, read from verified bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from manifest_lint.errors import ContentError
from manifest_lint.image import media_types as mt
from manifest_lint.image.json_fields import NO_ENTRIES, Fields, decode_json
from manifest_lint.image.platforms import Platform


class HistoryEntry(NamedTuple):
    created: str = ""
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False


_HISTORY_KEYS = frozenset(("created", "created_by", "author", "comment", "empty_layer"))


def _plain_history(entry: Any) -> HistoryEntry | None:
    """A history entry whose fields all have their types, read directly (an image has
    tens: this is most of reading its configs); None sends it the checked way."""
    if type(entry) is not dict or not entry.keys() <= _HISTORY_KEYS:
        return None
    get = entry.get
    created, created_by = get("created", ""), get("created_by", "")
    author, comment, empty_layer = get("author", ""), get("comment", ""), get("empty_layer", False)
    if (
        type(created) is str
        and type(created_by) is str
        and type(author) is str
        and type(comment) is str
        and type(empty_layer) is bool
    ):
        return HistoryEntry(created, created_by, author, comment, empty_layer)
    return None


class ImageConfig(NamedTuple):
    digest: str
    media_type: str
    architecture: str = ""
    os: str = ""
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()
    created: str = ""
    author: str = ""
    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    workdir: str = ""
    labels: Mapping[str, str] = NO_ENTRIES
    stop_signal: str = ""
    history: tuple[HistoryEntry, ...] = ()
    rootfs_type: str = ""
    diff_ids: tuple[str, ...] = ()
    raw: bytes = b""

    @classmethod
    def from_json(cls, data: bytes, *, digest: str, media_type: str, what: str) -> ImageConfig:
        obj = decode_json(data, what)
        f = Fields(obj, what)
        run = Fields(f.obj_("config") or {}, f"{what}.config")
        rootfs = Fields(f.obj_("rootfs") or {}, f"{what}.rootfs")
        history = []
        for i, entry in enumerate(f.list_("history")):
            plain = _plain_history(entry)
            if plain is not None:
                history.append(plain)
                continue
            if not isinstance(entry, dict):
                raise ContentError(f"{what}.history[{i}] must be an object")
            h = Fields(entry, f"{what}.history[{i}]")
            history.append(
                HistoryEntry(
                    created=h.text("created"),
                    created_by=h.text("created_by"),
                    author=h.text("author"),
                    comment=h.text("comment"),
                    empty_layer=h.flag("empty_layer"),
                )
            )
        return cls(
            digest=digest,
            media_type=mt.base(media_type),
            architecture=f.text("architecture"),
            os=f.text("os"),
            variant=f.text("variant"),
            os_version=f.text("os.version"),
            os_features=f.strs("os.features"),
            created=f.text("created"),
            author=f.text("author"),
            user=run.text("User"),
            env=run.strs("Env"),
            entrypoint=run.strs("Entrypoint"),
            cmd=run.strs("Cmd"),
            exposed_ports=run.keys_of("ExposedPorts"),
            volumes=run.keys_of("Volumes"),
            workdir=run.text("WorkingDir"),
            labels=run.str_map("Labels"),
            stop_signal=run.text("StopSignal"),
            history=tuple(history),
            rootfs_type=rootfs.text("type"),
            diff_ids=rootfs.strs("diff_ids"),
            raw=data,
        )

    @property
    def platform(self) -> Platform | None:
        if not self.os or not self.architecture:
            return None
        return Platform(self.os, self.architecture, self.variant, self.os_version, self.os_features)
