"""Stage 4, store calls with a deadline: a hanging store must not hang the capture thread.

Each store's calls run on one daemon thread of its own (the only thread the pipeline has
besides the capture thread); the caller waits up to ``timeout``, doing other work meanwhile
if it passes ``while_waiting``. A call still running when the next one is asked for means
the store hangs: the next call fails at once with :class:`StoreHungError` (and the recorder
journals) instead of piling up threads.

>>> caller = StoreCaller("doc")
>>> caller.call(lambda a, b: a + b, (1, 2), timeout=5)
3
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ..errors import StoreUnavailableError
from .hook import suppress_capture

#: A store's thread ends after this long without a call (seconds); the next call starts one.
IDLE_EXIT = 60.0
#: How often a waiting caller does its other work (seconds).
_SLICE = 0.02

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
        self._lock = threading.Lock()  # the thread's start and end

    def call(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        timeout: float,
        while_waiting: Callable[[], object] | None = None,
    ) -> Any:
        """``fn(*args)``, or ``StoreHungError`` if it (or the previous call) is still running.

        ``while_waiting`` is called every :data:`_SLICE` seconds until the call returns."""
        if self._busy is not None and not self._busy.done():
            raise StoreHungError(f"store {self.name}: an earlier call has not returned")
        future: Future[Any] = Future()
        self._busy = future
        with self._lock:
            self._requests.put((fn, args, future))
            if self._thread is None:
                started = threading.Thread(
                    target=self._serve, name=f"agentmem-store-{self.name}", daemon=True
                )
                started.start()  # if this fails, the call times out and the next one retries
                self._thread = started
        deadline = time.monotonic() + timeout
        while while_waiting is not None and deadline - time.monotonic() > _SLICE:
            if wait((future,), _SLICE).done:
                break
            while_waiting()
        try:
            return future.result(max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            if future.done():
                raise  # the store's own timeout error, not ours
            raise StoreHungError(
                f"store {self.name}: no answer within {timeout} s; treating it as unavailable"
            ) from None

    def _serve(self) -> None:
        with suppress_capture():
            while True:
                try:
                    fn, args, future = self._requests.get(timeout=IDLE_EXIT)
                except queue.Empty:
                    with self._lock:
                        if self._requests.empty():
                            self._thread = None  # the next call starts a new one
                            return
                    continue
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
                del fn, args, future  # idle, this thread keeps no caller alive


__all__ = ["StoreCaller", "StoreHungError"]
