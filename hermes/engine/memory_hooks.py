"""Where compaction and fact extraction meet the turn loop, the engine and the CLI.

- :func:`before_request` (turn loop, before each model request): resolves the window,
  counts the view (the provider's reported prompt tokens when it gave them, plus the
  messages since), compacts at the threshold, and folds old tool outputs to digests
  when the request would still not fit.
- :func:`note_usage` (turn loop, after each reply): remembers the reported prompt tokens.
- :func:`compact_now` / :func:`request_compaction` (engine, ``Compact`` op).
- :func:`restore` (engine, resume): rebuilds the compacted view from the store.
- :func:`schedule_fact_scan` / :func:`finish_session` (engine): the rule-based extractor
  runs over the user's new messages after each turn and at session end, in a thread.
- :func:`compact_stored_session` (``hermes sessions compact ID``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hermes import protocol as p
from hermes.memory.budget import ContextBudget, digest_results, plan_digest
from hermes.memory.compaction import (
    CompactionFailed,
    CompactionRecord,
    Compactor,
    ContextTracker,
    FoldOutcome,
    align,
    apply_records,
    load_compactions,
    record_compaction,
)
from hermes.memory.facts.store import FactStore
from hermes.messages import Message
from hermes.model.endpoint import resolve_context_window
from hermes.tokens import TokenCounter, encoding_for_model

if TYPE_CHECKING:
    from hermes.config import Config
    from hermes.engine.state import SessionState
    from hermes.model.base import ModelClient
    from hermes.store.sessions import SessionRecord, Store, StoredMessage

MAX_BACKOFF_TURNS = 8


def tracker(state: SessionState) -> ContextTracker:
    """The session's compaction state, ``state.context`` (created on first use)."""
    if state.context is None:
        state.context = ContextTracker()
    return state.context


def _threadsafe_warn(emit: Callable[[p.Event], None]) -> Callable[[str], None]:
    loop = asyncio.get_running_loop()

    def warn(text: str) -> None:
        loop.call_soon_threadsafe(emit, p.Warning(text))

    return warn


async def _budget(
    tr: ContextTracker, config: Config, model: ModelClient, emit: Callable[[p.Event], None]
) -> ContextBudget:
    """The tracker's budget for the current model, (re)built when the window or the
    encoding changed. The encoding loads in a thread, never at import."""
    encoding = encoding_for_model(model.config.name, config.model.encoding)
    budget = tr.budget
    if budget is None or budget.window != tr.window or tr.encoding != encoding:
        if budget is not None and tr.encoding == encoding:
            counter = budget.counter
        else:
            counter = TokenCounter(encoding, on_warning=_threadsafe_warn(emit))
        await asyncio.to_thread(counter.load)
        tr.encoding = encoding
        tr.budget = budget = ContextBudget(
            tr.window, config.compaction.threshold, counter, config.model.max_output_tokens
        )
    return budget


def _start_window_lookup(state: SessionState) -> ContextTracker:
    """Take the window from config, else start asking the endpoint (not awaited)."""
    tr = tracker(state)
    name = state.model.config.name
    configured = state.config.model.context_window
    if tr.window_model != name:
        tr.window_model = name
        tr.window = configured or tr.window or state.context_window
        if not configured:
            tr.window_task = asyncio.create_task(
                resolve_context_window(None, state.model.list_models, name)
            )
    return tr


async def _resolve_window(state: SessionState, *, wait: bool) -> ContextTracker:
    """The window as known now; ``wait`` waits for the endpoint's answer if one is due."""
    tr = _start_window_lookup(state)
    task = tr.window_task
    if task is not None and (wait or task.done()):
        window, warning = await asyncio.shield(task)
        tr.window_task = None
        tr.window = window
        if warning:
            state.emit(p.Warning(warning))
    state.context_window = tr.window
    return tr


def _fits_by_bytes(state: SessionState, window: int, threshold: float) -> bool:
    """True when the request surely fits under the threshold: a token is at least one
    byte, so its UTF-8 size is an upper bound of its token count."""
    limit = int(window * threshold)
    total = len(state.system_prompt.encode()) + len(json.dumps(state.tool_schemas()))
    for m in state.history:
        total += 8 + len((m.content or "").encode())
        total += sum(len(c.name) + len(c.arguments.encode()) + 8 for c in m.tool_calls)
        if total >= limit:
            return False
    return total < limit


async def ensure_budget(state: SessionState, *, wait: bool) -> ContextBudget:
    """Resolve the window (config, else ``/models`` in the background, else the default
    with a warning) and build the budget. ``wait`` waits for the endpoint's answer; the
    first request of a new session does not (nothing could be folded yet anyway)."""
    tr = await _resolve_window(state, wait=wait)
    budget = await _budget(tr, state.config, state.model, state.emit)
    state.context_window = budget.window
    return budget


