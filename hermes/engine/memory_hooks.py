"""Where compaction and fact extraction meet the turn loop, the engine and the CLI.

- :func:`before_request` (turn loop, before each model request): resolves the window
  (:mod:`hermes.engine.endpoint_hooks`, never while a request streams), counts the view
  (the provider's reported prompt tokens when it gave them, plus the messages since),
  compacts at the threshold, and folds old tool outputs to digests when the request
  would still not fit.
- :func:`note_usage` (turn loop, after each reply): remembers the reported prompt tokens
  (never an estimate: compaction is not anchored on a guess).
- :func:`overflow_of` / :func:`fold_for_overflow` / :func:`does_not_fit` (turn loop, when
  a request did not fit the window): fold or digest once, else say what does not fit.
  A request larger than a known window even after folding is not sent at all
  (:class:`RequestTooLarge`).
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hermes import protocol as p
from hermes.engine import endpoint_hooks, hook_calls
from hermes.memory.budget import ContextBudget, digest_line, digest_results, plan_digest
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
from hermes.messages import Message, ToolCall
from hermes.model.base import ModelContextOverflow, ModelEmptyStream, ModelError
from hermes.model.endpoint import guess_window, lookup_window, window_from_error
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


async def _resolve_window(state: SessionState) -> ContextTracker:
    """The window for the next request (config, the endpoint's cached profile, or the
    endpoint asked now, before the request is sent)."""
    tr = tracker(state)
    tr.window = await endpoint_hooks.ensure_window(state)
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


async def ensure_budget(state: SessionState) -> ContextBudget:
    """Resolve the window (see :func:`_resolve_window`) and build the budget."""
    tr = await _resolve_window(state)
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


def note_usage(
    state: SessionState, view_length: int, prompt_tokens: int, *, estimated: bool = False
) -> None:
    """After a reply: the provider counted ``prompt_tokens`` for a view of ``view_length``
    messages (system included); later counts start from it. An ``estimated`` count (the
    server reported none) is no anchor: the budget's own count is closer."""
    anchored = prompt_tokens > 0 and not estimated
    tracker(state).anchor = (view_length - 1, prompt_tokens) if anchored else None


async def before_request(state: SessionState) -> None:
    """Before each model request: compact at the threshold (or when asked), and fold
    old tool outputs to digests if the request would still not fit the window."""
    tr = await _resolve_window(state)
    forced = tr.manual_pending
    # Until something could need folding, skip loading the encoding (~0.2 s of CPU):
    # a new session's first request must not wait for it.
    if not forced and tr.budget is None:
        if _fits_by_bytes(state, tr.window, state.config.compaction.threshold):
            return
    budget = await ensure_budget(state)
    schemas = state.tool_schemas()
    tokens = await _tokens(state, budget, schemas)
    if forced or (tokens >= budget.limit and state.turns >= tr.retry_turn):
        tr.manual_pending = False
        outcome = await _compact(state, budget, tokens, manual=forced)
        if outcome is not None:
            tokens = outcome.tokens_after
    if tokens > budget.hard_limit:
        folded = await _digest(state, budget, tokens, schemas, quiet=True)
        after = await asyncio.to_thread(budget.count, state.model_view(), schemas)
        if after > budget.window and endpoint_hooks.window_is_known(state):
            raise RequestTooLarge(Overflow(after, None, ""))  # sending it cannot succeed
        if not folded:
            state.emit(
                p.Warning(
                    f"the request ({tokens:,} tokens) may not fit the "
                    f"{budget.window:,}-token window; nothing is left to fold"
                )
            )


def request_compaction(state: SessionState) -> None:
    """``Compact`` while a turn runs: compact before its next model request."""
    tracker(state).manual_pending = True
    state.emit(p.Warning("compaction will run before the next model request", kind="compaction"))


