"""Copy agents between stores without loss: every record out to JSON Lines, and back in.

>>> from agentmem_langchain.stores import DynamoDBStore, SQLiteStore
>>> export_records(SQLiteStore("memory.db"), ["btc-agent-001"], "btc.jsonl")  # doctest: +SKIP
>>> import_records(DynamoDBStore(region="eu-west-1"), "btc.jsonl")           # doctest: +SKIP

An export holds, for each agent: its registration; every decision (outcome, consolidated
flag, ttl, tags, metadata, parent and trace links); every stored version of every pattern,
retired ones too, so ``get_pattern_history`` on the target equals the source's; the current
state with its version, and every checkpoint with its id and name; every signal the agent
published, with each target's status; and its LangGraph data: every checkpoint of every
thread ``AgentMemorySaver`` keeps (each namespace, parent and run links, serializer type,
payloads and pending writes, as base64), so ``get_tuple`` and ``list`` on the target return
what they did on the source, and every item ``AgentMemoryStore`` keeps (value, times, TTL
and stored vectors), so ``get`` and ``search`` do too. The file is UTF-8 JSON Lines: a
header (format, ``format_version`` 2, ``exported_at``, agent ids), then one
``{"kind": ..., "data": ...}`` per record, ``data`` being the model's own JSON (see
:mod:`.format` and :mod:`.langgraph_records`). Files of format version 1 (no LangGraph
data) import as they always did.

``import_records`` reads the whole file and validates every line before it writes anything:
a bad line raises ``ValidationError`` naming its line number, and the store is untouched.
It then writes decisions in batches (``put_decisions``), then registrations, patterns
(version by version, oldest first), states, checkpoints (oldest first), signals, thread
checkpoints (each thread's oldest first, with their writes) and store items. Importing the
same file again changes nothing: decisions, signals and registrations are written again
with the same values, and pattern versions, states, checkpoints, processed statuses, thread
checkpoints with their writes and store items that are already there are left alone (counted
as ``unchanged``). If the store fails halfway, what was written stays; import the file again
to finish. Once the decisions are in, the ``recommend()`` counters of each imported agent
are rebuilt from all of its stored decisions
(:func:`~agentmem_langchain.learning.evidence.rebuild_evidence`).

What does not carry over, by design or because a store cannot tell:

* **Claims.** A live claim is the lease of a consumer of the *source* store; on the target
  the signal is pending for that agent again and is delivered once more. Processed stays
  processed.
* **Broadcast statuses** are read for the exported and the registered agents only (a
  DynamoDB store keeps each consumer's status in the consumer's partition); another agent
  that processed a broadcast will see it pending on the target.
* **Expired** decisions, signals and store items are not exported (stores never return the
  first two; an item whose expiry is at or before the export's ``exported_at`` is left
  out). An item keeps its expiry time: on the target it expires when it would have on the
  source.
* **Newer data on the target wins**: a state at the exported version or newer is kept, a
  registration heard from since is kept, a store item updated on the target at the same
  time or later is kept, and a pattern version older than the target's latest one cannot
  be put into its history (counted ``unchanged``). Decisions are replaced, so an outcome
  set on the target after a first import is overwritten by a second one, and so is a
  thread checkpoint or a pending write under the same key.
* **DynamoDB** truncates captured fields of a decision too large for an item (350 KB), and
  lists checkpoints in the order they were written to it. It lists decisions and patterns
  through its indexes, which lag writes by a moment: export a store nobody is writing to.
* **A thread checkpoint too large for one line** (over ``MAX_LINE_CHARS`` with its writes
  as base64, some 24 MB) is refused by the export (``ValidationError``), as an import could
  not read it.
* **A store that keeps no threads or items** (not a ``ThreadCheckpointStore`` or
  ``NamespaceItemStore``) exports none, and refuses to import a file that holds some
  (``ValidationError``, nothing written).

``format="csv"`` writes decisions only, one row each with the columns ``CSV_COLUMNS``: a
lossy view for spreadsheets (nested values as JSON text, text that a spreadsheet would run as
a formula prefixed with ``'``). It cannot be imported.
"""

from __future__ import annotations

import csv
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NoReturn, TextIO

from pydantic import BaseModel

from ..enums import ProcessingStatus
from ..errors import StoreUnavailableError, ValidationError, _repr
from ..learning.evidence import rebuild_evidence
from ..memory import validate_agent_id
from ..models import AgentRegistration, AgentSignal, DecisionRecord, MemoryPattern, Model, utcnow
from ..stores.base import AtomicWrites, MemoryStore
from .format import (
    ALL_KINDS,
    CSV_COLUMNS,
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    MAX_LINE_CHARS,
    Header,
    Source,
    csv_row,
    header_line,
    line_reader,
    owner,
    parsed_records,
    record_line,
    validate_lines,
)
from .langgraph_records import (
    check_target,
    langgraph_records,
    put_store_item,
    put_thread_checkpoint,
)

