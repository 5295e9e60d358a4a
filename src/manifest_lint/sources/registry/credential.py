"""A registry credential: a value whose ``repr`` never shows its secret."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credential:
    """A user name and password and/or an OAuth2 identity (refresh) token.

    ``source`` says where it was found, e.g. ``"/home/me/.docker/config.json
    auths['ghcr.io']"``; it never holds a secret. ``repr()`` and ``str()`` show
    whether a password or token is present, never its value.
    """

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    source: str = ""

    def __repr__(self) -> str:
        password = "<set>" if self.password else "<empty>"
        token = "<set>" if self.identity_token else "<empty>"
        return (
            f"Credential(username={self.username!r}, password={password}, "
            f"identity_token={token}, source={self.source!r})"
        )

    __str__ = __repr__