async def compact_now(state: SessionState) -> bool:
    """``Compact`` while idle: compact now, whatever the threshold. True when folded."""
    budget = await ensure_budget(state)
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
    state: SessionState,
    budget: ContextBudget,
    tokens: int,
    *,
    manual: bool,
    overflow: bool = False,
) -> FoldOutcome | None:
    await hook_calls.pre_compact(state, manual=manual)  # PreCompact hooks
    tr = tracker(state)
    emit = state.emit
    snapshot = list(state.history)

    def announce(turns: int) -> None:
        why = (
            "(the request did not fit the window)"
            if overflow
            else "on request"
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
        if manual and not overflow:
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
            0,
            0,
            state.prompt_tokens,
            state.completion_tokens,
            outcome.tokens_after,
            budget.window,
            estimated=state.usage_estimated,
        )
    )
    return outcome


async def _digest(
    state: SessionState,
    budget: ContextBudget,
    tokens: int,
    schemas: Sequence[Any],
    *,
    target: int | None = None,
    quiet: bool = False,
) -> bool:
    """Fold old tool outputs to one-line digests (no model call) until the request fits
    (``target`` tokens, default the budget's hard limit). True when any was folded."""
    tr = tracker(state)
    snapshot = list(state.history)
    head = tr.head(snapshot)
    count = budget.counter.count_message
    excess = tokens - (budget.hard_limit if target is None else target)
    end = await asyncio.to_thread(plan_digest, snapshot, head, excess, count)
    new = digest_results(snapshot, head, end)
    changed = sum(1 for a, b in zip(snapshot, new, strict=True) if a is not b)
    if not changed:
        if not quiet:
            state.emit(
                p.Warning(
                    f"the request ({tokens:,} tokens) may not fit the "
                    f"{budget.window:,}-token window; nothing is left to fold"
                )
            )
        return False
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
    return True


# --------------------------------------------------------------------------- overflow


@dataclass(frozen=True)
class Overflow:
    """A request that did not fit the model's window: its size as counted here, the
    window the server's error named (None when it named none), and what it said."""

    tokens: int
    named_window: int | None
    message: str


class RequestTooLarge(Exception):
    """The next request is larger than the known window even after folding: it is not
    sent (see :func:`does_not_fit` for what to tell the user)."""

    def __init__(self, overflow: Overflow) -> None:
        super().__init__(f"the request is about {overflow.tokens:,} tokens")
        self.overflow = overflow


async def overflow_of(state: SessionState, exc: ModelError) -> Overflow | None:
    """Is ``exc`` a context overflow? A :class:`ModelContextOverflow` always is; a
    :class:`ModelEmptyStream` (llama.cpp's answer to a prompt too large) when the request
    reached the compaction threshold or the window is only a guess."""
    if not isinstance(exc, ModelContextOverflow | ModelEmptyStream):
        return None
    budget = await ensure_budget(state)
    tokens = await asyncio.to_thread(budget.count, state.model_view(), state.tool_schemas())
    if isinstance(exc, ModelEmptyStream) and tokens < budget.limit:
        if endpoint_hooks.window_is_known(state):
            return None
    return Overflow(tokens, window_from_error(str(exc)), str(exc))


