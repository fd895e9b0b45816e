"""Secrets never reach the store: masked by format and by key name on every path that stores
a value, with near-misses (ids, hashes, ordinary text) left alone; store files are private.

The secret samples are generated here, in their real formats, from a fixed seed (so no
string in this file is a credential, and the corpus is the same on every run).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import stat
import string
import uuid
from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from agentmem_langchain import DecisionLogger, MemoryManager, ValidationError
from agentmem_langchain.capture import (
    CapturedDecision,
    CaptureSettings,
    Recorder,
    RecorderSettings,
    fast_id,
    recorder_for,
)
from agentmem_langchain.capture.journal import DeadLetters, Journal
from agentmem_langchain.capture.journal_entries import captured_entry, captured_rows_entry
from agentmem_langchain.capture.secrets import MASK, TextMasker
from agentmem_langchain.capture.values import LenientJSON
from agentmem_langchain.decorators import decision
from agentmem_langchain.errors import StoreUnavailableError
from agentmem_langchain.langchain.callbacks import AgentMemoryCallbackHandler
from agentmem_langchain.langchain.middleware import AgentMemoryMiddleware
from agentmem_langchain.langchain.testing import ScriptedChatModel, tool_call
from agentmem_langchain.stores.sqlite import SQLiteStore
from agentmem_langchain.testing import InMemoryStore

rng = random.Random(20)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def chars(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def aws_secret_key() -> str:
    # 40 characters of base64 with at least one "/" (as AWS prints them).
    body = chars(ALNUM, 39)
    return body[:17] + "/" + body[17:]


def pem_block() -> str:
    lines = [chars(ALNUM + "+/", 64) for _ in range(5)]
    return (
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"
    )


OPENAI = "sk-proj-" + chars(ALNUM + "-_", 48) + "9"
ANTHROPIC = "sk-ant-api03-" + chars(ALNUM + "-_", 80) + "7"
AWS_ID = "AKIA" + chars(UPPER_DIGITS, 16)
AWS_SECRET = aws_secret_key()
GITHUB = "ghp_" + chars(ALNUM, 36)
GITHUB_PAT = "github_pat_" + chars(ALNUM, 22) + "_" + chars(ALNUM, 59)
GITLAB = "glpat-" + chars(ALNUM, 20)
SLACK = f"xoxb-{chars(string.digits, 12)}-{chars(string.digits, 13)}-{chars(ALNUM, 24)}"
STRIPE = "sk_live_" + chars(ALNUM, 24)
GOOGLE = "AIza" + chars(ALNUM + "-_", 35)
NPM = "npm_" + chars(ALNUM, 36)
HUGGING_FACE = "hf_" + chars(string.ascii_letters, 34)
JWT = ".".join(
    [b64url({"alg": "HS256", "typ": "JWT"}), b64url({"sub": "1234567890"}), chars(ALNUM, 43)]
)
BEARER = chars(ALNUM, 30) + "4"
PASSWORD = "Tr0ub4dor-3x"
DSN_PASSWORD = "c0rrect-h0rse"
PEM = pem_block()

#: (kind, text as it would be captured, the secret part that must not survive)
FOUND = [
    ("openai key in a query string", f"GET /v1/models?api={OPENAI}&limit=5", OPENAI),
    ("anthropic key", f"using {ANTHROPIC} for claude", ANTHROPIC),
    ("aws access key id", f"aws_access_key_id={AWS_ID}", AWS_ID),
    ("aws access key id alone", AWS_ID, AWS_ID),
    ("aws secret key as a whole value", AWS_SECRET, AWS_SECRET),
    ("aws secret key assigned", f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    ("github token in a settings text", f"{{'repo': 'x/y', 'auth': '{GITHUB}'}}", GITHUB),
    ("github fine-grained token", GITHUB_PAT, GITHUB_PAT),
    ("gitlab token", f"PRIVATE-TOKEN: {GITLAB}", GITLAB),
    ("slack token", SLACK, SLACK),
    ("stripe key", f"stripe.api_key = '{STRIPE}'", STRIPE),
    ("google api key", f"https://maps.example.com/api?key={GOOGLE}", GOOGLE),
    ("npm token", f"//registry.npmjs.org/:_authToken={NPM}", NPM),
    ("hugging face token", f"HF_TOKEN {HUGGING_FACE}", HUGGING_FACE),
    ("jwt", f"session {JWT}", JWT),
    ("bearer header", f"Authorization: Bearer {BEARER}", BEARER),
    ("pem private key", f"key file:\n{PEM}\n", PEM.split("\n")[2]),
    (
        "password in a dsn",
        f"postgresql://trader:{DSN_PASSWORD}@db.internal:5432/prod",
        DSN_PASSWORD,
    ),
    ("password in a url", f"https://admin:{DSN_PASSWORD}@example.com/login", DSN_PASSWORD),
    ("password in a libpq dsn", f"host=db user=app password={PASSWORD} dbname=x", PASSWORD),
    ("passphrase in json text", f'{{"passphrase": "{PASSWORD}"}}', PASSWORD),
    ("client secret assigned", f"CLIENT_SECRET={DSN_PASSWORD}", DSN_PASSWORD),
]

NEAR_MISSES = [
    fast_id(),  # a ULID
    "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    str(uuid.UUID(int=rng.getrandbits(128))),
    hashlib.sha256(b"agentmem").hexdigest(),
    hashlib.sha1(b"agentmem").hexdigest(),  # also the shape of a git commit SHA
    f"commit {hashlib.sha1(b'commit').hexdigest()} by trader",
    "source_selection",
    "coinglass_primary_endpoint",
    "The market moved up 3% after the report was published today.",
    "task-force-management-plan-2024-q3-review",
    "desk-management-committee-notes-v2",
    "the bearer of bad news arrived late",
    "password reset requested for user 42",
    "max_tokens=512 temperature=0.2",
    "key: value, region: eu-west-1",
    base64.b64encode(b"hello world, this is ordinary text").decode(),
    base64.b64encode(b"thirty bytes of plain old text").decode(),
    "/usr/local/lib/python3/site/Packages2abc",
    "https://example.com/path?q=1&page=2",
    "2026-12-06T01:45:47+00:00",
    "AKIAIOSF",  # a prefix alone
    "sk-" + "learning-rate-schedule-for-adam",
]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a journal, if any, goes to a temporary folder


# -- the corpus ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "text", "secret"), FOUND, ids=[f[0] for f in FOUND])
def test_each_secret_format_is_masked(kind, text, secret):
    masked = TextMasker()(text)
    assert secret not in masked
    assert MASK in masked


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_left_alone(text):
    assert TextMasker()(text) == text


def test_a_mask_keeps_at_most_the_formats_public_prefix():
    mask = TextMasker()
    assert mask(OPENAI) == "sk-proj-***"
    assert mask(AWS_ID) == "AKIA***"
    assert mask(GITHUB) == "ghp_***"
    assert mask(f"postgres://u:{DSN_PASSWORD}@h/db") == "postgres://u:***@h/db"


def test_masking_twice_changes_nothing_more():
    for _, text, _ in FOUND:
        once = TextMasker()(text)
        assert TextMasker()(once) == once


def test_keys_named_like_secrets_are_masked_whatever_they_hold():
    names = ["private_key", "passphrase", "pwd", "Cookie", "client_secret", "X-Api-Key"]
    names += ["aws_secret_access_key", "Authorization", "session_id", "db_password"]
    converted = LenientJSON(CaptureSettings()).value(dict.fromkeys(names, "plain"))
    assert converted == dict.fromkeys(names, MASK)


def test_ordinary_keys_are_kept_even_when_a_short_secret_name_is_inside_them():
    ordinary = {"fundsnapshot": 1, "cwd": "/srv", "region": "eu", "max_retries": 3}
    assert LenientJSON(CaptureSettings()).value(ordinary) == ordinary


def test_captured_strings_are_masked_at_any_depth():
    snap = LenientJSON(CaptureSettings())
    value = {"cfg": {"urls": [f"redis://:{DSN_PASSWORD}@cache:6379"]}, "args": [SLACK]}
    stored, _ = snap.snapshot_mapping(value)
    text = json.dumps(stored)
    assert DSN_PASSWORD not in text and SLACK not in text


def test_a_secret_past_the_size_limit_is_not_left_half_visible():
    snap = LenientJSON(CaptureSettings(max_value_chars=100))
    stored, _ = snap.snapshot("x" * 90 + " " + OPENAI)
    assert OPENAI[:20] not in stored


# -- extending and turning off ------------------------------------------------------------


def test_extra_patterns_mask_their_matches_keeping_a_keep_group():
    settings = CaptureSettings(secret_patterns=(r"(?P<keep>acct-)\d{8}",))
    assert LenientJSON(settings).value("paid from acct-12345678") == "paid from acct-***"


def test_a_masker_hook_sees_every_captured_string():
    settings = CaptureSettings(masker=lambda text: text.replace("alice@example.com", "<email>"))
    value = LenientJSON(settings).value({"to": ["alice@example.com"], "note": f"use {GITHUB}"})
    assert value == {"to": ["<email>"], "note": "use ghp_***"}


def test_a_failing_masker_withholds_the_string_and_never_raises():
    def broken(text: str) -> str:
        raise RuntimeError("boom")

    assert LenientJSON(CaptureSettings(masker=broken)).value({"q": "hello"}) == {"q": MASK}


def test_masking_by_value_and_by_name_can_be_turned_off():
    off = CaptureSettings(mask_values=False, secret_keys="")
    value = {"api_key": "k", "q": f"GET ?key={OPENAI}"}
    assert LenientJSON(off).value(value) == value
    names_only = LenientJSON(CaptureSettings(mask_values=False)).value(value)
    assert names_only == {"api_key": MASK, "q": f"GET ?key={OPENAI}"}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"secret_patterns": ("(unclosed",)}, "secret_patterns"),
        ({"secret_keys": "[a-"}, "secret_keys"),
        ({"masker": "not callable"}, "masker"),
    ],
)
def test_bad_masking_options_are_a_validation_error_naming_the_option(options, field):
    with pytest.raises(ValidationError) as caught:
        CaptureSettings(**options)
    assert caught.value.field == field


# -- every storage path, on a real SQLite store --------------------------------------------


@pytest.fixture
def memory(tmp_path: Path):
    manager = MemoryManager("vault-agent", store=SQLiteStore(tmp_path / "store" / "m.db"))
    yield manager
    manager.flush(timeout=10)


def at_rest(memory: MemoryManager) -> str:
    """Everything in the store's files (database and WAL), as text."""
    assert memory.flush(timeout=10)
    assert recorder_for(memory.store).flush(timeout=10)
    path = Path(memory.store.path)  # type: ignore[attr-defined]
    files = [path, path.with_name(path.name + "-wal")]
    return "".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())


