"""What the test servers share: ``start()``/``stop()``, and ``with`` for both."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """A server a test starts and stops; ``with Server(...) as server:`` does both."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