async def _tokens(state: SessionState, budget: ContextBudget, schemas: Sequence[Any]) -> int:
    anchor = tracker(state).anchor
    history = list(state.history)
    if anchor is not None and anchor[0] <= len(history):
        new = history[anchor[0] :]
        count = budget.counter.count_message
        return anchor[1] + await asyncio.to_thread(lambda: sum(count(m) for m in new))
    return await asyncio.to_thread(budget.count, state.model_view(), schemas)


def note_usage(state: SessionState, view_length: int, prompt_tokens: int) -> None:
    """After a reply: the provider counted ``prompt_tokens`` for a view of ``view_length``
    messages (system included); later counts start from it."""
    tracker(state).anchor = (view_length - 1, prompt_tokens) if prompt_tokens > 0 else None


async def before_request(state: SessionState) -> None:
    """Before each model request: compact at the threshold (or when asked), and fold
    old tool outputs to digests if the request would still not fit the window."""
    tr = tracker(state)
    forced = tr.manual_pending
    if not forced and tr.budget is None:
        # Until something could need folding, skip loading the encoding (~0.2 s of CPU):
        # a new session's first request must not wait for it.
        await _resolve_window(state, wait=len(state.history) > 1)
        if _fits_by_bytes(state, tr.window, state.config.compaction.threshold):
            return
    budget = await ensure_budget(state, wait=forced or len(state.history) > 1)
    schemas = state.tool_schemas()
    tokens = await _tokens(state, budget, schemas)
    if forced or (tokens >= budget.limit and state.turns >= tr.retry_turn):
        tr.manual_pending = False
        outcome = await _compact(state, budget, tokens, manual=forced)
        if outcome is not None:
            tokens = outcome.tokens_after
    if tokens > budget.hard_limit:
        await _digest(state, budget, tokens, schemas)


def request_compaction(state: SessionState) -> None:
    """``Compact`` while a turn runs: compact before its next model request."""
    tracker(state).manual_pending = True
    state.emit(p.Warning("compaction will run before the next model request", kind="compaction"))


async def compact_now(state: SessionState) -> bool:
    """``Compact`` while idle: compact now, whatever the threshold. True when folded."""
    budget = await ensure_budget(state, wait=True)
    tokens = await _tokens(state, budget, state.tool_schemas())
    return await _compact(state, budget, tokens, manual=True) is not None


def _compactor(state: SessionState, budget: ContextBudget) -> Compactor:
    return Compactor(
        session_id=state.id,
        workspace=str(state.workspace),
        store=state.store,
        model=state.model,
        budget=budget,
        keep_recent_tokens=state.config.compaction.keep_recent_tokens,
        emit=state.emit,
        schemas=state.tool_schemas(),
    )


async def _compact(
    state: SessionState, budget: ContextBudget, tokens: int, *, manual: bool
) -> FoldOutcome | None:
    tr = tracker(state)
    emit = state.emit
    snapshot = list(state.history)

    def announce(turns: int) -> None:
        why = (
            "on request"
            if manual
            else f"({tokens * 100 // budget.window}% reached the {budget.threshold:.0%} threshold)"
        )
        emit(
            p.Warning(
                f"compacting: {tokens:,} tokens of {budget.window:,} {why}; folding "
                f"{turns} turns into a summary",
                kind="compaction",
            )
        )

    def apply(outcome: FoldOutcome) -> None:
        state.history = [*outcome.history, *state.history[len(snapshot) :]]
        tr.summary, tr.summary_message = outcome.summary, outcome.summary_message
        tr.total_folded, tr.anchor = outcome.total_folded, None
        tr.failures, tr.retry_turn = 0, 0
        state.context_tokens = outcome.tokens_after

    try:
        outcome = await _compactor(state, budget).run(
            state.system_prompt,
            snapshot,
            tr,
            tokens,
            manual=manual,
            announce=announce,
            apply=apply,
        )
    except CompactionFailed as exc:
        tr.failures += 1
        wait = min(2 ** (tr.failures - 1), MAX_BACKOFF_TURNS)
        tr.retry_turn = state.turns + wait
        when = "on the next turn" if wait == 1 else f"in {wait} turns"
        emit(
            p.Warning(
                f"compaction failed: {exc}. Nothing was dropped (the full conversation is "
                f"kept); retrying {when}.",
                kind="compaction",
            )
        )
        return None
    if outcome is None:
        if manual:
            emit(p.Warning("nothing to compact: the conversation fits in the recent-turns budget"))
        return None
    if not outcome.persisted:
        emit(
            p.Warning(
                "the fold could not be matched to the stored transcript; it is kept "
                "for this run only"
            )
        )
    emit(
        p.CompactionDone(
            outcome.tokens_before, outcome.tokens_after, outcome.turns, outcome.summary
        )
    )
    emit(
        p.TokenUsage(
            0, 0, state.prompt_tokens, state.completion_tokens, outcome.tokens_after, budget.window
        )
    )
    return outcome


