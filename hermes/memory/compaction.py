"""Compaction: folding old turns of a session into a model-written summary.

Order (issue 5): facts are extracted from the turns about to be folded and committed;
the model is asked for a summary that updates the previous one; the folded turns are
replaced in the model's view by the summary, and the fold is recorded (``compactions``
row, folded messages marked) so resume rebuilds the same view. If the summary call
fails nothing is dropped.

A compaction always shrinks the request (issue 20): the summary request carries a
``max_tokens`` cap (:attr:`ContextBudget.summary_cap`), and when the folded view is
still not smaller, the oldest tool outputs kept verbatim are folded to digests too (in
the same recorded step); if even that does not make it smaller, nothing is changed. The hooks the turn loop and the engine call are in
:mod:`hermes.context_hooks`; this module holds the work itself and its persistence.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hermes import protocol as p
from hermes.memory.budget import (
    MIN_GAIN_FRACTION,
    ContextBudget,
    ParsedSummary,
    SummaryFact,
    digest_line,
    digest_results,
    is_digest,
    parse_summary,
    plan_digest,
    plan_fold,
    summary_message,
    summary_request,
)
from hermes.memory.facts.store import FactStore, MergeResult, NewFact, default_scope_is_global
from hermes.messages import Message, ToolCall
from hermes.model.base import ModelClient, ModelError
from hermes.redact import redact
from hermes.store.sessions import ModelCallRecord, Store, StoredMessage

SUMMARY_CONFIDENCE = 0.6
"""Confidence of facts listed by the model in a summary (rules give 0.7-0.9)."""


@dataclass
class ContextTracker:
    """Per-session compaction state (kept in ``SessionState.context``)."""

    budget: ContextBudget | None = None
    encoding: str = ""
    window: int = 0
    window_model: str = ""
    window_task: asyncio.Task[tuple[int, str | None]] | None = None
    summary: str = ""
    summary_message: Message | None = None
    total_folded: int = 0
    failures: int = 0
    retry_turn: int = 0
    manual_pending: bool = False
    anchor: tuple[int, int] | None = None  # (history length sent, provider prompt tokens)
    scan_task: asyncio.Task[None] | None = None

    def head(self, history: Sequence[Message]) -> int:
        """How many leading messages are pinned: the first user request, and the
        current summary when there is one."""
        if not history:
            return 0
        return 2 if len(history) > 1 and history[1] is self.summary_message else 1


@dataclass(frozen=True)
class CompactionRecord:
    """One ``compactions`` row: a summary fold or a tool-output digest."""

    kind: str  # "summary" | "digest"
    summary: str
    folded_through_seq: int
    turns_folded: int
    total_folded: int
    tokens_before: int
    tokens_after: int
    created_at: float


@dataclass(frozen=True)
class FoldOutcome:
    """A finished compaction: the new history and what it cost."""

    history: tuple[Message, ...]
    summary: str
    summary_message: Message
    total_folded: int
    turns: int
    tokens_before: int
    tokens_after: int
    persisted: bool
    digested: int = 0  # tool outputs kept verbatim but folded to digests to shrink more


class CompactionFailed(Exception):
    """The summary could not be made; nothing was changed."""


# --------------------------------------------------------------------------- persistence


def load_compactions(store: Store, session_id: str) -> list[CompactionRecord]:
    """The session's compaction records, oldest first."""
    rows = store.read(
        "SELECT kind, summary, folded_through_seq, turns_folded, total_folded, tokens_before, "
        "tokens_after, created_at FROM compactions WHERE session_id = ? ORDER BY id",
        (session_id,),
    )
    return [CompactionRecord(*r) for r in rows]


def record_compaction(
    store: Store, session_id: str, rec: CompactionRecord, fold_after_seq: int | None = None
) -> None:
    """Write a record; for a summary, mark the messages after ``fold_after_seq`` (the first
    user request) up to ``rec.folded_through_seq`` folded, in the same transaction."""
    with store.write() as db:
        if rec.kind == "summary" and fold_after_seq is not None:
            db.execute(
                "UPDATE messages SET folded = 1 WHERE session_id = ? AND seq > ? AND seq <= ? "
                "AND folded = 0",
                (session_id, fold_after_seq, rec.folded_through_seq),
            )
        db.execute(
            "INSERT INTO compactions (session_id, kind, summary, folded_through_seq, "
            "turns_folded, total_folded, tokens_before, tokens_after, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                rec.kind,
                redact(rec.summary),
                rec.folded_through_seq,
                rec.turns_folded,
                rec.total_folded,
                rec.tokens_before,
                rec.tokens_after,
                rec.created_at or time.time(),
            ),
        )