def assert_masked(memory: MemoryManager, *secrets: str) -> None:
    stored = at_rest(memory)
    for secret in secrets:
        assert secret not in stored
    assert MASK in stored


def test_decorated_calls_store_the_marker_not_the_secret(memory):
    @decision("query_execution", memory=memory)
    def fetch(url, settings, tokens, dsn, private_key, passphrase, pwd, Cookie, client_secret):
        return {"rows": 3}

    fetch(
        f"https://api.example.com/v1?key={OPENAI}",
        {"region": "us-east-1", "aws": AWS_ID, "github": GITHUB},
        ["first", SLACK],
        f"postgresql://app:{DSN_PASSWORD}@db:5432/prod",
        "pk-value-1",
        "pp-value-2",
        "pwd-value-3",
        "cookie-value-4",
        "cs-value-5",
    )
    assert_masked(memory, OPENAI, AWS_ID, GITHUB, SLACK, DSN_PASSWORD)
    assert_masked(memory, "pk-value-1", "pp-value-2", "pwd-value-3", "cookie-value-4", "cs-value")


def test_an_error_message_quoting_a_key_is_masked(memory):
    @decision("call_api", memory=memory)
    def call_api():
        raise PermissionError(f"401 for key {OPENAI}: token {JWT} expired")

    with pytest.raises(PermissionError):
        call_api()
    [record] = memory.query_decisions().items
    assert record.outcome is not None and OPENAI not in (record.outcome.error or "")
    assert_masked(memory, OPENAI, JWT)


