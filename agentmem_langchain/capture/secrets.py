"""Secrets found by their format in captured text, masked to ``***`` behind a short prefix.

One combined, pre-compiled pattern finds the common formats: OpenAI- and Anthropic-style
``sk-`` keys, AWS access key ids (``AKIA…``), GitHub, GitLab, Slack, Stripe, Google, npm and
Hugging Face tokens, JWTs, ``Bearer …`` credentials, PEM private-key blocks, the password of
a URL or DSN (``postgres://user:***@host``) and ``password=…``-style assignments in text; an
AWS secret access key is found when a string is one (inside a text, by the name before it).
A match keeps at most the format's public prefix (``sk-proj-***``, ``AKIA***``, ``ghp_***``);
what only looks like a secret (a 40-character git SHA, a ULID, a UUID, a hash) is left
alone. Mapping keys are masked by name elsewhere
(:data:`~agentmem_langchain.capture.values.DEFAULT_SECRET_KEYS`); this module looks at values.

>>> mask = TextMasker()
>>> mask("GET /v1?key=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z")
'GET /v1?key=sk-proj-***'
>>> mask("postgres://app:hunter2@db:5432/prod")
'postgres://app:***@db:5432/prod'
>>> mask("commit 3f786850e387550fdab836ed7e6dc881de23001b")
'commit 3f786850e387550fdab836ed7e6dc881de23001b'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import ValidationError

MASK = "***"
#: A text shorter than this holds no secret any pattern here finds (``pwd=abc1`` is 8).
SHORTEST = 8
#: What nested data :func:`mask_data` walks into (deeper values are kept as they are).
MAX_DEPTH = 32

#: Names whose assignment in text (``password=…``, ``"api_key": "…"``) masks the value: the
#: text before a ``:`` or ``=`` ends with one of them, in any case, words joined by
#: ``_``, ``-`` or nothing (``client_secret``, ``aws-secret-access-key``, ``DB_PASSWORD``).
_ASSIGNED_NAMES = tuple(
    name.replace(" ", joint)
    for name in (
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secret key",
        "secret access key",
        "private key",
        "api key",
        "access token",
        "auth token",
        "refresh token",
        "session token",
    )
    for joint in ("_", "-", "")
)
_NAME_WINDOW = 48  # how far before the ``:`` or ``=`` a name is looked for

# Every alternative starts with one literal character, and these are rare in prose
# (``- _ : = A B J``): the regex engine skips ahead to where a match can start and tries only
# that character's alternatives (a leading group or character class would make it try every
# alternative at every position). A format's prefix is then checked behind that character
# (``_(?<=…ghp_)``), with the rule that no letter or digit comes before it. Each alternative
# ends with one named group, the part masked: the text before the group is kept.
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9])"
_AFTER_NAME = "(?:(?<=[dDeEnNtTyY\"']{0})|(?<=[dDeEnNtTyY\"'] {0}))"
_VALUE = r"(?![\"'*\s])[^\s\"'&,;)}\]]+"
_PATTERNS = (
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"
    r"(?P<pem>(?!\*\*\*)[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z))",
    r"-(?<=(?<![A-Za-z0-9_-])sk-)(?:proj-|ant-|svcacct-|admin-)?(?P<sk>[A-Za-z0-9_-]{20,})",
    rf"_(?<={_NOT_AFTER_WORD}[sr]k_(?:live|test)_)(?P<stripe>[A-Za-z0-9]{{16,}})",
    r"A(?:KIA|SIA|IDA|ROA|GPA|NPA|NVA|PKA|BIA|CCA)(?P<akid>[A-Z0-9]{16})(?![A-Za-z0-9])",
    r"AIza(?P<google>[A-Za-z0-9_-]{35})",
    rf"_(?<={_NOT_AFTER_WORD}gh[pousr]_)(?P<github>[A-Za-z0-9_]{{30,}})",
    rf"_(?<={_NOT_AFTER_WORD}github_pat_)(?P<github_pat>[A-Za-z0-9_]{{30,}})",
    rf"-(?<={_NOT_AFTER_WORD}gl(?:pat|ptt|oas)-)(?P<gitlab>[A-Za-z0-9_-]{{20,}})",
    rf"-(?<={_NOT_AFTER_WORD}gl(?:dt|rt)-)(?P<gitlab_2>[A-Za-z0-9_-]{{20,}})",
    rf"-(?<={_NOT_AFTER_WORD}xox[abposre]-)(?P<slack>[A-Za-z0-9-]{{10,}})",
    rf"-(?<={_NOT_AFTER_WORD}xapp-)(?P<slack_app>[A-Za-z0-9-]{{10,}})",
    rf"_(?<={_NOT_AFTER_WORD}npm_)(?P<npm>[A-Za-z0-9]{{36}})",
    rf"_(?<={_NOT_AFTER_WORD}hf_)(?P<hf>[A-Za-z]{{30,}})",
    r"J(?<=(?<![A-Za-z0-9_-])eyJ)"
    r"(?P<jwt>[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
    r"Bearer[ \t]+(?P<bearer>[A-Za-z0-9._~+/-]{12,}=*)",
    r"://[^\s:/@?#]*:(?P<dsn>[^\s@/?#]+)(?=@)",
    # After a ``:`` or ``=``: masked if a secret's name comes before it (see _is_secret).
    # Every name ends in d, e, n, t or y, maybe quoted, maybe a space before the separator:
    # anything else (``08:00``, ``x == 1``) is passed over here, not in Python.
    rf":{_AFTER_NAME.format(':')}[ \t]*[\"']?(?P<assigned>{_VALUE})",
    rf"={_AFTER_NAME.format('=')}[ \t]*[\"']?(?P<assigned_eq>{_VALUE})",
)


def _by_first_character(patterns: Sequence[str]) -> str:
    # One alternative per first character: the engine tries one branch, not all, where a
    # character can start a match.
    groups: dict[str, list[str]] = {}
    for pattern in patterns:
        groups.setdefault(pattern[0], []).append(pattern[1:])
    return "|".join(
        re.escape(first) + (rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")")
        for first, rests in groups.items()
    )


_COMBINED = re.compile(_by_first_character(_PATTERNS))
#: Formats starting with a letter: no letter or digit may come before them.
_BOUNDED = frozenset({"akid", "google"})
_search = _COMBINED.search
#: 40 base64 characters: the format of an AWS secret access key (checked further). Looked
#: for only in a string that is one (an argument, a list item): anywhere in a text, a
#: search for it costs several times all the other formats (a value after
#: ``aws_secret_access_key=`` is masked by its name).
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


#: Checks a match's secret part must pass (formats that ordinary text can also take).
_PLAUSIBLE: dict[str, Callable[[str], bool]] = {
    "sk": _has_digit,
    "bearer": _has_digit,
}


def _is_secret(match: re.Match[str], kind: str) -> bool:
    """Whether a match of the combined pattern is a secret (the checks a regex cannot make)."""
    text, start = match.string, match.start()
    if kind == "assigned" or kind == "assigned_eq":
        named = text[max(0, start - _NAME_WINDOW) : start].rstrip(" \t\"'").lower()
        return named.endswith(_ASSIGNED_NAMES)
    if kind in _BOUNDED and start and (text[start - 1].isalnum() or text[start - 1] in "_-"):
        return False
    check = _PLAUSIBLE.get(kind)
    return check is None or check(text[match.start(kind) : match.end()])


def _mask_formats(text: str) -> str:
    match = _search(text)
    if match is None:
        return text
    out: list[str] = []
    done = 0
    while match is not None:
        kind = match.lastgroup or ""
        if _is_secret(match, kind):
            out.append(text[done : match.start(kind)])
            out.append(MASK)
            done = match.end()
            match = _search(text, done)
        else:  # not a secret: what it spans may still hold one (``auth: Bearer …``)
            match = _search(text, match.start() + 1)
    out.append(text[done:])
    return "".join(out)


def _aws_secret(text: str) -> bool:
    # Any 40 characters of base64 fit the format; a real key mixes cases and digits and has a
    # / or + (a git SHA or a hex digest has no upper case; a path starts with /).
    return (
        _AWS_SECRET.fullmatch(text) is not None
        and ("/" in text or "+" in text)
        and not text.startswith("/")
        and not text.isupper()
        and not text.islower()
        and _has_digit(text)
    )


class TextMasker:
    """``mask(text) -> text`` with every secret found by format masked (never raises).

    ``patterns``: extra regular expressions whose matches are masked too (a group named
    ``keep`` is kept, as a prefix); ``masker``: a function applied to each text afterwards
    (if it raises, the text is withheld: ``***``); ``by_value=False`` turns the built-in
    formats off (the extra patterns and ``masker`` still apply).

    >>> TextMasker(patterns=[r"(?P<keep>acct-)\\d{6}"])("paid by acct-123456")
    'paid by acct-***'
    """

    __slots__ = ("_by_value", "_extra", "_masker")

    def __init__(
        self,
        patterns: Sequence[str] = (),
        masker: Callable[[str], str] | None = None,
        *,
        by_value: bool = True,
    ) -> None:
        self._by_value = by_value
        self._extra = [re.compile(p) for p in patterns]
        self._masker = masker

    def __call__(self, text: str) -> str:
        if self._by_value:
            text = mask_text(text)
        for pattern in self._extra:
            text = pattern.sub(_replace_extra, text)
        if self._masker is not None:
            try:
                masked = self._masker(text)
            except Exception:
                return MASK  # never store what the user's masker could not vet
            return masked if type(masked) is str else MASK
        return text


def mask_text(text: str) -> str:
    """``text`` with every secret of a built-in format masked: what capture applies to each
    string by default (a plain function: it is called for every captured string)."""
    # Too short, or letters and digits only (a name, a number): no format fits but an AWS
    # key id's.
    if len(text) < SHORTEST or (text.isalnum() and "A" not in text):
        return text
    if len(text) == 40 and _aws_secret(text):
        return MASK
    return _mask_formats(text)


def _replace_extra(match: re.Match[str]) -> str:
    keep = match.groupdict().get("keep")
    return (keep or "") + MASK


@functools.lru_cache(maxsize=32)
def text_masker(
    patterns: tuple[str, ...] = (),
    masker: Callable[[str], str] | None = None,
    by_value: bool = True,
) -> Callable[[str], str] | None:
    """``mask(text) -> text`` for these options, made once: :func:`mask_text` for the
    built-in formats alone, a :class:`TextMasker` with extra patterns or a ``masker``, None
    when nothing would be masked."""
    if not patterns and masker is None:
        return mask_text if by_value else None
    return TextMasker(patterns, masker, by_value=by_value)


def masker_for(
    patterns: Sequence[str] = (),
    masker: Callable[[str], str] | None = None,
    by_value: bool = True,
) -> Callable[[str], str] | None:
    """:func:`text_masker`, also for a ``masker`` that cannot be hashed (made anew)."""
    try:
        return text_masker(tuple(patterns), masker, by_value)
    except TypeError:
        return TextMasker(patterns, masker, by_value=by_value)


def check_options(
    secret_keys: str, patterns: Sequence[str], masker: Callable[[str], str] | None
) -> None:
    """``ValidationError`` naming the option, unless each pattern is a regular expression and
    ``masker`` is None or callable."""
    for name, pattern in [("secret_keys", secret_keys)] + [
        ("secret_patterns", p) for p in patterns
    ]:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise ValidationError(
                f"{name}: not a regular expression ({exc}): {pattern!r}", field=name, value=pattern
            ) from None
    if masker is not None and not callable(masker):
        raise ValidationError("masker: expected a callable", field="masker", value=masker)


def mask_data(
    value: Any,
    mask: Callable[[str], str] | None,
    secret_key: Callable[[str], bool] | None,
    depth: int = 0,
) -> Any:
    """JSON-like ``value`` (dicts, lists, strings, numbers) with secrets masked: the value of
    each key ``secret_key`` accepts becomes ``***``, each string goes through ``mask``.
    Other values are kept; new containers are made only where something changed.

    >>> mask_data({"pwd": "x", "note": "Bearer abc123def456ghi"}, TextMasker(), "pwd".__eq__)
    {'pwd': '***', 'note': 'Bearer ***'}
    """
    if type(value) is str or isinstance(value, str):
        return mask(value) if mask is not None else value
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            if secret_key is not None and type(key) is str and secret_key(key):
                new: Any = MASK
            else:
                new = mask_data(item, mask, secret_key, depth + 1)
            changed = changed or new is not item
            out[key] = new
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [mask_data(item, mask, secret_key, depth + 1) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


__all__ = [
    "MASK",
    "SHORTEST",
    "TextMasker",
    "check_options",
    "mask_data",
    "mask_text",
    "masker_for",
    "text_masker",
]