Progress = Callable[[str, int], None]
"""Called as records are handled: ``progress(kind, handled so far of that kind)``."""

Target = str | os.PathLike[str] | TextIO
"""A path, or a text stream (open a CSV stream with ``newline=""``)."""

logger = logging.getLogger(__name__)
_PAGE = 500  # records per store read, and decisions per put_decisions


class Counts(dict[str, int]):
    """Records per kind: a key for each of ``KINDS``, and for a LangGraph kind once one is
    counted; a kind not there reads as 0."""

    def __missing__(self, kind: str) -> int:
        return 0


def _zeros() -> dict[str, int]:
    return Counts(dict.fromkeys(KINDS, 0))


@dataclass(frozen=True)
class ExportSummary:
    """What ``export_records`` wrote: ``counts`` of records per kind (the header excluded;
    a :class:`Counts`, so ``counts["store_item"]`` is 0 when there was none)."""

    format: str
    agent_ids: tuple[str, ...]
    exported_at: datetime
    counts: dict[str, int] = field(default_factory=_zeros)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ImportSummary:
    """What ``import_records`` did, per kind: records ``written``, records ``unchanged``
    because the store already had them (or something newer), and records ``skipped``: of an
    agent not chosen with ``agent_ids``, or before ``resume_from``. Each is a :class:`Counts`:
    a LangGraph kind reads as 0 until one is counted."""

    agent_ids: tuple[str, ...]
    exported_at: datetime
    written: dict[str, int] = field(default_factory=_zeros)
    unchanged: dict[str, int] = field(default_factory=_zeros)
    skipped: dict[str, int] = field(default_factory=_zeros)

    @property
    def total(self) -> int:
        return sum(self.written.values()) + sum(self.unchanged.values())


# -- export ---------------------------------------------------------------------------------


