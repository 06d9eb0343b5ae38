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

MARK = "[REDACTED:"
"""Every redaction starts with this, so callers can tell stored text was altered."""

# (cheap substrings one of which must occur, compare them case-insensitively, pattern, replacer)
_Rule = tuple[tuple[str, ...], bool, re.Pattern[str], Callable[[re.Match[str]], str]]


def _whole(kind: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{MARK}{kind}]"


def _keep_prefix(kind: str) -> Callable[[re.Match[str]], str]:
    """Keep group 1 (the name or scheme around the secret), redact group 2."""
    return lambda m: f"{m.group(1)}{MARK}{kind}]"


def _if_digit(kind: str) -> Callable[[re.Match[str]], str]:
    """Redact a run that holds a digit; any other run is kept (and not scanned again)."""
    return lambda m: f"{MARK}{kind}]" if any(c.isdigit() for c in m.group(0)) else m.group(0)


def _if_group(kind: str) -> Callable[[re.Match[str]], str]:
    """Redact when the optional group 1 (the rest of the token) matched, else keep the run."""
    return lambda m: f"{MARK}{kind}]" if m.group(1) is not None else m.group(0)


# Patterns start with their literal (after it, a look-behind plays the part of ``\b``),
# so the regex engine can jump between occurrences instead of trying every position.
_W = "[A-Za-z0-9_]"
_RULES: tuple[_Rule, ...] = (
    (
        ("-----BEGIN",),
        False,
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"
            r"[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|\Z)"
        ),
        _whole("private-key"),
    ),
    (
        ("sk-",),  # OpenAI / Anthropic: sk-..., sk-proj-..., sk-ant-...
        False,
        re.compile(rf"sk-(?<!{_W}sk-)[A-Za-z0-9_\-]{{20,}}"),
        _if_digit("api-key"),
    ),
    (
        ("k_live_", "k_test_"),  # Stripe: sk_live_..., rk_test_...
        False,
        re.compile(rf"(?<!{_W})[sr]k_(?:live|test)_[A-Za-z0-9]{{16,}}"),
        _whole("api-key"),
    ),
    (
        ("gh",),
        False,
        re.compile(rf"gh(?<!{_W}gh)[pousr]_[A-Za-z0-9]{{30,}}"),
        _whole("github-token"),
    ),
    (
        ("github_pat_",),
        False,
        re.compile(rf"github_pat_(?<!{_W}github_pat_)[A-Za-z0-9_]{{30,}}"),
        _whole("github-token"),
    ),
    (
        ("glpat-",),
        False,
        re.compile(rf"glpat-(?<!{_W}glpat-)[A-Za-z0-9_\-]{{20,}}"),
        _whole("gitlab-token"),
    ),
    (
        ("AKIA", "ASIA"),
        False,
        re.compile(rf"A(?<!{_W}A)(?:KIA|SIA)[0-9A-Z]{{16}}(?!{_W})"),
        _whole("aws-key-id"),
    ),
    (
        ("aws_secret_access_key",),
        True,
        re.compile(r"(?i)(aws_secret_access_key\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{40})"),
        _keep_prefix("aws-secret"),
    ),
    (
        ("xox", "xapp-"),
        False,
        re.compile(rf"x(?<!{_W}x)(?:ox[abposr]|app)-[A-Za-z0-9\-]{{10,}}"),
        _whole("slack-token"),
    ),
    (
        ("AIza",),
        False,
        re.compile(rf"AIza(?<!{_W}AIza)[0-9A-Za-z_\-]{{35}}"),
        _whole("google-api-key"),
    ),
    (
        ("hf_",),
        False,
        re.compile(rf"hf_(?<!{_W}hf_)[A-Za-z0-9]{{30,}}"),
        _whole("huggingface-token"),
    ),
    (
        ("eyJ",),
        False,
        re.compile(
            rf"eyJ(?<!{_W}eyJ)[A-Za-z0-9_\-]{{10,}}"
            rf"(\.eyJ[A-Za-z0-9_\-]{{10,}}\.[A-Za-z0-9_\-]{{10,}})?"
        ),
        _if_group("jwt"),
    ),
    (
        ("://",),  # user:password@host in any URL
        False,
        re.compile(r"(://[^\s/:@\"'<>\[\]]*:)([^\s/@\"'<>]+)(?=@)"),
        _keep_prefix("url-password"),
    ),
    (
        ("token=", "key=", "secret=", "password=", "sig=", "signature="),
        True,
        re.compile(
            r"(?i)([?&](?:access_token|auth_token|token|api_key|apikey|key|secret|"
            r"client_secret|password|private_token|sig|signature)=)([^&\s#\"'<>]{6,})"
        ),
        _keep_prefix("url-token"),
    ),
    (
        ("authorization",),
        True,
        re.compile(r"(?i)(\bauthorization:\s*(?:bearer|token|basic)\s+)([A-Za-z0-9._~+/=\-]{8,})"),
        _keep_prefix("auth-header"),
    ),
)


def redact(text: str) -> str:
    """``text`` with every known secret format replaced by ``[REDACTED:<kind>]``."""
    if not text:
        return text
    lowered: str | None = None
    for needles, fold, pattern, replace in _RULES:
        if fold:
            lowered = text.lower() if lowered is None else lowered
            haystack = lowered
        else:
            haystack = text
        if not any(n in haystack for n in needles):
            continue
        before = text
        text = pattern.sub(replace, text)
        if text is not before:
            lowered = None
    return text


def redact_optional(text: str | None) -> str | None:
    """:func:`redact` that passes None through."""
    return None if text is None else redact(text)
