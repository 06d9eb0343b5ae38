"""``hermes sessions ...``: list, show, search, export, delete, retitle and compact stored
sessions.

Session IDs may be given by unique prefix. Exit codes: 0 done, 1 the database (or, for
compact, the model) failed, 2 unknown or ambiguous ID, bad configuration, or a refused
confirmation.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from hermes import protocol
from hermes.cli import checkpoints as cli_checkpoints
from hermes.cli.children import children_json, print_child
from hermes.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ago, err, with_store, workspace_arg
from hermes.store.export import export_jsonl, export_markdown
from hermes.store.hook_runs import HookRunRecord, hook_runs
from hermes.store.records import HIT_END, HIT_START
from hermes.store.sessions import ModelCallRecord, SessionRecord, Store

if TYPE_CHECKING:
    pass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sessions`` command and its subcommands."""
    parser = subparsers.add_parser("sessions", help="list, search and manage stored sessions")
    sub = parser.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="sessions of this workspace, newest first")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.add_argument("--all-workspaces", action="store_true", help="every workspace's sessions")
    p.add_argument("--limit", type=int, default=50, help="at most N (default 50)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="one session's messages")
    p.add_argument("id", help="session id or unique prefix")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--calls",
        action="store_true",
        help="the recorded model requests: size, latency, usage, retries, errors",
    )
    p.add_argument(
        "--hooks",
        action="store_true",
        help="the hook runs: event, command, duration, exit code, decision",
    )
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "search", help="full-text search over messages and tool output, in every workspace"
    )
    p.add_argument("query", help="words to find (all must occur; word* for a prefix)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20, help="at most N hits (default 20)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("export", help="write a session as Markdown or JSON lines")
    p.add_argument("id", help="session id or unique prefix")
    p.add_argument("--format", choices=("md", "jsonl"), default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("delete", help="delete a session and everything recorded for it")
    p.add_argument("id", help="session id or unique prefix")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("title", help="set a session's title")
    p.add_argument("id", help="session id or unique prefix")
    p.add_argument("text", nargs="+", help="the new title")
    p.set_defaults(func=cmd_title)

    p = sub.add_parser("compact", help="fold a session's older turns into a summary now")
    p.add_argument("id", help="session id or unique prefix")
    p.set_defaults(func=cmd_compact)
    cli_checkpoints.register_sessions_actions(sub)  # undo, redo, rewind, turns, diff


def session_json(s: SessionRecord) -> dict[str, Any]:
    """A session as a JSON-ready dict."""
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


def call_json(c: ModelCallRecord) -> dict[str, Any]:
    """A recorded model request as a JSON-ready dict."""
    return {
        "created_at": c.created_at,
        "model": c.model,
        "request_bytes": c.request_bytes,
        "message_count": c.message_count,
        "latency_ms": round(c.latency_ms, 1),
        "retries": c.retries,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "usage_estimated": c.usage_estimated,
        "finish_reason": c.finish_reason,
        "error": c.error,
    }


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB"


def cmd_list(args: argparse.Namespace) -> int:
    """``hermes sessions list``."""

    def body(store: Store) -> int:
        ws = None if args.all_workspaces else str(workspace_arg(args))
        # A session nobody said anything in (a start that was quit at once) is not one.
        sessions = store.list_sessions(workspace=ws, limit=args.limit, nonempty=True)
        if args.json:
            print(json.dumps([session_json(s) for s in sessions], ensure_ascii=False))
            return EXIT_OK
        if not sessions:
            where = "" if ws is None else f" in {ws} (--all-workspaces shows every one)"
            print(f"no sessions yet{where}")
        for s in sessions:
            line = f"{s.id}  {ago(s.updated_at):>8}  {s.message_count:>5} msgs  "
            line += s.title or "(untitled)"
            print(line + (f"  [{s.workspace}]" if ws is None else ""))
        return EXIT_OK

    return with_store(body)


def cmd_show(args: argparse.Namespace) -> int:
    """``hermes sessions show ID``."""

    def body(store: Store) -> int:
        record = store.get_session(args.id)
        stored = store.load_messages(record.id)
        calls = store.model_calls(record.id) if args.calls else []
        if args.json:
            data = session_json(record)
            data["messages"] = [
                m.message.to_openai()
                | ({"interrupted": True} if m.interrupted else {})
                | ({"synthetic": True} if m.synthetic else {})
                | ({"folded": True} if m.folded else {})
                for m in stored
            ]
            if args.calls:
                data["model_calls"] = [call_json(c) for c in calls]
            if args.hooks:
                data["hook_runs"] = [dataclasses.asdict(r) for r in hook_runs(store, record.id)]
            data["subagents"] = children_json(store, record.id)
            print(json.dumps(data, ensure_ascii=False))
            return EXIT_OK
        print(f"session {record.id}  {record.title or '(untitled)'}")
        print(f"  workspace {record.workspace}  model {record.model}  {record.approval_mode}")
        print(
            f"  {record.message_count} messages, {record.prompt_tokens} prompt + "
            f"{record.completion_tokens} completion tokens"
        )
        if args.calls:
            _print_calls(calls, sys.stdout)
            return EXIT_OK
        if args.hooks:
            _print_hook_runs(hook_runs(store, record.id), sys.stdout)
            return EXIT_OK
        for m in stored:
            msg = m.message
            if msg.role == "tool":
                note = (" (synthesized)" if m.synthetic else "") + (" (folded)" if m.folded else "")
                print(f"  tool[{msg.tool_call_id}]{note}: {(msg.content or '')[:200]}")
                continue
            flag = (" (interrupted)" if m.interrupted else "") + (" (folded)" if m.folded else "")
            flag += " (added by a hook)" if m.synthetic and msg.role == "user" else ""
            print(f"  {msg.role}{flag}: {msg.content or ''}")
            for call in msg.tool_calls:
                print(f"    -> {call.name}({call.arguments[:200]})")
                if call.name == "task":  # its subagent's session, nested
                    print_child(store, record.id, call.id, "       ")
        return EXIT_OK

    return with_store(body)


def _print_hook_runs(runs: list[HookRunRecord], out: TextIO) -> None:
    if not runs:
        print("  no hook runs recorded", file=out)
        return
    print(
        f"  {'when':<19}  {'event':<16}  {'took':>8}  {'exit':>4}  {'outcome':<11}  "
        "decision  command",
        file=out,
    )
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
        code = "-" if r.exit_code is None else str(r.exit_code)
        tool = f" [{r.tool_name} {r.call_id}]" if r.call_id else ""
        print(
            f"  {when:<19}  {r.event:<16}  {r.duration_ms:>6.0f}ms  {code:>4}  "
            f"{r.outcome:<11}  {r.decision or '-':<8}  {r.command}{tool}",
            file=out,
        )
        if r.message:
            print(f"      {r.message.splitlines()[0][:200]}", file=out)


def _print_calls(calls: list[ModelCallRecord], out: TextIO) -> None:
    if not calls:
        print("  no model requests recorded", file=out)
        return
    print(
        f"  {'#':>3}  {'when':<19}  {'request':>10}  {'msgs':>5}  {'latency':>9}  "
        f"{'tokens in/out':>15}  {'retries':>7}  result",
        file=out,
    )
    for i, c in enumerate(calls, 1):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.created_at))
        # "≈": counted by hermes, the server reported no usage
        tokens = ("≈" if c.usage_estimated else "") + f"{c.prompt_tokens}/{c.completion_tokens}"
        result = f"error: {c.error}" if c.error else c.finish_reason
        print(
            f"  {i:>3}  {when:<19}  {_size(c.request_bytes):>10}  {c.message_count:>5}  "
            f"{c.latency_ms:>7.0f}ms  {tokens:>15}  {c.retries:>7}  {result}",
            file=out,
        )
    total = sum(c.latency_ms for c in calls)
    errors = sum(1 for c in calls if c.error)
    print(f"  {len(calls)} requests, {total / 1000:.1f} s in total, {errors} failed", file=out)
    if any(c.usage_estimated for c in calls):
        print("  ≈ tokens counted by hermes: the server reported no usage", file=out)