def export_records(
    store: MemoryStore,
    agent_ids: Iterable[str],
    out: Target,
    *,
    format: Literal["jsonl", "csv"] = "jsonl",
    overwrite: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ExportSummary:
    """Write every record of ``agent_ids`` to ``out`` (a path, or a text stream).

    A path must be a new file, or with ``overwrite=True`` a regular file; a directory, a
    symbolic link, a FIFO or device, and the store's own database file are refused
    (``ValidationError``, the target left as it was). The export is written to a temporary
    file (mode 0600) in the same directory and renamed over ``out`` when complete, so ``out``
    never holds a cut-off export. ``clock`` gives the header's ``exported_at``. A record whose
    line would be longer than an import reads (``MAX_LINE_CHARS``: a thread checkpoint of
    some 24 MB with its writes) raises ``ValidationError``, and a path is left as it was.

    >>> export_records(store, ["agent-1"], "agent-1.jsonl").counts["decision"]  # doctest: +SKIP
    42
    """
    agents = _agent_list(agent_ids)
    if format not in ("jsonl", "csv"):
        raise ValidationError(
            f"format: must be 'jsonl' or 'csv' (got {_repr(format)})", field="format", value=format
        )
    if isinstance(out, (str, os.PathLike)):
        check_export_target(out, store, overwrite=overwrite)
    elif not callable(getattr(out, "write", None)):
        raise ValidationError(
            f"out: expected a path or a text stream, got {type(out).__name__}", field="out"
        )
    summary = ExportSummary(format=format, agent_ids=tuple(agents), exported_at=clock())
    counts = summary.counts

    def tick(kind: str) -> None:
        counts[kind] += 1
        if progress is not None:
            progress(kind, counts[kind])

    with _opened(out) as stream:
        if format == "csv":
            _write_csv(stream, store, agents, tick)
        else:
            stream.write(header_line(summary.exported_at, agents))
            for kind, record in _records(store, agents, summary.exported_at.timestamp()):
                line = record_line(kind, record)
                if len(line.encode("utf-8")) > MAX_LINE_CHARS:
                    raise ValidationError(
                        f"a {kind} line of {len(line.encode('utf-8'))} bytes is longer than an "
                        f"import reads ({MAX_LINE_CHARS}); not exported",
                        field=kind,
                    )
                stream.write(line)
                tick(kind)
    return summary


def _agent_list(agent_ids: Iterable[str]) -> list[str]:
    if isinstance(agent_ids, str):
        raise ValidationError(
            f"agent_ids: expected a list of agent ids, got the string {agent_ids!r}",
            field="agent_ids",
            value=agent_ids,
        )
    agents = list(dict.fromkeys(validate_agent_id(a, "agent_ids") for a in agent_ids))
    if not agents:
        raise ValidationError("agent_ids: name at least one agent", field="agent_ids", value=[])
    return agents


def _records(store: MemoryStore, agents: list[str], now: float) -> Iterator[tuple[str, BaseModel]]:
    """Every record of ``agents``, agent by agent, in ``ALL_KINDS`` order (store items not
    expired at ``now``, epoch seconds)."""
    consumers = sorted({*agents, *(r.agent_id for r in store.list_agents())})
    for agent in agents:
        registration = store.get_agent(agent)
        if registration is not None:
            yield "registration", registration
        for record in _all_decisions(store, agent):
            yield "decision", record
        for pattern in _all_patterns(store, agent):
            for version in store.get_pattern_history(agent, pattern.pattern_id) or [pattern]:
                yield "pattern_version", version
        state = store.load_state(agent)
        if state is not None:
            yield "state", state
        for checkpoint in reversed(store.list_checkpoints(agent)):  # oldest first
            yield "checkpoint", checkpoint
        for signal in store.iter_published_signals(agent, consumers=consumers):
            yield "signal", signal
        yield from langgraph_records(store, agent, now)


def _all_decisions(store: MemoryStore, agent: str) -> Iterator[DecisionRecord]:
    cursor: str | None = None
    while True:
        page = store.query_decisions(agent, limit=_PAGE, cursor=cursor)
        yield from page.items
        if (cursor := page.next_cursor) is None:
            return


def _all_patterns(store: MemoryStore, agent: str) -> Iterator[MemoryPattern]:
    cursor: str | None = None
    while True:
        page = store.list_patterns(agent, include_retired=True, limit=_PAGE, cursor=cursor)
        yield from page.items
        if (cursor := page.next_cursor) is None:
            return


def check_export_target(
    out: str | os.PathLike[str], store: MemoryStore | None = None, *, overwrite: bool = False
) -> Path:
    """``out`` as a path an export may be renamed onto; ``ValidationError`` naming why not.

    Refused: no file name, a directory, a symbolic link, anything not a regular file, the
    file of ``store`` (its database, WAL or shared-memory file), and an existing file unless
    ``overwrite``.
    """
    path = Path(out)
    shown = str(out) if len(str(out)) <= 80 else str(out)[:77] + "..."

    def refuse(why: str) -> NoReturn:
        raise ValidationError(f"out: {shown!r} {why}", field="out", value=str(out))

    if not path.name or path.name in (".", ".."):
        refuse("has no file name; a file name is needed")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        refuse("is a directory; name a file")
    if mode is not None and stat.S_ISLNK(mode):
        refuse("is a symbolic link; name the file itself")
    if mode is not None and not stat.S_ISREG(mode):
        refuse("is not a regular file (a FIFO, socket or device); refusing to replace it")
    if mode is None and not path.parent.is_dir():
        refuse("is in a directory that does not exist")
    if _store_file(path, store):
        refuse("is the store's own database file; export to another file")
    if mode is not None and not overwrite:
        refuse("exists; pass --force (overwrite=True) to replace it")
    return path


def _store_file(path: Path, store: MemoryStore | None) -> bool:
    database = getattr(store, "path", None)
    if not isinstance(database, (str, os.PathLike)):
        return False
    target = os.path.realpath(path)
    return any(
        target == os.path.realpath(os.fspath(database) + suffix)
        for suffix in ("", "-wal", "-shm", "-journal")
    )


@contextmanager
def _opened(out: Target) -> Iterator[TextIO]:
    if not isinstance(out, (str, os.PathLike)):
        yield out
        return
    path = Path(out)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:  # mode 0600
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(partial)


def _write_csv(
    stream: TextIO, store: MemoryStore, agents: list[str], tick: Callable[[str], None]
) -> None:
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    for agent in agents:
        for record in _all_decisions(store, agent):
            writer.writerow(csv_row(record))
            tick("decision")


# -- import ---------------------------------------------------------------------------------


class ImportInterrupted(StoreUnavailableError):
    """An import that stopped part-way on a store that cannot roll back (DynamoDB).

    Records before ``resume_from`` (in the order the import writes them) are in the store;
    importing the file again with ``resume_from`` finishes the job (importing it again from
    the start is safe too, only slower).
    """

    def __init__(self, message: str, *, resume_from: int, total: int) -> None:
        super().__init__(message)
        self.resume_from = resume_from
        self.total = total


def import_records(
    store: MemoryStore,
    source: Source,
    *,
    agent_ids: Iterable[str] | None = None,
    resume_from: int = 1,
    progress: Progress | None = None,
) -> ImportSummary:
    """Write the records of a JSONL export (a path, or an iterable of lines) into ``store``.

    Every line is validated first, and every record must belong to an agent the header names
    (a signal to its sender); a bad line raises ``ValidationError`` naming its line number,
    and nothing is written. ``agent_ids`` imports only those of the header's agents (the
    others' records are counted in ``skipped``). A store that can roll back (SQLite, the
    in-memory store) writes everything in one transaction: all or nothing. On DynamoDB a
    failure part-way raises :class:`ImportInterrupted` with the position to pass back as
    ``resume_from`` (1-based, in write order; earlier records are skipped). A path is read
    twice (validated, then written), so it must not change meanwhile.

    >>> import_records(store, "agent-1.jsonl").written["pattern_version"]  # doctest: +SKIP
    7
    """
    read = line_reader(source)
    header, counts = validate_lines(read())
    chosen = _chosen(header, agent_ids)
    total = sum(n for (agent, _), n in counts.items() if agent in chosen)
    check_target(store, {kind for (agent, kind) in counts if agent in chosen})
    if isinstance(resume_from, bool) or not isinstance(resume_from, int):
        raise ValidationError(
            f"resume_from: expected a record number, got {resume_from!r}",
            field="resume_from",
            value=resume_from,
        )
    if not 1 <= resume_from <= total + 1:
        raise ValidationError(
            f"resume_from: must be between 1 and {total + 1} (the file holds {total} records "
            f"to import), got {resume_from}",
            field="resume_from",
            value=resume_from,
        )
    importer = _Importer(store, header, chosen, total, resume_from, progress)
    atomic = isinstance(store, AtomicWrites)
    try:
        with store.atomic() if isinstance(store, AtomicWrites) else nullcontext():
            lines = read()
            next(lines)  # the header
            for _, kind, record in parsed_records(lines, header.agent_ids, header.format_version):
                importer.add(kind, record)
            importer.finish()
    except Exception as exc:
        raise importer.failure(exc, rolled_back=atomic) from exc
    importer.recount()
    return importer.summary


def _chosen(header: Header, agent_ids: Iterable[str] | None) -> frozenset[str]:
    if agent_ids is None:
        return frozenset(header.agent_ids)
    chosen = _agent_list(agent_ids)
    strangers = [a for a in chosen if a not in header.agent_ids]
    if strangers:
        raise ValidationError(
            f"agent_ids: {', '.join(map(repr, strangers))} not in this export "
            f"(it holds {', '.join(map(repr, header.agent_ids)) or 'no agent'})",
            field="agent_ids",
            value=strangers,
        )
    return frozenset(chosen)


class _Importer:
    """Writes validated records: decisions as they come, in batches; the rest at the end.

    ``position`` counts records in the order they are written (decisions in file order, then
    registrations, pattern versions, states, checkpoints, signals, thread checkpoints, store
    items), so a stopped import can resume where it stopped.
    """

    def __init__(
        self,
        store: MemoryStore,
        header: Header,
        chosen: frozenset[str],
        total: int,
        resume_from: int,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.summary = ImportSummary(
            agent_ids=tuple(a for a in header.agent_ids if a in chosen),
            exported_at=header.exported_at,
        )
        self._chosen = chosen
        self._total = total
        self._resume_from = resume_from
        self.position = 0  # records handled (written, unchanged, or before resume_from)
        self._progress = progress
        self._decisions: list[DecisionRecord] = []
        self._wrote_decisions: set[str] = set()
        self._held: dict[str, list[Any]] = {kind: [] for kind in ALL_KINDS}
        self._versions: dict[tuple[str, str], dict[int, MemoryPattern]] = {}

    def add(self, kind: str, record: Model) -> None:
        if owner(record) not in self._chosen:
            self.summary.skipped[kind] += 1
        elif isinstance(record, DecisionRecord):
            self._decisions.append(record)
            if len(self._decisions) >= _PAGE:
                self._flush_decisions()
        elif isinstance(record, MemoryPattern):
            key = (record.agent_id, record.pattern_id)
            self._versions.setdefault(key, {})[record.version] = record
        else:
            self._held[kind].append(record)

    def finish(self) -> None:
        self._flush_decisions()
        for registration in self._held["registration"]:
            if self._due("registration"):
                self._count("registration", self._register(registration))
        for versions in self._versions.values():
            self._put_versions([versions[v] for v in sorted(versions)])
        for state in self._held["state"]:
            if self._due("state"):
                self._count("state", self.store.put_state_snapshot(state))
        for checkpoint in self._held["checkpoint"]:
            if self._due("checkpoint"):
                self._count("checkpoint", self.store.put_checkpoint(checkpoint))
        for signal in self._held["signal"]:
            if self._due("signal"):
                self._publish(signal)
                self._count("signal", True)
        for graph_checkpoint in self._held["thread_checkpoint"]:
            if self._due("thread_checkpoint"):
                written = put_thread_checkpoint(self.store, graph_checkpoint)
                self._count("thread_checkpoint", written)
        for item in self._held["store_item"]:
            if self._due("store_item"):
                self._count("store_item", put_store_item(self.store, item))

    def recount(self) -> None:
        """Rebuild the ``recommend`` counters of the agents whose decisions were written
        (derived data: a failure is logged, the import stands)."""
        for agent_id in sorted(self._wrote_decisions):
            try:
                rebuild_evidence(self.store, agent_id)
            except Exception:
                logger.warning(
                    "counters of agent %r not rebuilt after the import; "
                    "run rebuild_evidence(store, %r)",
                    agent_id,
                    agent_id,
                    exc_info=True,
                )

    def failure(self, exc: Exception, *, rolled_back: bool) -> Exception:
        """The error to raise for ``exc``, raised while writing record ``position + 1``."""
        at = self.position + 1
        cause = f"{type(exc).__name__}: {exc}"
        if rolled_back:
            return StoreUnavailableError(
                f"import failed at record {at} of {self._total} ({cause}); "
                "rolled back, nothing was written"
            )
        return ImportInterrupted(
            f"import stopped at record {at} of {self._total} ({cause}); the records before "
            f"it are in the store: import again with --resume-from {at} (resume_from={at})",
            resume_from=at,
            total=self._total,
        )

    def _due(self, kind: str) -> bool:
        """Whether the next record is to be written (False: before ``resume_from``)."""
        if self.position + 1 >= self._resume_from:
            return True
        self.position += 1
        self.summary.skipped[kind] += 1
        return False

    def _count(self, kind: str, written: bool) -> None:
        self.position += 1
        (self.summary.written if written else self.summary.unchanged)[kind] += 1
        if self._progress is not None:
            self._progress(kind, self.summary.written[kind] + self.summary.unchanged[kind])

    def _flush_decisions(self) -> None:
        batch = [d for d in self._decisions if self._due("decision")]
        self._decisions = []
        if not batch:
            return
        self.store.put_decisions(batch)
        self._wrote_decisions.update(d.agent_id for d in batch)
        self.position += len(batch)
        self.summary.written["decision"] += len(batch)
        if self._progress is not None:
            self._progress("decision", self.summary.written["decision"])

    def _register(self, registration: AgentRegistration) -> bool:
        current = self.store.get_agent(registration.agent_id)
        if current is not None and current.last_heartbeat >= registration.last_heartbeat:
            return False  # the target has heard from the agent since (or at the same time)
        self.store.register_agent(registration)
        return True

    def _put_versions(self, versions: Sequence[MemoryPattern]) -> None:
        """Replay a pattern's versions, oldest first, through ``put_pattern``; a version the
        target has, or older than its latest, is counted unchanged."""
        first = versions[0]
        stored = self.store.get_pattern_history(first.agent_id, first.pattern_id)
        have = {p.version for p in stored}
        latest = max(have) if have else None
        for version in versions:
            if not self._due("pattern_version"):
                continue
            if version.version in have or (latest is not None and version.version < latest):
                self._count("pattern_version", False)
                continue
            self.store.put_pattern(version, expected_version=latest)
            latest = version.version
            self._count("pattern_version", True)

    def _publish(self, signal: AgentSignal) -> None:
        # Stores keep each target's status when a signal is published again; only processed
        # statuses are carried over (a claim belongs to a consumer of the source store). A
        # target's status can only concern this signal, whose sender is being imported.
        self.store.publish_signal(signal)
        for agent, status in signal.processing.items():
            if status == ProcessingStatus.PROCESSED:
                self.store.mark_signal_processed(agent, signal.signal_id)


__all__ = [
    "ALL_KINDS",
    "CSV_COLUMNS",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "Counts",
    "ExportSummary",
    "ImportInterrupted",
    "ImportSummary",
    "Progress",
    "Source",
    "Target",
    "check_export_target",
    "csv_row",
    "export_records",
    "import_records",
]
