"""The SQLite schema, as forward migrations counted by ``PRAGMA user_version``."""

from __future__ import annotations

import sqlite3

from ...errors import StoreUnavailableError
from .connection import _begun

_SCHEMA_V1 = """
CREATE TABLE decisions (
    agent_id TEXT NOT NULL, decision_id TEXT NOT NULL, ts INTEGER NOT NULL,
    decision_type TEXT NOT NULL, success INTEGER, confidence REAL, latency_ms REAL,
    is_stm INTEGER NOT NULL, consolidated INTEGER NOT NULL, ttl INTEGER,
    parent_decision_id TEXT, trace_id TEXT, body TEXT NOT NULL,
    PRIMARY KEY (agent_id, decision_id));
-- Each of the next three serves pages and also covers one part of decision_stats.
CREATE INDEX decisions_by_time
    ON decisions (agent_id, ts, decision_id, success, confidence, latency_ms, ttl);
CREATE INDEX decisions_by_type ON decisions (agent_id, decision_type, ts, decision_id, ttl);
CREATE INDEX decisions_by_latency ON decisions (agent_id, latency_ms, ts, ttl)
    WHERE latency_ms IS NOT NULL;
CREATE INDEX decisions_unconsolidated ON decisions (agent_id, ts, decision_id)
    WHERE is_stm = 1 AND consolidated = 0;
CREATE INDEX decisions_by_parent ON decisions (agent_id, parent_decision_id, ts, decision_id)
    WHERE parent_decision_id IS NOT NULL;
CREATE INDEX decisions_by_trace ON decisions (agent_id, trace_id, ts, decision_id)
    WHERE trace_id IS NOT NULL;
CREATE INDEX decisions_by_ttl ON decisions (ttl) WHERE ttl IS NOT NULL;

CREATE TABLE patterns (
    agent_id TEXT NOT NULL, pattern_id TEXT NOT NULL, version INTEGER NOT NULL,
    confidence REAL NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (agent_id, pattern_id));
CREATE INDEX patterns_by_confidence ON patterns (agent_id, confidence, pattern_id);
CREATE TABLE pattern_versions (
    agent_id TEXT NOT NULL, pattern_id TEXT NOT NULL, version INTEGER NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (agent_id, pattern_id, version));
-- Led by the grantee, so list_shared_patterns is one range of the primary key.
CREATE TABLE pattern_shares (
    grantee_agent_id TEXT NOT NULL, agent_id TEXT NOT NULL, pattern_id TEXT NOT NULL,
    PRIMARY KEY (grantee_agent_id, agent_id, pattern_id));
CREATE INDEX pattern_shares_by_pattern ON pattern_shares (agent_id, pattern_id);

CREATE TABLE agent_state (
    agent_id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
-- Ordered by (created_at, rowid): with a frozen clock the last checkpoint made is the newest.
CREATE TABLE checkpoints (
    agent_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, name TEXT,
    created_at INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (agent_id, checkpoint_id));
CREATE INDEX checkpoints_by_time ON checkpoints (agent_id, created_at);

CREATE TABLE signals (
    signal_id TEXT PRIMARY KEY, source_agent_id TEXT NOT NULL, broadcast INTEGER NOT NULL,
    priority INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER,
    body TEXT NOT NULL);
CREATE INDEX signals_by_expiry ON signals (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE signal_deliveries (
    target_agent_id TEXT NOT NULL, signal_id TEXT NOT NULL, status TEXT NOT NULL,
    lease_until INTEGER, PRIMARY KEY (target_agent_id, signal_id));
CREATE INDEX signal_deliveries_open
    ON signal_deliveries (target_agent_id, status, lease_until, signal_id);
CREATE INDEX signal_deliveries_by_signal ON signal_deliveries (signal_id);
"""

# The agent registry, one row per agent. It is small: list_agents walks it in primary-key
# order (its result order) and filters on the way, capabilities read from the body.
_SCHEMA_V2 = """
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY, last_heartbeat INTEGER NOT NULL, body TEXT NOT NULL);
"""

# iter_published_signals (an export) reads one publisher's signals in signal_id order.
_SCHEMA_V3 = """
CREATE INDEX signals_by_source ON signals (source_agent_id, signal_id);
"""

# Outcome counters of learning.evidence, one row per (agent, group), versioned.
_SCHEMA_V4 = """
CREATE TABLE evidence (
    agent_id TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (agent_id, key));
"""

# Forward migrations, each a script of statements ending in ";" at the end of a line:
# applying _MIGRATIONS[v] takes a file from user_version v to v + 1. Append; never edit one
# that has shipped.
_MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4)


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the file's schema to ``len(_MIGRATIONS)``; refuse a newer one."""
    known = len(_MIGRATIONS)

    def version() -> int:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > known:
            raise StoreUnavailableError(
                f"SQLite store: {path} has schema version {found}, but this version of "
                f"agentmem-langchain knows versions up to {known}; upgrade agentmem-langchain"
            )
        return found

    if version() == known:
        return
    with _begun(conn, "IMMEDIATE"):  # another process may be migrating the same file
        for script in _MIGRATIONS[version() :]:
            for statement in script.split(";\n"):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {known}")
