"""``/facts``: what hermes remembers across sessions, as lines of text (no textual here).

Shared by the TUI and the plain REPL: ``/facts`` lists the facts that apply in this
workspace, ``/facts forget ID`` forgets one.
"""

from __future__ import annotations

from pathlib import Path

from hermes.store import Store


def facts_lines(store: Store, workspace: Path) -> list[str]:
    """One line per fact (``#id [category] content · scope``); [] when there are none."""
    try:
        from hermes.facts import list_facts
    except ImportError:  # a build without the fact store
        return []
    return [f"#{f.id} [{f.category}] {f.content} · {f.scope}" for f in list_facts(store, workspace)]


def facts_command(store: Store, workspace: Path, arg: str) -> str:
    """What ``/facts [forget ID]`` answers."""
    words = arg.split()
    if not words:
        lines = facts_lines(store, workspace)
        if not lines:
            return "no facts yet"
        return "\n".join([*lines, "(forget one with /facts forget ID)"])
    if words[0] == "forget" and len(words) == 2 and words[1].lstrip("#").isdigit():
        from hermes.facts import forget_fact

        fact_id = int(words[1].lstrip("#"))
        if forget_fact(store, fact_id):
            return f"forgot fact #{fact_id}"
        return f"no fact #{fact_id}"
    return "usage: /facts, or /facts forget ID"