async def fold_for_overflow(state: SessionState, overflow: Overflow) -> bool:
    """Once per overflow: take the window the error named (cached), or assume a smaller
    one for this session; compact, then fold tool outputs to digests until the request
    fits. True when the request is now smaller than the one that did not fit."""
    if overflow.named_window:
        if await endpoint_hooks.learn_window(state, overflow.named_window):
            state.emit(
                p.Warning(
                    f"the server says the context window is {overflow.named_window:,} tokens; "
                    "using that from now on"
                )
            )
    else:
        endpoint_hooks.lower_window(state, overflow.tokens * 3 // 4)
    budget = await ensure_budget(state)
    schemas = state.tool_schemas()
    tracker(state).anchor = None
    await _compact(state, budget, overflow.tokens, manual=True, overflow=True)
    tokens = await asyncio.to_thread(budget.count, state.model_view(), schemas)
    if tokens > budget.hard_limit:
        await _digest(state, budget, tokens, schemas, quiet=True)
        tokens = await asyncio.to_thread(budget.count, state.model_view(), schemas)
    return tokens < overflow.tokens


def _part_name(view: Sequence[Message], index: int, summary: Message | None) -> tuple[str, str]:
    """What ``view[index]`` is, in words, and what to do about it when it is too large."""
    msg = view[index]
    if index == 0:
        return (
            "the system prompt (instructions, AGENTS.md, remembered facts, skills)",
            "Shorten AGENTS.md, or forget facts with 'hermes facts'.",
        )
    if msg is summary:
        return "the summary of earlier turns", "Start a new session (/new)."
    if msg.role == "user":
        last = max(i for i, m in enumerate(view) if m.role == "user")
        who = "your message" if index == last else "an earlier message of yours"
        advice = "Send less text at once (or save it to a file and ask for parts of it)"
        if index == 1:  # the first request is never folded: it stays in this session
            advice += ", in a new session (/new)"
        return who, advice + "."
    if msg.role == "tool":
        calls: dict[str, ToolCall] = {}
        for m in view[:index]:
            calls.update((c.id, c) for c in m.tool_calls)
        line = digest_line(calls.get(msg.tool_call_id or ""), msg.content or "")
        what = line.removeprefix("[tool output folded: ").removesuffix("]")
        return (
            f"the output of {what}",
            "Ask for a smaller part (a line range, a narrower search).",
        )
    return "a reply of the model", "Start a new session (/new)."


async def does_not_fit(state: SessionState, overflow: Overflow) -> str:
    """A plain message saying what does not fit: the request's size against the window,
    and its largest part (which message or tool output, and how large)."""
    budget = await ensure_budget(state)
    view = state.model_view()
    schemas = state.tool_schemas()
    count = budget.counter.count_message
    sizes = await asyncio.to_thread(lambda: [count(m) for m in view])
    tokens = max(overflow.tokens, sum(sizes))
    largest = max(range(len(view)), key=sizes.__getitem__)
    what, advice = _part_name(view, largest, tracker(state).summary_message)
    size = sizes[largest]
    tools = budget.tools_tokens(schemas)
    if tools > size:
        what, size = "the tool definitions", tools
        advice = "Turn off MCP servers or skills you do not need."
    if overflow.named_window:
        window = (
            f"the model's context window of {overflow.named_window:,} tokens (as the server says)"
        )
    elif endpoint_hooks.window_is_known(state):
        window = f"the model's context window of {budget.window:,} tokens"
    else:
        window = f"the model's context window (unknown; {budget.window:,} tokens assumed)"
    return (
        f"the request does not fit {window}: it is about {tokens:,} tokens even after "
        f"folding what could be folded. The largest part is {what} ({size:,} tokens). "
        f"{advice} If the server can take more, start it with a larger context (llama.cpp: "
        "-c N) and set model.context_window to match."
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
    tr.window = await _offline_window(model, config.api_key, emit)
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


async def _offline_window(
    model: ModelClient, api_key: str | None, emit: Callable[[p.Event], None]
) -> int:
    """The window outside a session: config, the cached profile, the endpoint, else the
    guess (said)."""
    from hermes.model.endpoint import load_record

    cfg = model.config
    if cfg.context_window:
        return cfg.context_window
    cached = load_record(cfg.base_url, cfg.name).context_window
    if cached:
        return cached
    found = await lookup_window(cfg.base_url, cfg.name, api_key)
    if found.window:
        return found.window
    guess = guess_window(cfg.base_url)
    why = found.reason or "its /models, /props and /api/show give none"
    emit(
        p.Warning(
            f"the context window of {cfg.name} is unknown ({why}); assuming {guess:,} "
            "tokens. Set model.context_window in config to be exact."
        )
    )
    return guess
