"""The records the session store hands out, and its errors. Re-exported by ``hermes.store.sessions``."""

from __future__ import annotations

from dataclasses import dataclass

from hermes.messages import Message


class StoreError(Exception):
    """The database cannot be used; the message names the file and what to do."""


class SessionNotFound(StoreError):
    """No session has that id, or a prefix matches more than one."""


@dataclass(frozen=True)
class SessionRecord:
    """One session's row: where it ran, with what, and how big it is."""

    id: str
    workspace: str
    title: str
    model: str
    approval_mode: str
    created_at: float
    updated_at: float
    message_count: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class StoredMessage:
    """A committed message with its position (``seq``) and flags."""

    id: int
    seq: int
    message: Message
    created_at: float
    interrupted: bool = False
    synthetic: bool = False
    folded: bool = False
    rewound: bool = False  # cut from the model's view by /rewind (hermes.engine.checkpoint_hooks)
    reasoning: str = ""  # an assistant reply's reasoning, shown again on resume


@dataclass(frozen=True)
class CallState:
    """The lifecycle of one tool call, kept so resume knows what was pending."""

    call_id: str
    name: str
    arguments: str
    status: str  # requested | pending_approval | running | done | failed | denied | cancelled
    reason: str = ""
    diff: str = ""  # what an edit changed (its result's diff)
    exit_code: int | None = None  # a command's exit code
    duration: float | None = None  # seconds from its start to its result


@dataclass(frozen=True)
class ModelCallRecord:
    """One model request as recorded for audit and ``hermes sessions show --calls``."""

    model: str
    request_bytes: int
    message_count: int
    latency_ms: float
    retries: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    error: str = ""
    response: str = ""
    created_at: float = 0.0
    usage_estimated: bool = False  # counted locally: the server reported no usage
    cost: float | None = None  # what the endpoint said the request cost (USD), if it did


HIT_START = "\u00ab"
"""Opens a matched term in :attr:`SearchHit.snippet` (``«``)."""
HIT_END = "\u00bb"
"""Closes a matched term in :attr:`SearchHit.snippet` (``»``)."""


@dataclass(frozen=True)
class SearchHit:
    """One message matching a full-text search.

    ``snippet`` is a short excerpt with each matched term between :data:`HIT_START` and
    :data:`HIT_END`; ``rank`` is SQLite's bm25 score (lower is a better match; hits come
    best first). ``title`` is the session's title.
    """

    session_id: str
    seq: int
    role: str
    snippet: str
    rank: float
    title: str