def align(
    history: Sequence[Message], stored: Sequence[StoredMessage], skip: Message | None
) -> list[StoredMessage] | None:
    """The stored record of each non-tool message of a live history, in order (``skip``,
    the summary, is not stored). None when they do not line up (then the fold is kept in
    memory only)."""
    live = [m for m in history if m.role != "tool" and m is not skip]
    rows = [s for s in stored if not s.folded and s.message.role not in ("tool", "system")]
    if len(live) != len(rows) or any(
        a.role != b.message.role for a, b in zip(live, rows, strict=True)
    ):
        return None
    return rows


def _nontool_index(history: Sequence[Message], index: int, skip: Message | None) -> int:
    return sum(1 for m in history[:index] if m.role != "tool" and m is not skip)


def apply_records(
    history: Sequence[Message],
    stored: Sequence[StoredMessage],
    records: Sequence[CompactionRecord],
    tracker: ContextTracker,
) -> list[Message]:
    """The resumed view: digests re-applied, the latest summary after the first request.

    ``history`` is the rebuilt view of the messages not folded (its non-tool messages
    are the stored objects themselves, which is how their positions are found)."""
    out = list(history)
    digest_through = max((r.folded_through_seq for r in records if r.kind == "digest"), default=-1)
    if digest_through >= 0:
        seqs = {id(s.message): s.seq for s in stored}
        calls: dict[str, ToolCall] = {}
        owner = -1
        for i, msg in enumerate(out):
            calls.update((c.id, c) for c in msg.tool_calls)
            if msg.role != "tool":
                owner = seqs.get(id(msg), owner)
            elif owner <= digest_through and not is_digest(msg):
                line = digest_line(calls.get(msg.tool_call_id or ""), msg.content or "")
                out[i] = Message("tool", line, (), msg.tool_call_id)
    summaries = [r for r in records if r.kind == "summary"]
    if summaries and out:
        last = summaries[-1]
        message = summary_message(last.summary, last.total_folded)
        out.insert(1, message)
        tracker.summary, tracker.summary_message = last.summary, message
        tracker.total_folded = last.total_folded
    return out


# --------------------------------------------------------------------------- the fold