def test_the_callback_handler_stores_the_marker_not_the_secret(memory):
    handler = AgentMemoryCallbackHandler(memory)
    chain = RunnableLambda(lambda x: {"echo": x["note"]}, name="echo")
    chain.invoke({"note": f"Bearer {BEARER}", "password": "hunter2-x"}, {"callbacks": [handler]})
    failing = RunnableLambda(lambda x: 1 / 0 if x else f"dsn {x}", name="fails")
    with pytest.raises(ZeroDivisionError):
        failing.invoke(f"redis://:{DSN_PASSWORD}@cache:6379", {"callbacks": [handler]})
    assert_masked(memory, BEARER, "hunter2-x", DSN_PASSWORD)


def test_the_middleware_stores_the_marker_not_the_secret(memory):
    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        return f"found, session {JWT}"

    model = ScriptedChatModel(
        responses=[
            tool_call("lookup", {"query": f"status with {GITHUB_PAT}"}, "c1"),
            AIMessage("done"),
        ]
    )
    agent = create_agent(model, [lookup], middleware=[AgentMemoryMiddleware(memory)])
    agent.invoke({"messages": [{"role": "user", "content": f"use {STRIPE}"}]})
    assert_masked(memory, GITHUB_PAT, JWT, STRIPE)


def test_decision_logger_contexts_rationale_and_outcome_details_are_masked(memory):
    logger = DecisionLogger(memory)
    decision_id = logger.log_decision(
        "source_selection",
        context={"market": {"feed": f"wss://u:{DSN_PASSWORD}@feed"}, "api_key": "plain-1"},
        rationale=f"picked the source reachable with {AWS_ID}",
        metadata={"note": f"Bearer {BEARER}"},
    )
    logger.log_outcome(
        decision_id,
        success=False,
        error=f"refused {ANTHROPIC}",
        client_secret="plain-2",
        response=f"Authorization: Bearer {BEARER}",
    )
    record = memory.get_decision(decision_id)
    assert record is not None and record.context.extra["api_key"] == MASK
    assert record.outcome is not None and record.outcome.details["client_secret"] == MASK
    assert_masked(memory, DSN_PASSWORD, "plain-1", AWS_ID, BEARER, ANTHROPIC, "plain-2")