def cmd_search(args: argparse.Namespace) -> int:
    """``hermes sessions search QUERY``."""

    def body(store: Store) -> int:
        hits = store.search(args.query, limit=args.limit)
        if args.json:
            rows = [
                {
                    "session_id": h.session_id,
                    "seq": h.seq,
                    "role": h.role,
                    "title": h.title,
                    "snippet": h.snippet,
                    "rank": h.rank,
                }
                for h in hits
            ]
            print(json.dumps(rows, ensure_ascii=False))
            return EXIT_OK
        if not hits:
            print(f"no messages match {args.query!r}")
        bold = sys.stdout.isatty()
        for h in hits:
            snippet = h.snippet
            if bold:
                snippet = snippet.replace(HIT_START, "\x1b[1m").replace(HIT_END, "\x1b[0m")
            print(f"{h.session_id}  #{h.seq:<4} {h.role:<9} {h.title or '(untitled)'}")
            print(f"    {snippet}")
        return EXIT_OK

    return with_store(body)


def _know_credentials() -> None:
    """Register the credentials hermes would use here (loading the config does it)."""
    import os

    from hermes.config import ConfigError, ModelConfig, load_config
    from hermes.redact import register_credentials

    try:
        load_config(Path.cwd())
    except ConfigError:  # a broken config must not stop an export; the env still counts
        register_credentials(None, ModelConfig().api_key_env, os.environ)


