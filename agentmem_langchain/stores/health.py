"""Whether a store answers: an availability breaker shared by the backends.

A store that has just failed to answer (a timeout, a refused or dropped connection) is
marked down; until it answers again every call fails at once with
:class:`~agentmem_langchain.errors.StoreUnavailableError` instead of waiting for its own
timeout, and one daemon thread probes the store with exponential backoff.

>>> health = StoreHealth("dynamodb://us-east-1/agentmem_", probe=lambda: True)
>>> health.check("put_decision")              # passes: the store is not known to be down
>>> health.mark_down(TimeoutError("read timeout"))
>>> health.available                           # until the probe sees an answer  # doctest: +SKIP
False
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from ..errors import StoreUnavailableError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Outage:
    since: datetime  # wall time, for people
    started: float  # the health's clock, for the elapsed time
    cause: str


class StoreHealth:
    """Refuses calls at once while a store is known to be down; a probe finds out when it
    is back.

    :meth:`mark_down` (called by the backend's error translator when the store did not
    answer) makes :attr:`available` False and :meth:`check` raise ``StoreUnavailableError``
    saying since when, and starts one daemon thread that calls ``probe`` after
    ``backoff_initial`` seconds, then after twice as long each time up to ``backoff_max``,
    until ``probe()`` returns True (an exception counts as "not yet"). Then calls go through
    again. ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests; by default
    the thread waits on an event that :meth:`close` sets, so closing stops the probe.

    Thread-safe. A forked child starts with the store available and no probe thread.
    """

    def __init__(
        self,
        identity: str,
        probe: Callable[[], bool],
        *,
        backoff_initial: float = 0.25,
        backoff_max: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.identity = identity
        self._probe = probe
        self._backoff = (backoff_initial, backoff_max)
        self._clock = clock
        self._sleep = sleep
        self._closed = False
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        # A lock held by a parent's thread at fork time would never be released in the child.
        self._lock = threading.Lock()
        self._outage: _Outage | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _this_process(self) -> None:
        if self._pid != os.getpid():
            self._reset()  # the parent's outage and probe thread are not the child's

    @property
    def available(self) -> bool:
        """True unless the store is known to be down (a probe is then retrying)."""
        self._this_process()
        return self._outage is None

    @property
    def probing(self) -> bool:
        """True while the probe thread runs."""
        self._this_process()
        thread = self._thread
        return thread is not None and thread.is_alive()

    def check(self, operation: str) -> None:
        """Raise ``StoreUnavailableError`` at once if the store is known to be down."""
        self._this_process()
        outage = self._outage
        if outage is not None:
            raise StoreUnavailableError(self._describe(outage, operation))

    def mark_down(self, cause: BaseException) -> None:
        """Record that the store did not answer (``cause``) and start probing it."""
        self._this_process()
        with self._lock:
            if self._closed:
                return
            if self._outage is None:
                self._outage = _Outage(datetime.now(timezone.utc), self._clock(), _short(cause))
                logger.warning(
                    "store %s is unavailable (%s); calls fail at once until a probe answers",
                    self.identity,
                    self._outage.cause,
                )
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(
                    target=self._run,
                    args=(self._stop,),
                    name=f"agentmem-probe {self.identity}",
                    daemon=True,
                )
                try:
                    thread.start()
                except RuntimeError:  # no thread, no probe: down for good would be worse
                    self._outage = None
                    return
                self._thread = thread

    def close(self) -> None:
        """Stop probing (the thread ends after the probe call it may be in); idempotent."""
        with self._lock:
            self._closed = True
            self._stop.set()

    def _run(self, stop: threading.Event) -> None:
        delay, ceiling = self._backoff
        while True:
            if self._sleep is None:
                stop.wait(delay)
            else:
                self._sleep(delay)
            if stop.is_set():
                return
            if self._answers():
                with self._lock:
                    if self._outage is not None:
                        elapsed = self._clock() - self._outage.started
                        logger.warning(
                            "store %s answers again (down %.1f s)", self.identity, elapsed
                        )
                    self._outage = None
                    self._thread = None
                return
            delay = min(delay * 2, ceiling)

    def _answers(self) -> bool:
        try:
            return bool(self._probe())
        except Exception as exc:  # a failing probe only means "not yet"
            logger.debug("probe of store %s failed: %r", self.identity, exc)
            return False

    def _describe(self, outage: _Outage, operation: str) -> str:
        elapsed = max(0.0, self._clock() - outage.started)
        return (
            f"{operation}: store {self.identity} unavailable since "
            f"{outage.since.isoformat(timespec='seconds')} ({elapsed:.1f} s ago: {outage.cause});"
            " not attempted, a background probe is retrying"
        )


def _short(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["StoreHealth"]
