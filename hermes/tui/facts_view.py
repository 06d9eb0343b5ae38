"""``/facts``: what hermes remembers across sessions, as lines of text (no textual here).

The fact store (``hermes.facts``) is optional at this layer: when it is missing, or
offers no listing, the answer is simply that there are no facts yet.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from hermes.store import Store

_LISTERS = ("list_facts", "all_facts", "load_facts")


def facts_lines(store: Store, workspace: Path) -> list[str]:
    """One line per remembered fact (``[category] content``), or [] when there are none."""
    try:
        module = importlib.import_module("hermes.facts")
    except ImportError:
        return []
    facts: Any = None
    for name in _LISTERS:
        lister = getattr(module, name, None)
        if callable(lister):
            facts = _call(lister, store, workspace)
            break
    if facts is None:
        return []
    lines = []
    for fact in facts:
        content = getattr(fact, "content", None) or str(fact)
        category = getattr(fact, "category", "")
        lines.append(f"[{category}] {content}" if category else str(content))
    return lines


def _call(lister: Any, store: Store, workspace: Path) -> Any:
    for args in ((store,), (store.path,), ()):
        try:
            return lister(*args)
        except TypeError:
            continue
    return None
