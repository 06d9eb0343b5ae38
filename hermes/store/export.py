"""Exporting a stored session as Markdown (to read) or JSON lines (to process).

Stored text was redacted when it was written; an export redacts it again, so secrets a
later hermes knows (a new format, this process's own credentials) never leave in clear.
Each piece is redacted on its own, never the assembled document.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from hermes.redact import redact, redact_json
from hermes.store.records import CallState, SessionRecord, StoredMessage


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _fence(text: str, lang: str = "") -> str:
    """A fenced code block that no backtick run inside ``text`` can close early."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _arguments(raw: str) -> str:
    """Call arguments pretty-printed, every string in them redacted."""
    try:
        return json.dumps(redact_json(json.loads(raw)), indent=2, ensure_ascii=False)
    except ValueError:
        return redact(raw)


def export_markdown(record: SessionRecord, stored: Sequence[StoredMessage]) -> str:
    """The transcript as Markdown: messages as sections, calls and results as code blocks."""
    names: dict[str, str] = {}
    lines = [
        f"# {redact(record.title) or 'Untitled session'}",
        "",
        f"- session: `{record.id}`",
        f"- workspace: `{record.workspace}`",
        f"- model: `{record.model}` (approvals: {record.approval_mode})",
        f"- started {_when(record.created_at)}, last active {_when(record.updated_at)}",
        f"- {record.message_count} messages, {record.prompt_tokens} prompt + "
        f"{record.completion_tokens} completion tokens",
        "",
    ]
    for item in stored:
        msg = item.message
        if msg.role == "tool":
            name = names.get(msg.tool_call_id or "", "tool")
            note = " (synthesized: the call was interrupted)" if item.synthetic else ""
            lines += [f"**Result of `{name}`**{note}", "", _fence(redact(msg.content or "")), ""]
            continue
        heading = {"user": "User", "assistant": "Assistant", "system": "System"}[msg.role]
        note = " (interrupted)" if item.interrupted else ""
        lines += [f"## {heading}{note}", ""]
        if msg.content:
            lines += [redact(msg.content).rstrip(), ""]
        for call in msg.tool_calls:
            names[call.id] = call.name
            lines += [f"**Call `{call.name}`**", "", _fence(_arguments(call.arguments), "json"), ""]
    return "\n".join(lines).rstrip() + "\n"


def export_jsonl(
    record: SessionRecord,
    stored: Sequence[StoredMessage],
    states: Mapping[str, CallState] | None = None,
) -> str:
    """One JSON object per line: the session first, then each message in the
    chat-completions shape with its ``seq``, time and flags (calls carry their status)."""
    head: dict[str, Any] = {"type": "session", "id": record.id, "title": record.title}
    head |= {
        "workspace": record.workspace,
        "model": record.model,
        "approval_mode": record.approval_mode,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "message_count": record.message_count,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
    }
    out = [json.dumps(redact_json(head), ensure_ascii=False)]
    states = states or {}
    for item in stored:
        row: dict[str, Any] = {"type": "message", "seq": item.seq, "created_at": item.created_at}
        row |= item.message.to_openai()
        if item.interrupted:
            row["interrupted"] = True
        if item.synthetic:
            row["synthetic"] = True
        for call in row.get("tool_calls", ()):
            state = states.get(call["id"])
            if state is not None:
                call["status"] = state.status
        out.append(json.dumps(redact_json(row), ensure_ascii=False))
    return "\n".join(out) + "\n"
