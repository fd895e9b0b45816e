"""Test helpers that ship with the library: a controllable clock and an in-memory store.

``InMemoryStore`` is the reference semantics of :class:`~agentmem_langchain.stores.MemoryStore`
(every backend passes the same contract suite); use it in your own tests instead of a file
or a server, and drive time with ``FakeClock`` instead of sleeping::

    >>> from datetime import datetime, timezone
    >>> clock = FakeClock(datetime(2024, 5, 1, tzinfo=timezone.utc))
    >>> store = InMemoryStore(clock=clock)
    >>> record = DecisionRecord(agent_id="agent-1", decision_type="tool_call", ttl=1714521660)
    >>> store.put_decision(record)
    >>> store.get_decision("agent-1", record.decision_id) == record
    True
    >>> _ = clock.advance(minutes=2)
    >>> store.get_decision("agent-1", record.decision_id) is None
    True
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from .models import aware_utc, utcnow
from .stores.in_memory import InMemoryStore


class FakeClock:
    """A clock that only moves when told to; pass it as a store's ``clock``.

    >>> clock = FakeClock(datetime(2024, 5, 1, tzinfo=timezone.utc))
    >>> clock.advance(hours=1)
    datetime.datetime(2024, 5, 1, 1, 0, tzinfo=datetime.timezone.utc)

    Without ``start`` it starts at the current time (whole seconds). Naive datetimes are
    taken as UTC. Safe to read and move from several threads.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = aware_utc(start) if start is not None else utcnow().replace(microsecond=0)

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0, **timedelta_kwargs: float) -> datetime:
        """Move forward by ``seconds`` plus any ``timedelta`` keywords; returns the new time."""
        step = timedelta(seconds=seconds, **timedelta_kwargs)
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (backwards too)."""
        with self._lock:
            self._now = aware_utc(moment)

    def __repr__(self) -> str:
        return f"FakeClock({self().isoformat()})"


__all__ = ["FakeClock", "InMemoryStore"]
