"""``hermes sessions ...``: list and inspect stored sessions."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from hermes.store import SessionNotFound, SessionRecord, StoreError, open_store


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sessions`` command and its subcommands."""
    parser = subparsers.add_parser("sessions", help="list and inspect stored sessions")
    sub = parser.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)
    p_list = sub.add_parser("list", help="sessions, newest first")
    p_list.add_argument("--json", action="store_true")
    p_list.add_argument("--limit", type=int, default=50)
    p_list.set_defaults(func=cmd_list)
    p_show = sub.add_parser("show", help="one session's messages")
    p_show.add_argument("id")
    p_show.add_argument("--json", action="store_true")
    p_show.set_defaults(func=cmd_show)


def session_json(s: SessionRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "workspace": s.workspace,
        "model": s.model,
        "approval_mode": s.approval_mode,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "message_count": s.message_count,
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
    }


def _age(ts: float) -> str:
    delta = max(0, time.time() - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return "just now"


def cmd_list(args: argparse.Namespace) -> int:
    try:
        store = open_store()
    except StoreError as exc:
        print(f"hermes: error: {exc}", file=sys.stderr)
        return 1
    try:
        sessions = store.list_sessions(limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([session_json(s) for s in sessions], ensure_ascii=False))
        return 0
    if not sessions:
        print("no sessions yet")
    for s in sessions:
        title = s.title or "(untitled)"
        print(
            f"{s.id}  {_age(s.updated_at):>8}  {s.message_count:>5} msgs  {title}  [{s.workspace}]"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        store = open_store()
    except StoreError as exc:
        print(f"hermes: error: {exc}", file=sys.stderr)
        return 1
    try:
        try:
            record = store.get_session(args.id)
        except SessionNotFound as exc:
            print(f"hermes: error: {exc}", file=sys.stderr)
            return 2
        stored = store.load_messages(record.id)
    finally:
        store.close()
    if args.json:
        data = session_json(record)
        data["messages"] = [m.message.to_openai() for m in stored]
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"session {record.id}  {record.title}  [{record.workspace}]  model {record.model}")
    for m in stored:
        msg = m.message
        flag = " (interrupted)" if m.interrupted else ""
        if msg.role == "tool":
            print(f"  tool[{msg.tool_call_id}]: {(msg.content or '')[:200]}")
            continue
        print(f"  {msg.role}{flag}: {msg.content or ''}")
        for call in msg.tool_calls:
            print(f"    -> {call.name}({call.arguments[:200]})")
    return 0
