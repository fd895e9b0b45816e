"""Store calls with a deadline: a hanging store must not hang the recorder.

Each call runs on one daemon thread of its own; the caller waits up to ``timeout``. A call
still running when the next one is asked for means the store hangs: the next call fails at
once with :class:`StoreHungError` (and the recorder spills) instead of piling up threads.

>>> caller = StoreCaller("doc")
>>> caller.call(lambda a, b: a + b, (1, 2), timeout=5)
3
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from .capture import suppress_capture
from .errors import StoreUnavailableError

_Request = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]


class StoreHungError(StoreUnavailableError):
    """A store call did not return within the recorder's ``write_timeout``."""


class StoreCaller:
    """Runs store calls one at a time on a daemon thread, each with a deadline."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._busy: Future[Any] | None = None
        self._thread: threading.Thread | None = None

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        """``fn(*args)``, or ``StoreHungError`` if it (or the previous call) is still running."""
        if self._busy is not None and not self._busy.done():
            raise StoreHungError(f"store {self.name}: an earlier call has not returned")
        future: Future[Any] = Future()
        self._busy = future
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name=f"agentmem-store-{self.name}", daemon=True
            )
            self._thread.start()
        self._requests.put((fn, args, future))
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise StoreHungError(
                f"store {self.name}: no answer within {timeout} s; treating it as unavailable"
            ) from None

    def _serve(self) -> None:
        with suppress_capture():
            while True:
                fn, args, future = self._requests.get()
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)


__all__ = ["StoreCaller", "StoreHungError"]
