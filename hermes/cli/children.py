"""Subagents' sessions inside their parent's ``hermes sessions show`` (text and JSON).

A ``task`` call is followed by its subagent's session, indented: its messages, its
calls, and its own subagents' (nesting follows the links).
"""

from __future__ import annotations

from typing import Any

from hermes.store.children import ChildLink, children
from hermes.store.sessions import Store, StoredMessage

MAX_DEPTH = 4


def print_child(store: Store, parent: str, call_id: str, indent: str, depth: int = 1) -> None:
    """Print the subagent session(s) started by ``parent``'s call ``call_id``."""
    for link in children(store, parent):
        if link.parent_call_id != call_id:
            continue
        print(
            f"{indent}subagent '{link.agent}'  session {link.session_id}  "
            f"{link.message_count} messages, {link.prompt_tokens} prompt + "
            f"{link.completion_tokens} completion tokens"
        )
        _print_messages(store, link, store.load_messages(link.session_id), indent + "  ", depth)


def _print_messages(
    store: Store, link: ChildLink, stored: list[StoredMessage], indent: str, depth: int
) -> None:
    for m in stored:
        msg = m.message
        if msg.role == "tool":
            note = " (synthesized)" if m.synthetic else ""
            print(f"{indent}tool[{msg.tool_call_id}]{note}: {(msg.content or '')[:200]}")
            continue
        flag = " (interrupted)" if m.interrupted else ""
        print(f"{indent}{msg.role}{flag}: {msg.content or ''}")
        for call in msg.tool_calls:
            print(f"{indent}  -> {call.name}({call.arguments[:200]})")
            if call.name == "task" and depth < MAX_DEPTH:
                print_child(store, link.session_id, call.id, indent + "     ", depth + 1)


def children_json(store: Store, parent: str, depth: int = 1) -> list[dict[str, Any]]:
    """A session's subagents as JSON: link, totals, messages, and theirs in turn."""
    out: list[dict[str, Any]] = []
    for link in children(store, parent):
        item: dict[str, Any] = {
            "session_id": link.session_id,
            "parent_call_id": link.parent_call_id,
            "agent": link.agent,
            "message_count": link.message_count,
            "prompt_tokens": link.prompt_tokens,
            "completion_tokens": link.completion_tokens,
            "messages": [
                m.message.to_openai() | ({"interrupted": True} if m.interrupted else {})
                for m in store.load_messages(link.session_id)
            ],
        }
        if depth < MAX_DEPTH:
            item["subagents"] = children_json(store, link.session_id, depth + 1)
        out.append(item)
    return out
