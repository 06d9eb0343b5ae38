"""``hermes approvals list|revoke|check``: the approval rules in force for a workspace,
and what hermes would do with a command (and why) in a given mode."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from hermes.cli.common import EXIT_OK, EXIT_USAGE, err
from hermes.config import ConfigError
from hermes.engine.startup import StartupError, workspace_from
from hermes.protocol import APPROVAL_MODES
from hermes.safety.check import CommandCheck, check_command
from hermes.safety.policy import ApprovalPolicy
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
    p_check = sub.add_parser(
        "check",
        help="what hermes would do with a command, and why",
        description=(
            "Classify COMMAND as hermes would before running it, and print the decision "
            "(allow, ask or deny), the class, every reason, and the 'always' rule that "
            "would be offered. Nothing is run. With --stdin, one command per line is read "
            "and one JSON object per line is written."
        ),
    )
    p_check.add_argument("--mode", choices=APPROVAL_MODES, help="approval mode (default: config)")
    p_check.add_argument("--json", action="store_true", help="one JSON object")
    p_check.add_argument("--stdin", action="store_true", help="commands from stdin; JSON Lines out")
    p_check.add_argument("-C", "--cwd", metavar="DIR", help="the workspace (default: .)")
    p_check.add_argument(
        "--workdir", metavar="DIR", help="where the command runs (default: the workspace)"
    )
    p_check.add_argument(
        "command", nargs=argparse.REMAINDER, help="the command, after -- (words are joined)"
    )
    p_check.set_defaults(func=cmd_check)


def _session_grants(session: str) -> tuple[str, list[str]]:
    from hermes.store.sessions import open_store

    store = open_store()
    try:
        record = store.get_session(session)
        return record.id, store.session_grants(record.id)
    finally:
        store.close()


def cmd_list(args: argparse.Namespace) -> int:
    """``hermes approvals list``: rules from the config files (and a session's grants)."""
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
    """``hermes approvals revoke RULE``: from the workspace config, or a session's grants."""
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


def _policy(args: argparse.Namespace) -> tuple[Path, ApprovalPolicy]:
    """The workspace and the approval policy a session started here would use."""
    from hermes.engine.startup import load

    args.approval_mode = args.mode
    workspace, config = load(args)
    approvals = config.approvals
    return workspace, ApprovalPolicy.from_config(approvals.mode, approvals.allow, approvals.deny)


def _command_text(words: list[str]) -> str:
    if words and words[0] == "--":
        words = words[1:]
    return " ".join(words)


def _stdin_commands(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        command = line.removesuffix("\n").removesuffix("\r")
        if command.strip():
            yield command


def _print_text(result: CommandCheck) -> None:
    print(f"{result.decision}  [{result.tool_class}, mode {result.mode}]  {result.command}")
    for why in result.reasons:
        print(f"  why: {why}")
    if result.always:
        print(f"  rule: {', '.join(result.always)} (what answering always adds)")
    elif result.decision == "ask":
        print("  always: not offered (only 'once')")
    if result.decision == "ask":
        print(f"  headless: {result.headless}")


def cmd_check(args: argparse.Namespace) -> int:
    """``hermes approvals check [--mode M] [--json] -- COMMAND`` and ``--stdin``."""
    command = _command_text(list(args.command or []))
    if args.stdin == bool(command):
        err("give either a command after -- or --stdin (one command per line)")
        return EXIT_USAGE
    try:
        workspace, policy = _policy(args)
    except (ConfigError, StartupError) as exc:
        err(str(exc))
        return EXIT_USAGE
    if args.stdin:
        out = sys.stdout
        for line in _stdin_commands(sys.stdin):
            result = check_command(line, workspace, policy, args.workdir)
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            out.flush()
        return EXIT_OK
    result = check_command(command, workspace, policy, args.workdir)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_text(result)
    return EXIT_OK