def test_signal_payloads_are_masked(memory):
    memory.publish_signal(
        "rotate", {"dsn": "mysql://x", "text": f"new token {GITLAB}"}, targets=["other-agent"]
    )
    [signal] = memory.store.pending_signals("other-agent")
    assert signal.payload == {"dsn": MASK, "text": "new token glpat-***"}
    assert_masked(memory, GITLAB, "mysql://x")


class DownStore(InMemoryStore):
    def put_decisions(self, records):
        raise StoreUnavailableError("store is down")


@pytest.mark.parametrize("journal_first", [False, True])
def test_what_waits_in_the_journal_while_the_store_is_down_is_masked(tmp_path, journal_first):
    settings = RecorderSettings(
        journal_path=tmp_path / "j" / "j.jsonl", sleep=lambda s: None, journal_first=journal_first
    )
    recorder = Recorder(DownStore(), settings)
    failed = CapturedDecision(agent_id="a-1", decision_type="call", inputs={"q": f"?k={OPENAI}"})
    failed.finish(error=PermissionError(f"refused {AWS_ID}"))
    failed.freeze(settings)
    handled = CapturedDecision(agent_id="a-1", decision_type="tool_call", success=False)
    handled.error_message = f"tool said: token {GITHUB} expired"  # as a hook sets it
    handled.freeze(settings)
    recorder.submit(failed)
    recorder.submit(handled)
    assert recorder.flush(timeout=0.3) is False  # the store is down: both are journaled
    journal = "".join(f.read_text() for f in (tmp_path / "j").glob("j.jsonl*"))
    assert "a-1" in journal and MASK in journal
    for secret in (OPENAI, AWS_ID, GITHUB):
        assert secret not in journal


def test_a_captured_journal_line_masks_error_texts_a_hook_set_or_an_exception_holds():
    handled = CapturedDecision(agent_id="a-1", decision_type="tool_call", success=False)
    handled.error_message = f"tool said: token {GITHUB} expired"
    handled.frozen = True
    raised = CapturedDecision(agent_id="a-1", decision_type="call")
    raised.finish(error=PermissionError(f"refused {AWS_ID}"))
    raised.frozen = True  # journaled before its error was described
    lines = [captured_entry(handled, "s"), captured_entry(raised, "s")]
    lines.append(captured_rows_entry([handled, raised], "s"))
    text = json.dumps(lines)
    assert GITHUB not in text and AWS_ID not in text
    assert "ghp_***" in text and "AKIA***" in text


# -- private files --------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_directory_database_wal_and_shm_are_private(tmp_path):
    previous = os.umask(0o022)  # the usual umask, which would leave them readable by all
    try:
        store = SQLiteStore(tmp_path / "project" / ".agentmem" / "memory.db")
        memory = MemoryManager("perm-agent", store=store)
        DecisionLogger(memory).log_decision("custom", context={"x": 1})
        folder = tmp_path / "project" / ".agentmem"
        assert mode(tmp_path / "project") == 0o700
        assert mode(folder) == 0o700
        for name in ("memory.db", "memory.db-wal", "memory.db-shm"):
            assert mode(folder / name) == 0o600, name
    finally:
        os.umask(previous)


def test_journal_files_and_their_folders_are_private(tmp_path):
    previous = os.umask(0o022)
    try:
        folder = tmp_path / ".agentmem" / "journal"
        Journal(folder / "store.jsonl").append([{"src": "t", "units": 1, "agent": "a"}])
        DeadLetters(folder / "store.dead.jsonl").add({"x": 1}, "refused")
        assert mode(tmp_path / ".agentmem") == 0o700 and mode(folder) == 0o700
        assert mode(folder / "store.jsonl") == 0o600
        assert mode(folder / "store.dead.jsonl") == 0o600
    finally:
        os.umask(previous)
