"""``hermes facts ...`` (list, add, forget remembered facts) and the body of
``hermes sessions compact ID``.

Exit codes: 0 done, 1 the database or the model failed, 2 bad usage or unknown id.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hermes.store import StoreError, open_store

if TYPE_CHECKING:
    from hermes import protocol as p
    from hermes.facts import Fact, FactStore
    from hermes.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_CATEGORIES = ("preference", "correction", "project", "environment")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``facts`` command and its subcommands."""
    parser = subparsers.add_parser("facts", help="facts remembered across sessions")
    sub = parser.add_subparsers(dest="facts_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="remembered facts, newest first, with where each came from")
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.add_argument(
        "--workspace",
        action="store_true",
        help="only the facts that apply here (global ones and this workspace's)",
    )
    p.add_argument("--all", action="store_true", help="also facts a correction superseded")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("forget", help="forget one fact")
    p.add_argument("id", type=int, help="the fact's id (see 'hermes facts list')")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("add", help="remember something across sessions")
    p.add_argument("text", nargs="+", help="the fact, in your words")
    p.add_argument("--category", choices=_CATEGORIES, help="else read from the text")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--global", dest="scope", action="store_const", const="global")
    scope.add_argument("--this-workspace", dest="scope", action="store_const", const="workspace")
    p.set_defaults(func=cmd_add, scope=None)


def _err(message: str) -> None:
    print(f"hermes: error: {message}", file=sys.stderr)


def _workspace(args: argparse.Namespace) -> str:
    return str(Path(getattr(args, "cwd", None) or ".").expanduser().resolve())


def _facts(store: Store) -> FactStore:
    from hermes.facts import FactStore

    return FactStore(store)


def _age(ts: float) -> str:
    delta = max(0.0, time.time() - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return "just now"


def fact_json(fact: Fact) -> dict[str, object]:
    """A fact as a JSON-ready dict (``hermes facts list --json``)."""
    return {
        "id": fact.id,
        "category": fact.category,
        "content": fact.content,
        "subject": fact.subject,
        "scope": fact.scope,
        "workspace": fact.workspace,
        "confidence": fact.confidence,
        "origin": fact.origin,
        "source": {
            "session": fact.source_session,
            "message": fact.source_message,
            "text": fact.source_text,
        },
        "first_seen": fact.first_seen,
        "last_seen": fact.last_seen,
        "times_seen": fact.times_seen,
        "superseded_by": fact.superseded_by,
    }


def format_fact(fact: Fact, source: str) -> list[str]:
    """A fact as the lines ``hermes facts list`` prints."""
    scope = "global" if fact.workspace is None else f"workspace {fact.workspace}"
    state = f" · superseded by #{fact.superseded_by}" if fact.superseded_by else ""
    return [
        f"#{fact.id}  [{fact.category}] {fact.content}",
        f"    {scope} · confidence {fact.confidence:.2f} · seen {fact.times_seen}x · "
        f"last {_age(fact.last_seen)}{state}",
        f"    from: {source}",
    ]


def source_line(store: Store, fact: Fact) -> str:
    """Where a fact came from: how, which session and message, and the sentence."""
    how = {"user": "added by hand", "summary": "compaction summary", "rules": "said"}
    head = how.get(fact.origin, fact.origin)
    if fact.source_session:
        head += f", session {fact.source_session}"
        if fact.source_message is not None:
            rows = store._read("SELECT seq FROM messages WHERE id = ?", (fact.source_message,))
            head += f" message #{rows[0][0]}" if rows else ""
    text = " ".join(fact.source_text.split())
    return f"{head}: {text!r}" if text and fact.origin != "user" else head


def cmd_list(args: argparse.Namespace) -> int:
    """``hermes facts list [--json] [--workspace] [--all]``."""
    try:
        store = open_store()
    except StoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    try:
        facts = _facts(store)
        ws = _workspace(args) if args.workspace else None
        found = facts.list(workspace=ws, include_superseded=args.all)
        if args.json:
            print(json.dumps([fact_json(f) for f in found], ensure_ascii=False))
            return EXIT_OK
        if not found:
            print("no facts remembered yet" + (" for this workspace" if ws else ""))
        for fact in found:
            print("\n".join(format_fact(fact, source_line(store, fact))))
        return EXIT_OK
    except StoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    finally:
        store.close()


def cmd_forget(args: argparse.Namespace) -> int:
    """``hermes facts forget ID``."""
    try:
        store = open_store()
    except StoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    try:
        facts = _facts(store)
        fact = facts.get(args.id)
        if fact is None or not facts.forget(args.id):
            _err(f"no fact with id {args.id} (see 'hermes facts list')")
            return EXIT_USAGE
        print(f"forgot #{fact.id}: {fact.content}")
        return EXIT_OK
    except StoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    finally:
        store.close()


def cmd_add(args: argparse.Namespace) -> int:
    """``hermes facts add TEXT [--category C] [--global | --this-workspace]``."""
    text = " ".join(" ".join(args.text).split())
    if not text:
        _err("the fact is empty")
        return EXIT_USAGE
    try:
        store = open_store()
    except StoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    try:
        result = _facts(store).add(
            text, workspace=_workspace(args), category=args.category, scope=args.scope
        )
    except StoreError as exc:
        _err(str(exc))
        return EXIT_FAILED
    finally:
        store.close()
    for fact in result.added:
        where = "global" if fact.workspace is None else f"workspace {fact.workspace}"
        print(f"remembered #{fact.id} [{fact.category}, {where}]: {fact.content}")
    for fact in result.seen_again:
        print(f"already known #{fact.id}: {fact.content} (seen {fact.times_seen}x)")
    for old in result.superseded:
        print(f"superseded #{old}")
    return EXIT_OK


# --------------------------------------------------------------------------- compact


def compact_session_command(args: argparse.Namespace, store: Store) -> int:
    """``hermes sessions compact ID``: fold the session's older turns into a summary now
    (a model call, with the session's workspace config and model; flags still win)."""
    import asyncio
    import dataclasses

    from hermes import protocol as p
    from hermes.compaction import CompactionFailed
    from hermes.compaction_hooks import compact_stored_session
    from hermes.config import ConfigError, check_endpoint, load_config
    from hermes.model import ModelClient
    from hermes.startup import overrides_from
    from hermes.system_prompt import build_system_prompt

    record = store.get_session(args.id)
    workspace = Path(record.workspace)
    if not workspace.is_dir():
        workspace = Path(_workspace(args))
    try:
        config = load_config(workspace, overrides_from(args))
        if not getattr(args, "model", None) and record.model:
            config = dataclasses.replace(
                config, model=dataclasses.replace(config.model, name=record.model)
            )
        check_endpoint(config)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE
    system = build_system_prompt(workspace, config, store=store)

    def emit(event: p.Event) -> None:
        if isinstance(event, p.Warning):
            print(f"hermes: warning: {event.message}", file=sys.stderr)
        elif isinstance(event, p.FactsExtracted):
            print(f"remembered {event.count} fact(s): " + "; ".join(event.facts))

    async def run() -> object:
        model = ModelClient(config.model, config.api_key)
        try:
            return await compact_stored_session(store, record, config, model, system, emit)
        finally:
            await model.aclose()

    try:
        outcome = asyncio.run(run())
    except CompactionFailed as exc:
        _err(f"compaction failed: {exc}. The session was not changed.")
        return EXIT_FAILED
    from hermes.compaction import FoldOutcome

    if not isinstance(outcome, FoldOutcome):
        print("nothing to compact: the conversation fits in the recent-turns budget")
        return EXIT_OK
    print(
        f"compacted session {record.id}: folded {outcome.turns} turns, "
        f"{outcome.tokens_before:,} -> {outcome.tokens_after:,} tokens"
    )
    print(outcome.summary)
    return EXIT_OK
