"""``hermes approvals list|revoke``: the approval rules in force for a workspace."""

from __future__ import annotations

import argparse
import json
import sys

from hermes.approvals_rules import list_rules, revoke_rule
from hermes.config import ConfigError
from hermes.startup import StartupError, workspace_from


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``approvals`` command."""
    parser = subparsers.add_parser("approvals", help="list or revoke approval rules")
    sub = parser.add_subparsers(dest="approvals_command", metavar="ACTION", required=True)
    p_list = sub.add_parser("list", help="allow/deny rules from the config files")
    p_list.add_argument("--json", action="store_true")
    p_list.add_argument("-C", "--cwd", metavar="DIR", help="the workspace (default: .)")
    p_list.set_defaults(func=cmd_list)
    p_revoke = sub.add_parser("revoke", help="remove an allow rule from the workspace config")
    p_revoke.add_argument("rule", help='e.g. "terminal:npm test"')
    p_revoke.add_argument("-C", "--cwd", metavar="DIR", help="the workspace (default: .)")
    p_revoke.set_defaults(func=cmd_revoke)


def cmd_list(args: argparse.Namespace) -> int:
    try:
        rules = list_rules(workspace_from(args))
    except (ConfigError, StartupError) as exc:
        print(f"hermes: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps([{"rule": r.rule, "kind": r.kind, "source": str(r.source)} for r in rules])
        )
        return 0
    if not rules:
        print("no approval rules (answers of 'always' last for their session only)")
    for r in rules:
        print(f"{r.kind:5}  {r.rule}  [{r.source}]")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    try:
        path = revoke_rule(workspace_from(args), args.rule)
    except (ConfigError, StartupError) as exc:
        print(f"hermes: error: {exc}", file=sys.stderr)
        return 2
    if path is None:
        print(
            f"hermes: error: no allow rule {args.rule!r} in this workspace's config",
            file=sys.stderr,
        )
        return 2
    print(f"revoked {args.rule!r} in {path}")
    return 0