async def _digest(
    state: SessionState, budget: ContextBudget, tokens: int, schemas: Sequence[Any]
) -> None:
    """Fold old tool outputs to one-line digests (no model call) until the request fits."""
    tr = tracker(state)
    snapshot = list(state.history)
    head = tr.head(snapshot)
    count = budget.counter.count_message
    end = await asyncio.to_thread(plan_digest, snapshot, head, tokens - budget.hard_limit, count)
    new = digest_results(snapshot, head, end)
    changed = sum(1 for a, b in zip(snapshot, new, strict=True) if a is not b)
    if not changed:
        state.emit(
            p.Warning(
                f"the request ({tokens:,} tokens) may not fit the "
                f"{budget.window:,}-token window; nothing is left to fold"
            )
        )
        return
    system = Message("system", state.system_prompt)
    after = await asyncio.to_thread(budget.count, [system, *new], schemas)
    lead = max(i for i in range(head, end) if snapshot[i].role != "tool")
    stored = await asyncio.to_thread(state.store.load_messages, state.id)
    rows = align(snapshot, stored, tr.summary_message)

    async def commit() -> None:
        if rows is not None:
            k = sum(1 for m in snapshot[:lead] if m.role != "tool" and m is not tr.summary_message)
            rec = CompactionRecord("digest", "", rows[k].seq, 0, tr.total_folded, tokens, after, 0)
            await asyncio.to_thread(record_compaction, state.store, state.id, rec)
        state.history = [*new, *state.history[len(snapshot) :]]
        tr.anchor, state.context_tokens = None, after

    await asyncio.shield(commit())
    state.emit(
        p.Warning(
            f"the request would not fit the window ({tokens:,} of {budget.window:,} tokens): "
            f"folded {changed} old tool outputs to one-line digests ({after:,} tokens now)",
            kind="compaction",
        )
    )


async def restore(state: SessionState, stored: Sequence[StoredMessage]) -> None:
    """On resume, after the view of the unfolded messages is rebuilt: re-apply digests and
    put the latest summary back after the first request."""
    tr = tracker(state)
    tr.anchor = None  # the history was rebuilt: count it afresh
    records = await asyncio.to_thread(load_compactions, state.store, state.id)
    if records:
        state.history = apply_records(state.history, stored, records, tr)


# --------------------------------------------------------------------------- facts


async def _scan(state: SessionState, previous: asyncio.Task[None] | None) -> None:
    if previous is not None:
        await asyncio.gather(previous, return_exceptions=True)
    facts = FactStore(state.store)
    try:
        result = await asyncio.to_thread(facts.scan_session, state.id, str(state.workspace))
    except Exception as exc:  # a fact scan never takes a session down
        state.emit(p.Warning(f"could not save remembered facts: {exc}"))
        return
    if result.added:
        state.emit(p.FactsExtracted(len(result.added), tuple(f.content for f in result.added)))


def schedule_fact_scan(state: SessionState) -> None:
    """After a turn: extract facts from the user's new messages in the background."""
    tr = tracker(state)
    tr.scan_task = asyncio.create_task(_scan(state, tr.scan_task))


async def finish_session(state: SessionState) -> None:
    """At session end: wait for background scans and scan what is left."""
    tr = tracker(state)
    previous, tr.scan_task = tr.scan_task, None
    await _scan(state, previous)
    if tr.window_task is not None and not tr.window_task.done():
        tr.window_task.cancel()


# --------------------------------------------------------------------------- offline


async def compact_stored_session(
    store: Store,
    record: SessionRecord,
    config: Config,
    model: ModelClient,
    system_prompt: str,
    emit: Callable[[p.Event], None],
) -> FoldOutcome | None:
    """``hermes sessions compact ID``: fold a stored session's older turns now. Raises
    :class:`CompactionFailed` when the summary call fails."""
    from hermes.engine.view import rebuild_view

    stored = await asyncio.to_thread(store.load_messages, record.id)
    records = await asyncio.to_thread(load_compactions, store, record.id)
    tr = ContextTracker()
    history = apply_records(list(rebuild_view(stored).messages), stored, records, tr)
    tr.window, warning = await resolve_context_window(
        config.model.context_window, model.list_models, model.config.name
    )
    if warning:
        emit(p.Warning(warning))
    budget = await _budget(tr, config, model, emit)
    tokens = await asyncio.to_thread(budget.count, [Message("system", system_prompt), *history], ())
    compactor = Compactor(
        session_id=record.id,
        workspace=record.workspace,
        store=store,
        model=model,
        budget=budget,
        keep_recent_tokens=config.compaction.keep_recent_tokens,
        emit=emit,
    )
    return await compactor.run(system_prompt, history, tr, tokens, manual=True)
