"""The remembered-facts block of a new session's system prompt.

The most relevant facts (global ones and this workspace's) by confidence, recency and
repetition, as many as fit the budget (``prompt.facts_budget_tokens``, default 500).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from hermes.memory.facts.store import Fact, FactStore
from hermes.store.sessions import Store, StoreError

__all__ = ["FACTS_HEADER", "choose", "facts_block", "relevant_facts", "remembered_facts_block"]

_RECENCY_DAYS = 30.0


def _score(f: Fact, now: float) -> float:
    """Confidence, decayed by age (half weight after ~30 days), nudged by repetition."""
    age_days = max(0.0, now - f.last_seen) / 86_400
    recency = 1.0 / (1.0 + age_days / _RECENCY_DAYS)
    repeats = 1.0 + 0.1 * min(max(f.times_seen - 1, 0), 5)
    return f.confidence * (0.5 + 0.5 * recency) * repeats


FACTS_HEADER = (
    "Remembered facts (learned in earlier sessions; the user can review and forget them "
    "with /facts). Follow them unless the user now says otherwise:"
)


def _line(f: Fact) -> str:
    return f"- {f.content}"


def facts_block(facts: Sequence[Fact]) -> str:
    """The system prompt block for ``facts`` ("" when there are none)."""
    if not facts:
        return ""
    return "\n".join([FACTS_HEADER, *(_line(f) for f in facts)])


def relevant_facts(
    facts: FactStore,
    workspace: str,
    budget_tokens: int,
    *,
    count: Callable[[str], int],
    now: float | None = None,
) -> list[Fact]:
    """The facts for a new session's system prompt: active, global or this workspace's,
    best first (confidence, recency, times seen), as many as fit ``budget_tokens``
    measured by ``count`` on their prompt lines."""
    if budget_tokens <= 0:
        return []
    now = time.time() if now is None else now
    return choose(facts.list(workspace=workspace), budget_tokens, count, now)


def remembered_facts_block(
    workspace: str,
    budget_tokens: int,
    *,
    count: Callable[[str], int],
    store: Store | None = None,
) -> str:
    """The facts block for a new session in ``workspace``. Without ``store``, the default
    database is read if it exists (never created). A database problem gives no block."""
    if budget_tokens <= 0:
        return ""
    opened = None
    try:
        if store is None:
            from hermes.paths import database_path

            path = database_path()
            if not path.exists():
                return ""
            opened = store = Store(path)
        return facts_block(relevant_facts(FactStore(store), workspace, budget_tokens, count=count))
    except StoreError:
        return ""
    finally:
        if opened is not None:
            opened.close()


def choose(
    facts: Sequence[Fact], budget_tokens: int, count: Callable[[str], int], now: float
) -> list[Fact]:
    """The best of ``facts`` whose prompt lines (and the header) fit ``budget_tokens``."""
    ranked = sorted(facts, key=lambda f: (-_score(f, now), -f.last_seen, -f.id))
    chosen: list[Fact] = []
    used = count(FACTS_HEADER) + 1
    for f in ranked:
        cost = count(_line(f)) + 1
        if used + cost > budget_tokens:
            continue
        chosen.append(f)
        used += cost
    return chosen
