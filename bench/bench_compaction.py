"""Benchmark the compaction and fact-store paths that run on every request or resume.

Run: ``python bench/bench_compaction.py [--messages 2000] [--facts 1000]``.

On the ~100,000-token history of ``bench_tokens.py`` (encoding loaded, per-message
cache warm, as in a live session) it times: the per-request budget check (provider
tokens + the messages since, and a full local recount), planning a fold, rendering the
summary request, planning digests, and rebuilding a compacted view on resume. On a
real SQLite file it times the rule-based fact scan over a session's user messages and
picking the facts for a new session's system prompt. Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tokens import make_history

from hermes.memory.budget import (
    ContextBudget,
    plan_digest,
    plan_fold,
    summary_request,
)
from hermes.memory.compaction import CompactionRecord, ContextTracker, apply_records
from hermes.memory.facts.recall import relevant_facts
from hermes.memory.facts.store import FactStore, NewFact
from hermes.messages import Message
from hermes.store.sessions import Store, StoredMessage
from hermes.tokens import TokenCounter, estimate_tokens

USER_LINES = (
    "I prefer pytest over unittest.",
    "Please fix the flaky parser test and run it again.",
    "Actually, the port is 5433.",
    "We run tests with make test.",
    "Can you look at src/lexer.py and tell me what the tokenizer does?",
    "I'm on macOS with zsh.",
    "Always use type hints in new code.",
    "Thanks, that works now.",
)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--facts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    history = make_history(args.messages)
    rest = history[1:]
    counter = TokenCounter("o200k_base")
    counter.load()
    total = counter.count_messages(history)
    budget = ContextBudget(int(total / 0.8), 0.8, counter)  # the history sits at the threshold
    counter.count_messages(history)  # warm the per-message cache
    tail = budget.tail_budget(8000)
    new = [Message("assistant", "Done."), Message("user", "Now the next step, please.")]

    rows: list[tuple[str, float]] = []

    def add(name: str, fn: Callable[[], object]) -> None:
        rows.append((name, median_ms(fn, args.repeat)))

    add(
        "budget check, provider tokens + 2 new messages",
        lambda: sum(map(counter.count_message, new)),
    )
    add("budget check, full local recount (warm)", lambda: budget.count(history))
    add("plan a fold (warm)", lambda: plan_fold(rest, 1, tail, counter.count_message))
    plan = plan_fold(rest, 1, tail, counter.count_message)
    assert plan is not None
    folded = rest[plan.head : plan.cut]
    add(
        "render the summary request (folded turns)",
        lambda: summary_request("", folded, budget.window // 2, counter.count_text),
    )
    add(
        "plan digests for 10% of the window",
        lambda: plan_digest(rest, 1, budget.window // 10, counter.count_message),
    )
    stored = [StoredMessage(i, i, m, 0.0, folded=0 < i < plan.cut) for i, m in enumerate(rest)]
    kept = [rest[0], *rest[plan.cut :]]
    record = CompactionRecord("summary", "GOAL:\nx", plan.cut - 1, plan.turns, plan.turns, 0, 0, 0)
    add(
        "rebuild the compacted view on resume",
        lambda: apply_records(kept, stored, [record], ContextTracker()),
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        facts = FactStore(store)
        rec = store.create_session("/bench/ws", "m", "ask")
        n_user = 1000
        for i in range(n_user):
            store.append_message(
                rec.id, Message("user", USER_LINES[i % len(USER_LINES)] + f" (#{i})")
            )
        t0 = time.perf_counter()
        scan = facts.scan_session(rec.id, "/bench/ws")
        scan_ms = (time.perf_counter() - t0) * 1e3
        rows.append((f"fact scan of {n_user:,} user messages (extract + merge, one txn)", scan_ms))
        facts.merge(
            [
                NewFact(
                    "preference",
                    f"The user prefers tool number {i} for job {i % 97}",
                    "",
                    0.5 + (i % 50) / 100,
                    None,
                )
                for i in range(args.facts)
            ]
        )
        add(
            f"pick prompt facts from {args.facts + len(scan.added):,} within 500 tokens",
            lambda: relevant_facts(facts, "/bench/ws", 500, count=estimate_tokens),
        )
        store.close()

    print(f"history: {len(history):,} messages, {total:,} tokens; window {budget.window:,}")
    print(f"fold plan: {plan.turns:,} turns ({plan.tokens:,} tokens) folded, tail from {plan.cut}")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        print(f"  {name:<{width}}  {ms:9.3f} ms")


if __name__ == "__main__":
    main()
