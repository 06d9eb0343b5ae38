"""The endpoint's profile in a live session (issue 20).

- :func:`cached_profile` (engine creation): what the chat client learned about this
  endpoint in earlier sessions, handed to :func:`hermes.model.make_model_client`.
- :func:`ensure_window` (before each model request, via :mod:`hermes.engine.memory_hooks`):
  the context window from config, the cache, or the endpoint, asked once per endpoint and
  never while a chat request streams (the caller awaits it before sending). When none is
  known, a guess is used and the user is told once per endpoint, not every session.
- :func:`note_reply` (after each reply): saves what the client learned, when it changed.
- :func:`learn_window` / :func:`lower_window` (after an overflow): the window an error
  named (cached), or a lower one for this session only.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hermes import protocol as p
from hermes.model.base import EndpointProfile
from hermes.model.endpoint import (
    EndpointRecord,
    guess_window,
    is_local_endpoint,
    load_record,
    lookup_window,
    profile_key,
    save_record,
)

if TYPE_CHECKING:
    from hermes.config import ModelConfig
    from hermes.engine.state import SessionState

MIN_WINDOW = 1024
"""Never assume a window below this (config refuses less too)."""


@dataclass
class EndpointState:
    """One session's view of its endpoint (``SessionState.endpoint``).

    ``known``: the window came from config, the cache, the endpoint or an error, not a
    guess. ``cap``: a lower window for this session after an overflow that named none.
    ``asked``: the endpoint was asked in this session (an unreachable one is not asked
    before every request)."""

    record: EndpointRecord
    window: int
    known: bool
    cap: int | None = None
    asked: bool = False
    save_failed: bool = False

    @property
    def effective(self) -> int:
        return min(self.window, self.cap) if self.cap else self.window


def cached_profile(model: ModelConfig) -> EndpointProfile | None:
    """What earlier sessions learned about ``model``'s endpoint (None for the local
    provider, or when nothing is cached)."""
    if model.provider == "local":
        return None
    record = load_record(model.base_url, model.name)
    return record.client if record.client != EndpointProfile() else None


def initial_window(model: ModelConfig) -> int:
    """The window to show before anything is asked: config, the cache, else the guess."""
    if model.context_window:
        return model.context_window
    if model.provider == "local":
        return guess_window("http://127.0.0.1")
    return load_record(model.base_url, model.name).context_window or guess_window(model.base_url)


def tracker(state: SessionState) -> EndpointState:
    """The session's endpoint state for the model in use (rebuilt after ``/model``)."""
    config = state.model.config
    es = state.endpoint
    key = (config.base_url.rstrip("/"), config.name)
    if es is not None and (es.record.base_url, es.record.model) == key:
        return es
    record = (
        EndpointRecord(*key)
        if config.provider == "local"
        else load_record(config.base_url, config.name)
    )
    if config.context_window:
        es = EndpointState(record, config.context_window, True)
    elif record.context_window:
        es = EndpointState(record, record.context_window, True)
    else:
        es = EndpointState(record, guess_window(config.base_url), False)
    state.endpoint = es
    return es


async def _save(state: SessionState, es: EndpointState, record: EndpointRecord) -> None:
    es.record = record
    problem = await asyncio.to_thread(save_record, record)
    if problem and not es.save_failed:  # said once a session (a read-only HERMES_HOME)
        es.save_failed = True
        state.emit(p.Warning(problem))


async def ensure_window(state: SessionState) -> int:
    """The context window for the next request. Asks the endpoint when this endpoint and
    model were never asked (sequentially: call it only between chat requests); says once
    per endpoint when no window is known and what is assumed."""
    es = tracker(state)
    config = state.model.config
    if es.known or es.asked or config.provider == "local":
        return es.effective
    es.asked = True
    # One lookup per endpoint at a time in this process: the sessions of a batch wait
    # here before their first request, so none streams while the endpoint is asked.
    async with _lookup_lock(config.base_url, config.name):
        fresh = await asyncio.to_thread(load_record, config.base_url, config.name)
        if fresh.window_checked:  # asked meanwhile, by another session
            es.record = fresh
            if fresh.context_window:
                es.window, es.known = fresh.context_window, True
                return es.effective
        return await _ask_endpoint(state, es)


_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _lookup_lock(base_url: str, model: str) -> asyncio.Lock:
    """The lock of one endpoint and model on the running loop."""
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(profile_key(base_url, model), asyncio.Lock())


async def _ask_endpoint(state: SessionState, es: EndpointState) -> int:
    """Ask the endpoint (unless it was asked before) and say once when nothing is known."""
    config = state.model.config
    record = es.record
    reason = "its /models, /props and /api/show give none"
    if not record.window_checked:
        found = await lookup_window(config.base_url, config.name, state.config.api_key)
        if found.window:
            es.window, es.known = found.window, True
            checked = replace(
                record,
                context_window=found.window,
                window_source=found.source,
                window_checked=True,
            )
            await _save(state, es, checked)
            return es.effective
        if not found.reached:
            return es.effective  # the chat request will say what is wrong
        reason = found.reason or reason
        record = replace(record, window_checked=True)
    if not record.window_warned:
        where = "a server on this machine" if is_local_endpoint(config.base_url) else "the default"
        state.emit(
            p.Warning(
                f"the context window of {config.name} at {config.base_url} is unknown "
                f"({reason}); assuming {es.window:,} tokens ({where}). Set "
                "model.context_window in config to be exact (said once for this endpoint)."
            )
        )
        record = replace(record, window_warned=True)
    if record != es.record:
        await _save(state, es, record)
    return es.effective


async def note_reply(state: SessionState) -> None:
    """After a reply: cache what the client learned about its endpoint, if it changed."""
    learned = getattr(state.model, "profile", None)
    if not isinstance(learned, EndpointProfile) or state.model.config.provider == "local":
        return
    es = tracker(state)
    if learned != es.record.client:
        await _save(state, es, replace(es.record, client=learned))


async def learn_window(state: SessionState, window: int) -> bool:
    """An overflow error named the endpoint's window: use it from now on (cached). True
    when it differs from the window in use."""
    es = tracker(state)
    window = max(window, MIN_WINDOW)
    changed = window != es.effective
    es.window, es.known, es.cap = window, True, None
    if state.model.config.provider != "local" and es.record.context_window != window:
        record = replace(
            es.record, context_window=window, window_source="error", window_checked=True
        )
        await _save(state, es, record)
    return changed


def lower_window(state: SessionState, window: int) -> int:
    """A request of about ``window`` tokens did not fit although the window in use
    allowed it: assume at most ``window`` for the rest of this session (not cached: it is
    a guess). Returns the window now in use."""
    es = tracker(state)
    if window < es.effective:  # else the request was simply larger than the window
        es.cap = max(MIN_WINDOW, window)
    return es.effective


def window_is_known(state: SessionState) -> bool:
    """Did the window in use come from config, the cache, the endpoint or an error?"""
    es = tracker(state)
    return es.known and es.cap is None