@dataclass
class Compactor:
    """Folds one session's history: facts, summary call, new view, record."""

    session_id: str
    workspace: str
    store: Store
    model: ModelClient
    budget: ContextBudget
    keep_recent_tokens: int
    emit: Callable[[p.Event], None]
    schemas: Sequence[dict[str, Any]] = ()

    async def run(
        self,
        system_prompt: str,
        history: Sequence[Message],
        tracker: ContextTracker,
        tokens_before: int,
        *,
        manual: bool,
        announce: Callable[[int], None] | None = None,
        apply: Callable[[FoldOutcome], None] | None = None,
    ) -> FoldOutcome | None:
        """Fold what the plan allows; None when there is nothing worth folding. Raises
        :class:`CompactionFailed` when the summary call fails (nothing changed).

        ``announce(turns)`` runs before any work; ``apply(outcome)`` runs right after the
        record is written, shielded from cancellation together with the write, so the
        live view and the store never disagree."""
        budget = self.budget
        head = tracker.head(history)
        tail = budget.tail_budget(self.keep_recent_tokens)
        count = budget.counter.count_message
        plan = await asyncio.to_thread(plan_fold, history, head, tail, count)
        if plan is None or (not manual and plan.tokens < budget.window * MIN_GAIN_FRACTION):
            return None
        if announce is not None:
            announce(plan.turns)
        stored = await asyncio.to_thread(self.store.load_messages, self.session_id)
        rows = align(history, stored, tracker.summary_message)
        kept_seq = first_seq = None
        if rows is not None:
            first_seq = rows[0].seq
            k = _nontool_index(history, plan.cut, tracker.summary_message)
            kept_seq = rows[k].seq if k < len(rows) else stored[-1].seq + 1 if stored else 0
        facts = FactStore(self.store)
        through = None if kept_seq is None else kept_seq - 1
        found = await asyncio.to_thread(
            facts.scan_session, self.session_id, self.workspace, through_seq=through
        )
        self._announce_facts(found)
        folded = history[head : plan.cut]
        summary = await self._summarize(tracker.summary, folded)
        total = tracker.total_folded + plan.turns
        message = summary_message(summary.text, total)
        new_history = (history[0], message, *history[plan.cut :])
        system = Message("system", system_prompt)
        tokens_after = await asyncio.to_thread(budget.count, [system, *new_history], self.schemas)
        before = await asyncio.to_thread(budget.count, [system, *history], self.schemas)
        digested, digest_seq = 0, None
        if tokens_after >= before:  # the summary is no smaller than what it replaces
            shrunk, tokens_after, lead = await self._digest_tail(new_history, system, before)
            if tokens_after >= before:
                raise CompactionFailed(
                    f"the summary would not make the request smaller ({before:,} tokens "
                    "before, as many or more after)"
                )
            digested = sum(1 for a, b in zip(new_history, shrunk, strict=True) if a is not b)
            new_history = shrunk
            if rows is not None and lead is not None:
                k = _nontool_index(history, plan.cut + lead - 2, tracker.summary_message)
                digest_seq = rows[k].seq if k < len(rows) else None
        outcome = FoldOutcome(
            history=new_history,
            summary=summary.text,
            summary_message=message,
            total_folded=total,
            turns=plan.turns,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            persisted=rows is not None,
            digested=digested,
        )

        async def commit() -> None:
            if rows is not None and kept_seq is not None:
                rec = CompactionRecord(
                    "summary",
                    summary.text,
                    kept_seq - 1,
                    plan.turns,
                    total,
                    tokens_before,
                    tokens_after,
                    time.time(),
                )
                await asyncio.to_thread(
                    record_compaction, self.store, self.session_id, rec, first_seq
                )
                if digest_seq is not None:
                    rec = CompactionRecord(
                        "digest", "", digest_seq, 0, total, tokens_before, tokens_after, 0
                    )
                    await asyncio.to_thread(record_compaction, self.store, self.session_id, rec)
            if apply is not None:
                apply(outcome)

        await asyncio.shield(commit())
        if summary.facts:
            sources = [
                s
                for s in stored
                if s.message.role == "user" and (kept_seq is None or s.seq < kept_seq)
            ]
            new = [self._summary_fact(f, sources) for f in summary.facts]
            merged = await asyncio.to_thread(facts.merge, new)
            self._announce_facts(merged)
        return outcome

    async def _digest_tail(
        self, history: tuple[Message, ...], system: Message, target: int
    ) -> tuple[tuple[Message, ...], int, int | None]:
        """``history`` (first request, summary, verbatim tail) with the oldest tool
        outputs of the tail folded to digests until it is below ``target`` tokens (and
        the compaction threshold when it can be): the new history, its tokens, and the
        index of the last step's non-tool message folded (None when none could be)."""
        budget = self.budget
        count = budget.counter.count_message
        tokens = await asyncio.to_thread(budget.count, [system, *history], self.schemas)
        goal = min(target, budget.limit) - 1
        end = await asyncio.to_thread(plan_digest, history, 2, tokens - goal, count)
        new = tuple(digest_results(history, 2, end))
        if all(a is b for a, b in zip(history, new, strict=True)):
            return history, tokens, None
        after = await asyncio.to_thread(budget.count, [system, *new], self.schemas)
        lead = max(i for i in range(2, end) if history[i].role != "tool")
        return new, after, lead

    def _announce_facts(self, result: MergeResult) -> None:
        if result.added:
            self.emit(p.FactsExtracted(len(result.added), tuple(f.content for f in result.added)))

    async def _summarize(self, previous: str, folded: Sequence[Message]) -> ParsedSummary:
        counter = self.budget.counter
        messages = await asyncio.to_thread(
            summary_request, previous, folded, self.budget.transcript_budget, counter.count_text
        )
        name = self.model.config.name
        try:
            reply = await self.model.complete(messages, [], max_tokens=self.budget.summary_cap)
        except ModelError as exc:
            record = ModelCallRecord(
                name, exc.request_bytes, len(messages), 0.0, exc.retries, error=str(exc)
            )
            await asyncio.to_thread(self.store.record_model_call, self.session_id, record)
            raise CompactionFailed(str(exc)) from exc
        usage = reply.usage
        response = {"purpose": "compaction summary", "content": reply.content}
        record = ModelCallRecord(
            model=name,
            request_bytes=reply.request_bytes,
            message_count=len(messages),
            latency_ms=reply.latency_ms,
            retries=reply.retries,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=reply.finish_reason,
            response=json.dumps(response, ensure_ascii=False),
            usage_estimated=usage.estimated if usage else False,
        )
        await asyncio.to_thread(self.store.record_model_call, self.session_id, record)
        parsed = parse_summary(reply.content)
        if parsed is None:
            raise CompactionFailed("the model returned an empty summary")
        return parsed

    def _summary_fact(self, fact: SummaryFact, sources: Sequence[StoredMessage]) -> NewFact:
        """A FACTS line as a fact, linked to the user message that shares most words."""
        words = _words(fact.content)
        best: StoredMessage | None = None
        best_overlap = 0
        for s in sources:
            overlap = len(words & _words(s.message.content or ""))
            if overlap > best_overlap:
                best, best_overlap = s, overlap
        return NewFact(
            category=fact.category,
            content=fact.content,
            subject=fact.subject,
            confidence=SUMMARY_CONFIDENCE,
            workspace=None if default_scope_is_global(fact.category) else self.workspace,
            origin="summary",
            source_session=self.session_id,
            source_message=best.id if best is not None else None,
            source_text=(best.message.content or "")[:300] if best is not None else "",
            said_in=self.workspace,
        )


_WORD = re.compile(r"[a-z0-9_.-]{4,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))
