"""Reading an endpoint's errors: the short message a person can use, and which errors can
go away by themselves.

Retried: 429, 408, 409 and 5xx except 501, connection resets and cut streams. Never
retried: the other 4xx, 501, a 500 whose body is a validation error (llama-cpp-python
reports a malformed request that way), a host name that does not resolve. Error bodies
come as OpenAI-style JSON, FastAPI's ``{"detail": ...}``, plain text or a proxy's HTML
page; :func:`short_error` gives one line of at most :data:`MAX_ERROR_CHARS` from any.
"""

from __future__ import annotations

import html
import json
import re
import socket
from typing import Any

MAX_ERROR_CHARS = 200
"""The longest server error message shown (one line)."""

_RETRYABLE_4XX = frozenset({408, 409, 429})
_HTML_DROP = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")
_HTML_TITLE = re.compile(r"(?is)<title\b[^>]*>(.*?)</title\s*>")
_HTML_TAG = re.compile(r"(?s)<[^>]*>")
_VALIDATION = re.compile(r"(?i)\bvalidation errors?\b")
_PYDANTIC_ITEM = re.compile(r"'type': '([^']*)', 'loc': \(([^)]*)\), 'msg': (['\"])(.*?)\3")
_OVERFLOW = re.compile(
    r"(?i)context[ _]length|context window|maximum context|too many tokens|"
    r"prompt is too long|exceeds? the (?:model'?s? )?(?:max|context)"
)
_DNS_FAILURES = (
    "name or service not known",
    "nodename nor servname",
    "no address associated with hostname",
    "temporary failure in name resolution",
    "getaddrinfo failed",
)


def retryable_status(status: int) -> bool:
    """Can an HTTP error with this status go away by itself?"""
    return status in _RETRYABLE_4XX or (status >= 500 and status != 501)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_ERROR_CHARS:
        end = text.rfind(" ", 0, MAX_ERROR_CHARS)
        end = end if end > MAX_ERROR_CHARS * 3 // 4 else MAX_ERROR_CHARS - 1
        text = text[:end].rstrip() + "…"
    return text


def _from_html(text: str) -> str:
    title = _HTML_TITLE.search(text)
    if title and title.group(1).strip():
        return html.unescape(_HTML_TAG.sub(" ", title.group(1)))
    body = _HTML_TAG.sub("\n", _HTML_DROP.sub("", text))
    lines = (html.unescape(line).strip() for line in body.splitlines())
    return next((line for line in lines if line), "")


def _pydantic_summary(message: str) -> str:
    """``N validation errors: loc: msg; ...`` from pydantic's long listing, the entries
    that say what is wrong first (a union's "should be 'system'" entries last)."""
    items = _PYDANTIC_ITEM.findall(message)
    if not items:
        return message
    items.sort(key=lambda item: item[0] in ("literal_error", "missing", "union_tag_invalid"))
    parts = []
    for _, loc, _, msg in items:
        path = [p.strip().strip("'\"") for p in loc.split(",") if p.strip()]
        path = [p for p in path if p != "body" and not p[:1].isupper()]
        parts.append(f"{'.'.join(path)}: {msg}")
    head = message.split(":", 1)[0] if ":" in message else "validation error"
    return f"{head}: " + "; ".join(parts)


def error_message(payload: Any) -> str | None:
    """The message inside a parsed error body (OpenAI ``error.message``, a bare
    ``error`` string, FastAPI ``detail``), or None."""
    if not isinstance(payload, dict):
        return None
    err = payload.get("error")
    if isinstance(err, dict):
        for key in ("message", "msg", "detail"):
            if isinstance(err.get(key), str) and err[key].strip():
                return str(err[key])
    if isinstance(err, str) and err.strip():
        return err
    detail = payload.get("detail")
    if isinstance(detail, str) and detail.strip():
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        loc = ".".join(str(p) for p in detail[0].get("loc", ()) if p != "body")
        return f"{len(detail)} validation error(s): {loc}: {detail[0].get('msg', '')}"
    message = payload.get("message")
    return message if isinstance(message, str) and message.strip() else None


def error_code(payload: Any) -> str:
    """``error.code`` (or ``error.type``) of an OpenAI-style error body, else ""."""
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict):
        for key in ("code", "type"):
            if isinstance(err.get(key), str):
                return str(err[key])
    return ""


def parse_body(body: bytes | str) -> Any:
    """The JSON of an error body, or the text when it is not JSON."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except ValueError:
        return text


def short_error(payload: Any) -> str:
    """One line (at most :data:`MAX_ERROR_CHARS`) saying what the server said: its
    ``error.message``, else the first line of its text with HTML tags stripped."""
    message = error_message(payload)
    if message is None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        message = _from_html(text) if "<" in text and ">" in text else text
    if _VALIDATION.search(message):
        message = _pydantic_summary(message)
    return _one_line(message) or "no details"


def is_validation_error(payload: Any) -> bool:
    """Does the body say the request itself is invalid (which no retry fixes)?"""
    message = error_message(payload)
    if message is None and isinstance(payload, str):
        message = payload
    return bool(message and _VALIDATION.search(message))


def is_context_overflow(payload: Any) -> bool:
    """Does the body say the request does not fit the model's context window?"""
    if "context_length" in error_code(payload):
        return True
    message = error_message(payload)
    if message is None and isinstance(payload, str):
        message = payload
    return bool(message and _OVERFLOW.search(message))


def is_dns_failure(exc: BaseException) -> bool:
    """Is this connection error a host name that does not resolve?"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return True
        if any(s in str(current).lower() for s in _DNS_FAILURES):
            return True
        current = current.__cause__ or current.__context__
    return False


def mentions(payload: Any, word: str) -> bool:
    """Does the error body mention ``word`` (e.g. a parameter the server rejects)?"""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return word.lower() in text.lower()
