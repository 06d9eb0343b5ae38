"""Redaction of known secret formats before text reaches the database or a log.

Only formats that are secrets by their shape are touched (API keys with a known prefix,
PEM private keys, credentials inside URLs, bearer tokens), so ordinary code and output
pass through unchanged. The model keeps seeing the original text; only what is stored
is redacted. Each secret becomes ``[REDACTED:<kind>]``.

Besides the formats, the exact values of the credentials hermes holds (its API key,
whatever its shape) are registered at start-up (:func:`register_secret`) and redacted
wherever they occur; :func:`child_environment` keeps them out of every child process.

Every pattern runs in linear time: a start that fails consumes the run of characters
it scanned (the replacer then keeps the text as it was), so no run is scanned twice
from different starts. ``bench/bench_redact.py`` measures 1 MB of adversarial text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

MARK = "[REDACTED:"
"""Every redaction starts with this, so callers can tell stored text was altered."""


class _Rule(NamedTuple):
    needles: tuple[str, ...]  # cheap substrings one of which must occur
    fold: bool  # case-insensitive: needles and ``pattern`` work on the lowered text
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]
    any_case: re.Pattern[str] | None = None  # ``pattern`` with IGNORECASE, for non-ASCII text
    sub: Callable[[str], str] | None = None  # a scan of its own instead of ``pattern.sub``


def _folded(needles: tuple[str, ...], pattern: str, kind: str) -> _Rule:
    """A case-insensitive rule: group 1 is kept, group 2 redacted. ASCII text is matched
    lowered against a case-sensitive pattern (IGNORECASE defeats the regex engine's
    search for the literal); other text with IGNORECASE."""
    return _Rule(
        needles, True, re.compile(pattern), _keep_prefix(kind), re.compile(pattern, re.IGNORECASE)
    )


def _whole(kind: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{MARK}{kind}]"


def _keep_prefix(kind: str) -> Callable[[re.Match[str]], str]:
    """Keep group 1 (the name or scheme around the secret), redact group 2."""
    return lambda m: f"{m.group(1)}{MARK}{kind}]"


def _if_digit(kind: str) -> Callable[[re.Match[str]], str]:
    """Redact a run that holds a digit; any other run is kept (and not scanned again)."""
    return lambda m: f"{MARK}{kind}]" if _DIGIT.search(m.group(0)) else m.group(0)


_DIGIT = re.compile(r"\d")
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")


def _sub_private_keys(text: str) -> str:
    """Each private key, BEGIN through its END line (or the end of a cut-off text), as
    one mark; END is found by a search of its own, not character by character."""
    out: list[str] = []
    pos = 0
    while (begin := _PEM_BEGIN.search(text, pos)) is not None:
        end = _PEM_END.search(text, begin.end())
        out += [text[pos : begin.start()], f"{MARK}private-key]"]
        pos = end.end() if end is not None else len(text)
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _if_group(kind: str) -> Callable[[re.Match[str]], str]:
    """Redact when the optional group 1 (the rest of the token) matched, else keep the run."""
    return lambda m: f"{MARK}{kind}]" if m.group(1) is not None else m.group(0)


# Patterns start with their literal (after it, a look-behind plays the part of ``\b``),
# so the regex engine can jump between occurrences instead of trying every position.
_W = "[A-Za-z0-9_]"
_RULES: tuple[_Rule, ...] = (
    _Rule(
        ("-----BEGIN",),
        False,
        _PEM_BEGIN,
        _whole("private-key"),
        sub=_sub_private_keys,  # BEGIN through END (or the end of the text)
    ),
    _Rule(
        ("sk-",),  # OpenAI / Anthropic: sk-..., sk-proj-..., sk-ant-...
        False,
        re.compile(rf"sk-(?<!{_W}sk-)[A-Za-z0-9_\-]{{20,}}"),
        _if_digit("api-key"),
    ),
    _Rule(
        ("k_live_", "k_test_"),  # Stripe: sk_live_..., rk_test_...
        False,
        re.compile(rf"(?<!{_W})[sr]k_(?:live|test)_[A-Za-z0-9]{{16,}}"),
        _whole("api-key"),
    ),
    _Rule(
        ("gh",),
        False,
        re.compile(rf"gh(?<!{_W}gh)[pousr]_[A-Za-z0-9]{{30,}}"),
        _whole("github-token"),
    ),
    _Rule(
        ("github_pat_",),
        False,
        re.compile(rf"github_pat_(?<!{_W}github_pat_)[A-Za-z0-9_]{{30,}}"),
        _whole("github-token"),
    ),
    _Rule(
        ("glpat-",),
        False,
        re.compile(rf"glpat-(?<!{_W}glpat-)[A-Za-z0-9_\-]{{20,}}"),
        _whole("gitlab-token"),
    ),
    _Rule(
        ("AKIA", "ASIA"),
        False,
        re.compile(rf"A(?<!{_W}A)(?:KIA|SIA)[0-9A-Z]{{16}}(?!{_W})"),
        _whole("aws-key-id"),
    ),
    _folded(
        ("aws_secret_access_key",),
        r"(aws_secret_access_key\s{0,16}[:=]\s{0,16}[\"']?)([A-Za-z0-9/+=]{40})",
        "aws-secret",
    ),
    _Rule(
        ("xox", "xapp-"),
        False,
        re.compile(rf"x(?<!{_W}x)(?:ox[abposr]|app)-[A-Za-z0-9\-]{{10,}}"),
        _whole("slack-token"),
    ),
    _Rule(
        ("AIza",),
        False,
        re.compile(rf"AIza(?<!{_W}AIza)[0-9A-Za-z_\-]{{35}}"),
        _whole("google-api-key"),
    ),
    _Rule(
        ("hf_",),
        False,
        re.compile(rf"hf_(?<!{_W}hf_)[A-Za-z0-9]{{30,}}"),
        _whole("huggingface-token"),
    ),
    _Rule(
        ("eyJ",),
        False,
        re.compile(
            rf"eyJ(?<!{_W}eyJ)[A-Za-z0-9_\-]{{10,}}"
            rf"(\.eyJ[A-Za-z0-9_\-]{{10,}}\.[A-Za-z0-9_\-]{{10,}})?"
        ),
        _if_group("jwt"),
    ),
    _Rule(
        ("://",),  # user:password@host in any URL (bounded: no rescans of a long run)
        False,
        re.compile(r"(://[^\s/:@\"'<>\[\]]{0,256}:)([^\s/@\"'<>]{1,4096})(?=@)"),
        _keep_prefix("url-password"),
    ),
    _folded(
        ("token=", "key=", "secret=", "password=", "sig=", "signature="),
        r"([?&](?:access_token|auth_token|token|api_key|apikey|key|secret|"
        r"client_secret|password|private_token|sig|signature)=)([^&\s#\"'<>]{6,})",
        "url-token",
    ),
    _folded(
        ("authorization",),
        r"(authorization(?<![a-z0-9_]authorization):\s{0,16}(?:bearer|token|basic)\s{1,16})"
        r"([A-Za-z0-9._~+/=\-]{8,})",
        "auth-header",
    ),
)


SECRET_KIND = "credential"
"""The kind shown for a registered secret value: ``[REDACTED:credential]``."""
MIN_SECRET_CHARS = 8
"""Shorter values are not registered: redacting them would eat ordinary text."""
CREDENTIAL_ENV = ("HERMES_API_KEY", "OPENAI_API_KEY")
"""Variables that hold a model credential whatever the configuration says."""

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, so a secret inside another goes second
_secret_bytes: tuple[bytes, ...] = ()
_credential_names: frozenset[str] = frozenset(CREDENTIAL_ENV)


def register_secret(value: str | None) -> None:
    """Redact every exact occurrence of ``value`` from now on, in this process, whatever
    its shape (values under :data:`MIN_SECRET_CHARS` characters are ignored)."""
    global _secrets, _secret_bytes
    if not value or len(value.strip()) < MIN_SECRET_CHARS:
        return
    with _lock:
        if value in _secrets:
            return
        values = sorted({*_secrets, value}, key=len, reverse=True)
        _secrets = tuple(values)
        _secret_bytes = tuple(v.encode("utf-8") for v in values)


def register_credential_env(name: str, environ: Mapping[str, str]) -> None:
    """``name`` holds a credential hermes uses: children never inherit it (unless passed
    through by name) and its value in ``environ`` is redacted."""
    global _credential_names
    if not name:
        return
    with _lock:
        _credential_names = _credential_names | {name}
    register_secret(environ.get(name))


def register_credentials(api_key: str | None, key_env: str, environ: Mapping[str, str]) -> None:
    """At start-up: the key in use, and every variable that may hold a model key."""
    register_secret(api_key)
    for name in (*CREDENTIAL_ENV, key_env):
        register_credential_env(name, environ)


def registered_secrets() -> tuple[str, ...]:
    """The exact values :func:`redact` removes, longest first."""
    return _secrets


def credential_names() -> frozenset[str]:
    """The variables no child process inherits unless passed through by name."""
    return _credential_names


def child_environment(base: Mapping[str, str], passthrough: Iterable[str] = ()) -> dict[str, str]:
    """``base`` for a child process: without hermes' credential variables and without any
    variable whose value holds a registered secret, except the names in ``passthrough``."""
    allowed = set(passthrough)
    names = _credential_names
    secrets = _secrets
    return {
        k: v
        for k, v in base.items()
        if k in allowed or (k not in names and not any(s in v for s in secrets))
    }


def withheld_variables(base: Mapping[str, str], passthrough: Iterable[str] = ()) -> list[str]:
    """The names :func:`child_environment` would drop from ``base``, sorted."""
    kept = child_environment(base, passthrough)
    return sorted(k for k in base if k not in kept)


def redact(text: str) -> str:
    """``text`` with every registered secret value and every known secret format replaced
    by ``[REDACTED:<kind>]``."""
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, f"{MARK}{SECRET_KIND}]")
    lowered: str | None = None
    for needles, fold, pattern, replace, any_case, own_sub in _RULES:
        if fold:
            lowered = text.lower() if lowered is None else lowered
            haystack = lowered
        else:
            haystack = text
        if not any(n in haystack for n in needles):
            continue
        before = text
        if own_sub is not None:
            text = own_sub(text)
        elif not fold:
            text = pattern.sub(replace, text)
        elif text.isascii():  # lowering keeps every offset: match there, cut here
            text = _sub_lowered(pattern, replace, text, haystack)
        else:
            assert any_case is not None
            text = any_case.sub(replace, text)
        if text is not before:
            lowered = None
    return text


class _Spans:
    """A match found in the lowered text, read back from the original (same offsets)."""

    def __init__(self, match: re.Match[str], text: str) -> None:
        self._match = match
        self._text = text

    def group(self, n: int = 0) -> str:
        start, end = self._match.span(n)
        return self._text[start:end]


def _sub_lowered(
    pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str, lowered: str
) -> str:
    out: list[str] = []
    last = 0
    for m in pattern.finditer(lowered):
        out.append(text[last : m.start()])
        out.append(replace(_Spans(m, text)))  # type: ignore[arg-type]
        last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def redact_optional(text: str | None) -> str | None:
    """:func:`redact` that passes None through."""
    return None if text is None else redact(text)


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` for raw output: every byte that is not part of a secret is kept as
    it was (binary and invalid UTF-8 included)."""
    if not data:
        return data
    for secret in _secret_bytes:
        if secret in data:
            data = data.replace(secret, f"{MARK}{SECRET_KIND}]".encode())
    # Latin-1 maps each byte to one character: the ASCII patterns see the text as it
    # is, and encoding back restores every other byte exactly.
    return redact(data.decode("latin-1")).encode("latin-1")


