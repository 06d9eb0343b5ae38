"""``hermes facts ...``: list, add and forget remembered facts.

Exit codes: 0 done, 1 the database failed, 2 bad usage or unknown id.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from hermes.cli.common import EXIT_OK, EXIT_USAGE, ago, err, with_store, workspace_arg

if TYPE_CHECKING:
    from hermes.memory.facts.store import Fact, FactStore
    from hermes.store.sessions import Store

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


def _facts(store: Store) -> FactStore:
    from hermes.memory.facts.store import FactStore

    return FactStore(store)


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
        f"last {ago(fact.last_seen)}{state}",
        f"    from: {source}",
    ]


def source_line(store: Store, fact: Fact) -> str:
    """Where a fact came from: how, which session and message, and the sentence."""
    how = {"user": "added by hand", "summary": "compaction summary", "rules": "said"}
    head = how.get(fact.origin, fact.origin)
    if fact.source_session:
        head += f", session {fact.source_session}"
        if fact.source_message is not None:
            rows = store.read("SELECT seq FROM messages WHERE id = ?", (fact.source_message,))
            head += f" message #{rows[0][0]}" if rows else ""
    text = " ".join(fact.source_text.split())
    return f"{head}: {text!r}" if text and fact.origin != "user" else head


def cmd_list(args: argparse.Namespace) -> int:
    """``hermes facts list [--json] [--workspace] [--all]``."""

    def body(store: Store) -> int:
        ws = str(workspace_arg(args)) if args.workspace else None
        found = _facts(store).list(workspace=ws, include_superseded=args.all)
        if args.json:
            print(json.dumps([fact_json(f) for f in found], ensure_ascii=False))
            return EXIT_OK
        if not found:
            print("no facts remembered yet" + (" for this workspace" if ws else ""))
        for fact in found:
            print("\n".join(format_fact(fact, source_line(store, fact))))
        return EXIT_OK

    return with_store(body)


def cmd_forget(args: argparse.Namespace) -> int:
    """``hermes facts forget ID``."""

    def body(store: Store) -> int:
        facts = _facts(store)
        fact = facts.get(args.id)
        if fact is None or not facts.forget(args.id):
            err(f"no fact with id {args.id} (see 'hermes facts list')")
            return EXIT_USAGE
        print(f"forgot #{fact.id}: {fact.content}")
        return EXIT_OK

    return with_store(body)


def cmd_add(args: argparse.Namespace) -> int:
    """``hermes facts add TEXT [--category C] [--global | --this-workspace]``."""
    text = " ".join(" ".join(args.text).split())
    if not text:
        err("the fact is empty")
        return EXIT_USAGE

    def body(store: Store) -> int:
        result = _facts(store).add(
            text, workspace=str(workspace_arg(args)), category=args.category, scope=args.scope
        )
        for fact in result.added:
            where = "global" if fact.workspace is None else f"workspace {fact.workspace}"
            print(f"remembered #{fact.id} [{fact.category}, {where}]: {fact.content}")
        for fact in result.seen_again:
            print(f"already known #{fact.id}: {fact.content} (seen {fact.times_seen}x)")
        for old in result.superseded:
            print(f"superseded #{old}")
        return EXIT_OK

    return with_store(body)
