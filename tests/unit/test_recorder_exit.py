"""A process that exits with records still queued: they end up in the store (or journal)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from agentmem_langchain.capture import Recorder, RecorderSettings
from agentmem_langchain.testing import InMemoryStore

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from agentmem_langchain.capture import CapturedDecision
    from agentmem_langchain.capture import Recorder, RecorderSettings
    from agentmem_langchain.testing import InMemoryStore

    class FileStore(InMemoryStore):
        '''Appends each written decision id to a file, slowly (or never, when hanging).'''

        def __init__(self, out, hang):
            super().__init__()
            self.out, self.hang = Path(out), hang

        def put_decisions(self, records):
            if self.hang:
                time.sleep(3600)
            time.sleep(0.005)
            with open(self.out, "a") as handle:
                handle.writelines(r.decision_id + "\\n" for r in records)

    out, journal, hang = sys.argv[1], sys.argv[2], sys.argv[3] == "hang"
    settings = RecorderSettings(journal_path=Path(journal), batch_size=20, exit_timeout=1.0)
    recorder = Recorder(FileStore(out, hang), settings)
    ids = []
    for _ in range(300):
        item = CapturedDecision(agent_id="agent-1", decision_type="tool_call")
        recorder.submit(item)
        ids.append(item.decision_id)
    print(json.dumps({"ids": ids, "queued": recorder.stats().queued}))
    """
)


def run_child(tmp_path: Path, mode: str) -> tuple[list[str], int, Path, Path]:
    out, journal = tmp_path / "written.txt", tmp_path / "journal.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), str(journal), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout)
    return report["ids"], report["queued"], out, journal


def test_records_queued_at_exit_are_written_before_the_process_ends(tmp_path):
    ids, queued, out, journal = run_child(tmp_path, "slow")
    assert queued > 0  # the process really did exit with work left
    assert set(out.read_text().split()) == set(ids)
    assert not journal.exists()


def test_records_a_hanging_store_never_took_are_in_the_journal_and_replay_later(tmp_path):
    ids, _, _, journal = run_child(tmp_path, "hang")
    assert journal.exists()
    store = InMemoryStore()
    restarted = Recorder(store, RecorderSettings(journal_path=journal))
    assert restarted.flush(timeout=10)
    assert {i for i in ids if store.get_decision("agent-1", i) is not None} == set(ids)


AFTER_EXIT = textwrap.dedent(
    """
    import atexit, threading

    def report():  # registered first, so it runs after the library's exit flush
        alive = [t.name for t in threading.enumerate() if t.name == "agentmem-capture"]
        print("capture thread alive at finalization:", alive, flush=True)

    atexit.register(report)

    from agentmem_langchain.capture import CapturedDecision, Recorder, RecorderSettings
    from agentmem_langchain.testing import InMemoryStore

    recorder = Recorder(InMemoryStore(), RecorderSettings(batch_size=10))
    for _ in range(500):
        recorder.submit(CapturedDecision(agent_id="agent-1", decision_type="tool_call"))
    """
)


def test_the_capture_thread_has_ended_before_the_interpreter_finalizes():
    # A daemon thread still inside a native extension when the interpreter finalizes can
    # abort the whole process ("FATAL: exception not rethrown"); exit ends it first.
    done = subprocess.run(
        [sys.executable, "-c", AFTER_EXIT], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "capture thread alive at finalization: []" in done.stdout
