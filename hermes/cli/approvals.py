"""``hermes approvals list|revoke``: the approval rules in force for a workspace."""

from __future__ import annotations

import argparse
import json

from hermes.cli.common import EXIT_OK, EXIT_USAGE, err
from hermes.config import ConfigError
from hermes.engine.startup import StartupError, workspace_from
from hermes.safety.saved_rules import list_rules, revoke_rule


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``approvals`` command."""
    parser = subparsers.add_parser("approvals", help="list or revoke approval rules")
    sub = parser.add_subparsers(dest="approvals_command", metavar="ACTION", required=True)
    p_list = sub.add_parser("list", help="allow/deny rules from the config files")
    p_list.add_argument("--json", action="store_true")
    p_list.add_argument("-C", "--cwd", metavar="DIR", help="the workspace (default: .)")
    p_list.add_argument("--session", metavar="ID", help="also the 'always' grants of session ID")
    p_list.set_defaults(func=cmd_list)
    p_revoke = sub.add_parser("revoke", help="remove an allow rule from the workspace config")
    p_revoke.add_argument("rule", help='e.g. "terminal:npm test"')
    p_revoke.add_argument("-C", "--cwd", metavar="DIR", help="the workspace (default: .)")
    p_revoke.add_argument("--session", metavar="ID", help="revoke a grant of session ID instead")
    p_revoke.set_defaults(func=cmd_revoke)


def _session_grants(session: str) -> tuple[str, list[str]]:
    from hermes.store.sessions import open_store

    store = open_store()
    try:
        record = store.get_session(session)
        return record.id, store.session_grants(record.id)
    finally:
        store.close()


def cmd_list(args: argparse.Namespace) -> int:
    from hermes.store.sessions import StoreError

    try:
        rules = list_rules(workspace_from(args))
        sid, grants = _session_grants(args.session) if args.session else ("", [])
    except (ConfigError, StartupError, StoreError) as exc:
        err(str(exc))
        return EXIT_USAGE
    if args.json:
        out = [{"rule": r.rule, "kind": r.kind, "source": str(r.source)} for r in rules]
        out += [{"rule": g, "kind": "grant", "source": f"session {sid}"} for g in grants]
        print(json.dumps(out))
        return EXIT_OK
    if not rules and not grants:
        print("no approval rules (answers of 'always' last for their session only)")
    for r in rules:
        print(f"{r.kind:5}  {r.rule}  [{r.source}]")
    for g in grants:
        print(f"grant  {g}  [session {sid}]")
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    from hermes.store.sessions import StoreError, open_store

    try:
        if args.session:
            store = open_store()
            try:
                record = store.get_session(args.session)
                found = store.revoke_grant(record.id, args.rule)
            finally:
                store.close()
            where = f"session {record.id}"
        else:
            path = revoke_rule(workspace_from(args), args.rule)
            found, where = path is not None, str(path)
    except (ConfigError, StartupError, StoreError) as exc:
        err(str(exc))
        return EXIT_USAGE
    if not found:
        scope = f"session {args.session}" if args.session else "this workspace's config"
        err(f"no rule {args.rule!r} in {scope}")
        return EXIT_USAGE
    print(f"revoked {args.rule!r} in {where}")
    return EXIT_OK