def redact_json(value: object) -> object:
    """A JSON-like value with every string in it redacted (keys too); the structure is
    kept, so the result still serializes to valid JSON."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v) for v in value]
    return value


_TOKEN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/=~%:@"


class StreamRedactor:
    """:func:`redact_bytes` over a stream that arrives in pieces of any size.

    A secret may be cut between two pieces, so only whole lines go out; what follows the
    last line end waits for more. A line longer than ``hold`` bytes goes out at its last
    space (or, failing that, before its last run of token characters). A private key
    waits whole, up to ``key_hold`` bytes; one longer than that goes out redacted to the
    end, and what follows is dropped until its END line.
    """

    def __init__(self, hold: int = 64 << 10, key_hold: int = 1 << 20) -> None:
        self.hold = hold
        self.key_hold = key_hold
        self._pending = b""
        self._in_key = False

    def feed(self, data: bytes) -> bytes:
        """Take the next piece; return the redacted bytes that may be written now."""
        buf = self._pending + data
        out = []
        if self._in_key:
            buf = self._skip_key(buf)
            if self._in_key:
                self._pending = buf
                return b""
        cut = self._cut(buf)
        ready, rest = buf[:cut], buf[cut:]
        key_at = self._open_key(ready)
        if key_at is not None:
            if len(buf) - key_at <= self.key_hold:
                ready, rest = buf[:key_at], buf[key_at:]
            else:  # too long to wait for: out redacted to the end, the rest skipped
                self._in_key = True
                out.append(redact_bytes(ready))
                self._pending = self._skip_key(rest)
                return b"".join(out)
        self._pending = rest
        out.append(redact_bytes(ready))
        return b"".join(out)

    def flush(self) -> bytes:
        """Everything still held, redacted; the redactor is ready for a new stream."""
        buf, self._pending = self._pending, b""
        in_key, self._in_key = self._in_key, False
        return b"" if in_key else redact_bytes(buf)

    def _cut(self, buf: bytes) -> int:
        nl = buf.rfind(b"\n")
        if nl >= 0 and len(buf) - nl - 1 <= self.hold:
            return nl + 1
        if len(buf) <= self.hold:
            return 0
        space = max(buf.rfind(b" "), buf.rfind(b"\t"), buf.rfind(b"\n"))
        if space >= len(buf) - self.hold:
            return space + 1
        start = len(buf.rstrip(_TOKEN_CHARS))  # where the trailing token run begins
        return start if 0 < start and len(buf) - start <= self.hold else len(buf)

    @staticmethod
    def _open_key(ready: bytes) -> int | None:
        """Where the last private key in ``ready`` begins, when its END is not there yet."""
        if b"-----BEGIN" not in ready:
            return None
        text = ready.decode("latin-1")
        last = None
        for m in _PEM_BEGIN.finditer(text):
            last = m
        if last is None or _PEM_END.search(text, last.end()):
            return None
        return last.start()

    def _skip_key(self, buf: bytes) -> bytes:
        """Drop the rest of a private key already shown redacted, through its END line."""
        text = buf.decode("latin-1")
        end = _PEM_END.search(text)
        if end is not None:
            self._in_key = False
            return buf[end.end() :]
        return buf[-64:]  # an END line may be cut between pieces
