"""``SQLiteStore``: the embedded default store, one SQLite file shared by threads and processes.

::

    with SQLiteStore("memory.db") as store:  # None: $AGENTMEM_SQLITE_PATH or .agentmem/memory.db
        store.put_decision(DecisionRecord(agent_id="a1", decision_type="tool_call"))

How it keeps the ``MemoryStore`` promises:

* **Threads and processes.** Each thread gets its own connection, opened on first use. The
  file is in WAL mode, so readers never wait for a writer. Every write runs in
  ``BEGIN IMMEDIATE``, which takes SQLite's write lock before reading, so read-modify-writes
  (claims, conditional saves, outcomes) never interleave, in one process or several; a
  writer waits up to ``timeout`` seconds for the lock, then raises ``StoreUnavailableError``.
* **Durability.** ``synchronous=NORMAL``: in WAL mode a returned write survives the crash of
  any process; only an OS crash or power loss can lose the last commits.
* **Schema.** ``PRAGMA user_version`` counts the migrations applied; opening a file applies
  the missing ones in order and refuses a file written by a newer version of the library.
* **Errors.** Only ``_translated`` sees ``sqlite3`` errors; it raises ``StoreUnavailableError``.

Each model is stored as its JSON (``body``) beside the scalar columns its queries need; times
are integer microseconds (``_common.to_micros``). ``":memory:"`` is refused: every thread's
connection would see a different, empty database; use a file in a temporary directory.

The modules, each importing only those listed before it:

* ``connection`` -- the file path (``PATH_ENV_VAR``, ``DEFAULT_PATH``), one connection per
  thread in WAL mode, transactions (``_begun``) and the translation of ``sqlite3`` errors.
* ``schema`` -- the tables and indexes, as forward migrations (``_MIGRATIONS``), and
  ``_migrate``, which applies the missing ones when a file is opened.
* ``core`` -- ``_StoreBase``, the transaction helper every part of the store shares, and
  the paging and argument helpers (cursors, limits, labels).
* ``decisions`` -- ``_DecisionsMixin``: decision writes, pages, lineage, and
  ``decision_stats`` computed inside SQLite; the decision row format (``_decision_row``).
* ``patterns`` -- ``_PatternsMixin``: versioned patterns, their history and shares.
* ``state`` -- ``_StateMixin``: agent state saved by version, checkpoints and rollback.
* ``signals`` -- ``_SignalsMixin``: publishing, per-agent deliveries, claims and leases.
* ``registry`` -- ``_RegistryMixin``: agent registrations and heartbeats.
* ``store`` -- ``SQLiteStore``, the mixins combined: opening, closing, identity and
  ``purge_expired``.
"""

from __future__ import annotations

# Private names that tests and tools reach through this package keep working from here.
from .connection import DEFAULT_PATH, PATH_ENV_VAR
from .decisions import _UPSERT_DECISION as _UPSERT_DECISION
from .decisions import _decision_row as _decision_row
from .schema import _MIGRATIONS as _MIGRATIONS
from .schema import _SCHEMA_V1 as _SCHEMA_V1
from .schema import _SCHEMA_V2 as _SCHEMA_V2
from .schema import _SCHEMA_V3 as _SCHEMA_V3
from .store import SQLiteStore

__all__ = ["DEFAULT_PATH", "PATH_ENV_VAR", "SQLiteStore"]