def cmd_export(args: argparse.Namespace) -> int:
    """``hermes sessions export ID --format md|jsonl``."""

    def body(store: Store) -> int:
        _know_credentials()  # so the export redacts this user's keys, whatever their shape
        record = store.get_session(args.id)
        stored = store.load_messages(record.id)
        text = (
            export_markdown(record, stored)
            if args.format == "md"
            else export_jsonl(record, stored, store.call_states(record.id))
        )
        if args.output:
            try:
                Path(args.output).write_text(text, encoding="utf-8")
            except OSError as exc:
                err(f"cannot write {args.output}: {exc}")
                return EXIT_FAILED
            print(f"wrote {len(stored)} messages to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return EXIT_OK

    return with_store(body)


def cmd_delete(args: argparse.Namespace) -> int:
    """``hermes sessions delete ID [--yes]``."""

    def body(store: Store) -> int:
        record = store.get_session(args.id)
        if not args.yes:
            question = (
                f"Delete session {record.id} ({record.title or 'untitled'}, "
                f"{record.message_count} messages)? This cannot be undone. [y/N] "
            )
            print(question, end="", file=sys.stderr, flush=True)
            try:
                answer = sys.stdin.readline().strip().lower()
            except (OSError, ValueError):
                answer = ""
            if answer not in ("y", "yes"):
                err("not deleted (answer y to delete, or pass --yes)")
                return EXIT_USAGE
        store.delete_session(record.id)
        print(f"deleted session {record.id}")
        return EXIT_OK

    return with_store(body)


def cmd_title(args: argparse.Namespace) -> int:
    """``hermes sessions title ID TEXT``."""

    def body(store: Store) -> int:
        record = store.get_session(args.id)
        title = " ".join(" ".join(args.text).split())
        store.update_session(record.id, title=title)
        print(f"{record.id}  {title}")
        return EXIT_OK

    return with_store(body)


def cmd_compact(args: argparse.Namespace) -> int:
    """``hermes sessions compact ID``: fold the session's older turns into a summary now
    (a model call, with the session's workspace config and model; flags still win)."""
    return with_store(lambda store: compact_session(args, store))


def compact_session(args: argparse.Namespace, store: Store) -> int:
    """The body of ``hermes sessions compact ID`` on an open store; the exit code."""
    import asyncio

    from hermes.config import ConfigError
    from hermes.engine.memory_hooks import compact_stored_session
    from hermes.engine.startup import StartupError, session_settings
    from hermes.memory.compaction import CompactionFailed, FoldOutcome
    from hermes.model import make_model_client
    from hermes.model.endpoint import check_endpoint
    from hermes.prompt.system import build_system_prompt

    record = store.get_session(args.id)
    try:
        workspace, config = session_settings(args, record)
        check_endpoint(config)
    except StartupError as exc:
        err(str(exc))
        return exc.exit_code
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE
    system = build_system_prompt(workspace, config, store=store)

    async def run() -> FoldOutcome | None:
        model = make_model_client(config.model, config.api_key)
        try:
            return await compact_stored_session(store, record, config, model, system, _show)
        finally:
            await model.aclose()

    try:
        outcome = asyncio.run(run())
    except CompactionFailed as exc:
        err(f"compaction failed: {exc}. The session was not changed.")
        return EXIT_FAILED
    if outcome is None:
        print("nothing to compact: the conversation fits in the recent-turns budget")
        return EXIT_OK
    print(
        f"compacted session {record.id}: folded {outcome.turns} turns, "
        f"{outcome.tokens_before:,} -> {outcome.tokens_after:,} tokens"
    )
    print(outcome.summary)
    return EXIT_OK


def _show(event: protocol.Event) -> None:
    """What compaction reports along the way: warnings, and the facts it kept."""
    if isinstance(event, protocol.Warning):
        print(f"hermes: warning: {event.message}", file=sys.stderr)
    elif isinstance(event, protocol.FactsExtracted):
        print(f"remembered {event.count} fact(s): " + "; ".join(event.facts))
