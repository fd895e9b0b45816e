"""Run dynalite (a DynamoDB-protocol server on LevelDB, from npm) on a free loopback port.

>>> with DynaliteServer() as server:                     # doctest: +SKIP
...     DynamoDBStore(endpoint_url=server.endpoint_url)

Needs ``npm ci`` at the repository root (dynalite is a devDependency in package.json).
The server listens on port 0 so the OS picks a free port (no race between choosing and
binding), and it exits by itself when this process dies: it watches its stdin, which is a
pipe from us. Known gaps of dynalite: no UpdateTimeToLive, no TransactWriteItems.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
DYNALITE = ROOT / "node_modules" / "dynalite"

# Tables become ACTIVE at once: the suite creates fresh tables for every test.
_SCRIPT = """
const dynalite = require(process.argv[1]);
const server = dynalite({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({port: server.address().port}));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
"""


class DynaliteUnavailable(RuntimeError):
    """node or the dynalite package is missing, or the server did not come up."""


class DynaliteServer:
    """One dynalite process; ``endpoint_url`` is valid between ``start()`` and ``stop()``."""

    def __init__(self, *, startup_timeout: float = 20.0) -> None:
        self._timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self.port: int | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise DynaliteUnavailable("dynalite is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynaliteServer:
        node = shutil.which("node")
        if node is None or not (DYNALITE / "index.js").exists():
            raise DynaliteUnavailable(
                "dynalite needs node and `npm ci` at the repository root "
                f"(looked for {DYNALITE / 'index.js'})"
            )
        self._process = subprocess.Popen(
            [node, "-e", _SCRIPT, str(DYNALITE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        self.port = self._read_port()
        self._wait_until_answering()
        return self

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        found: list[str] = []
        reader = threading.Thread(
            target=lambda: found.append(self._process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(self._timeout)
        if not found or not found[0].strip():
            self.stop()
            raise DynaliteUnavailable("dynalite did not report its port")
        return int(json.loads(found[0])["port"])

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self._timeout
        request = urllib.request.Request(
            self.endpoint_url,
            data=b"{}",
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(request, timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answered (unsigned requests are refused, which is an answer)
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise DynaliteUnavailable(f"dynalite did not answer on {self.endpoint_url}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # dynalite exits when its stdin ends
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> DynaliteServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_shared: DynaliteServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> DynaliteServer:
    """One server for the whole test process, started on first use, stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            server = DynaliteServer().start()
            atexit.register(server.stop)
            _shared = server
        return _shared
