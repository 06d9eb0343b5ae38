"""``hermes sessions undo|redo|rewind|turns|diff``: checkpoints without the TUI.

No one is there to answer a conflict, so a file changed since the agent (or the undo)
left it is reported and skipped, never overwritten; the exit code is then 1.
Exit codes: 0 done, 1 something was skipped or failed, 2 bad usage or unknown session.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hermes.checkpoints import ops
from hermes.checkpoints import records as cs
from hermes.checkpoints.shadow import CheckpointError, ShadowRepo
from hermes.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, err, with_store
from hermes.config import ConfigError, load_config
from hermes.store.sessions import SessionRecord, Store


def register_sessions_actions(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the checkpoint actions to the ``sessions`` subcommand group."""
    p_turns = sub.add_parser("turns", help="a session's turns and the files each changed")
    p_turns.add_argument("id")
    p_turns.add_argument("--json", action="store_true")
    p_turns.set_defaults(func=cmd_turns)
    p_undo = sub.add_parser("undo", help="revert the file changes of the last turn(s)")
    p_undo.add_argument("id")
    p_undo.add_argument("--turns", type=int, default=1, metavar="N", help="walk back N turns")
    p_undo.add_argument("--json", action="store_true")
    p_undo.set_defaults(func=cmd_undo)
    p_redo = sub.add_parser("redo", help="re-apply the file changes of the last undone turn")
    p_redo.add_argument("id")
    p_redo.add_argument("--json", action="store_true")
    p_redo.set_defaults(func=cmd_redo)
    p_rewind = sub.add_parser(
        "rewind", help="restore files and/or the conversation to before a turn"
    )
    p_rewind.add_argument("id")
    p_rewind.add_argument("--to", type=int, required=True, metavar="TURN")
    only = p_rewind.add_mutually_exclusive_group()
    only.add_argument("--files-only", action="store_true", help="keep the conversation")
    only.add_argument("--conversation-only", action="store_true", help="keep the files")
    p_rewind.add_argument("--json", action="store_true")
    p_rewind.set_defaults(func=cmd_rewind)
    p_diff = sub.add_parser("diff", help="what the agent changed in a session (or one turn)")
    p_diff.add_argument("id")
    p_diff.add_argument("--turn", type=int, metavar="N")
    p_diff.set_defaults(func=cmd_diff)


def _run(
    args: argparse.Namespace, body: Callable[[Store, SessionRecord, ShadowRepo | None], int]
) -> int:
    """Open session ``args.id`` and its shadow repository, return ``body(store, record,
    repo)``; what fails is printed and becomes the exit code."""

    def opened(store: Store) -> int:
        record = store.get_session(args.id)
        workspace = Path(record.workspace)
        if not workspace.is_dir():
            err(f"the session's workspace {workspace} no longer exists")
            return EXIT_FAILED
        try:
            config = load_config(workspace).checkpoints
        except ConfigError as exc:
            err(str(exc))
            return EXIT_USAGE
        repo = ops.open_repo(workspace, config) if config.enabled else None
        try:
            return body(store, record, repo)
        except (CheckpointError, OSError) as exc:
            err(str(exc))
            return EXIT_FAILED

    return with_store(opened)


def _need(repo: ShadowRepo | None) -> ShadowRepo:
    if repo is None:
        raise CheckpointError("checkpoints are off (checkpoints.enabled: false)")
    return repo


def _report(
    args: argparse.Namespace, what: str, outcome: ops.Outcome, extra: dict[str, Any]
) -> int:
    code = EXIT_FAILED if outcome.skipped else EXIT_OK
    if args.json:
        data = {
            "action": what,
            "turns": outcome.turns,
            "files_restored": outcome.restored,
            "files_skipped": [{"path": p, "reason": r} for p, r in outcome.skipped],
            "note": outcome.note(),
            **extra,
        }
        print(json.dumps(data, ensure_ascii=False))
        return code
    turns = ", ".join(str(t) for t in outcome.turns)
    print(f"{what}: turn {turns}" if turns else f"{what}: no file changes to restore")
    for path in outcome.restored:
        print(f"  restored  {path}")
    for path, reason in outcome.skipped:
        print(f"  skipped   {path}  ({reason})")
    if outcome.note():
        print(outcome.note())
    if outcome.skipped:
        print(
            "some files were left as they are (changed since, or not restorable); "
            "use /undo in the TUI to decide each one",
            file=sys.stderr,
        )
    return code


def cmd_undo(args: argparse.Namespace) -> int:
    """``hermes sessions undo ID [--turns N]``."""
    if args.turns < 1:
        err("--turns must be at least 1")
        return EXIT_USAGE

    def body(store: Store, record: SessionRecord, repo: ShadowRepo | None) -> int:
        shadow = _need(repo)
        targets = ops.undo_targets(store, shadow, record.id, args.turns)
        if not targets:
            print("nothing to undo", file=sys.stderr)
            return EXIT_FAILED
        outcome = asyncio.run(
            ops.restore(store, shadow, record.id, targets, redo=False, resolve=ops.skip_all)
        )
        store.append_message(record.id, ops.note_message(outcome, redo=False))
        return _report(args, "undo", outcome, {})

    return _run(args, body)


def cmd_redo(args: argparse.Namespace) -> int:
    """``hermes sessions redo ID``."""

    def body(store: Store, record: SessionRecord, repo: ShadowRepo | None) -> int:
        shadow = _need(repo)
        target = ops.redo_target(store, shadow, record.id)
        if target is None:
            print("nothing to redo", file=sys.stderr)
            return EXIT_FAILED
        outcome = asyncio.run(
            ops.restore(store, shadow, record.id, [target], redo=True, resolve=ops.skip_all)
        )
        store.append_message(record.id, ops.note_message(outcome, redo=True))
        return _report(args, "redo", outcome, {})

    return _run(args, body)


def cmd_rewind(args: argparse.Namespace) -> int:
    """``hermes sessions rewind ID --to TURN [--files-only | --conversation-only]``."""
    files, conversation = not args.conversation_only, not args.files_only

    def body(store: Store, record: SessionRecord, repo: ShadowRepo | None) -> int:
        turns = cs.turns(store, record.id)
        chosen = next((t for t in turns if t.turn == args.to), None)
        if chosen is None:
            known = ", ".join(str(t.turn) for t in turns) or "none"
            err(f"no turn {args.to} (turns: {known})")
            return EXIT_USAGE
        outcome = ops.Outcome()
        if files:
            shadow = _need(repo)
            later = [t.turn for t in reversed(turns) if t.turn >= args.to and not t.undone]
            asyncio.run(
                ops.restore(
                    store,
                    shadow,
                    record.id,
                    later,
                    redo=False,
                    resolve=ops.skip_all,
                    outcome=outcome,
                )
            )
        if conversation:
            cs.rewind_conversation(store, record.id, chosen)
        elif outcome.turns:
            store.append_message(
                record.id, ops.note_message(outcome, redo=False, rewind_to=args.to)
            )
        extra = {
            "to": args.to,
            "files": files,
            "conversation": conversation,
            "prompt": chosen.prompt,
        }
        return _report(args, f"rewind to before turn {args.to}", outcome, extra)

    return _run(args, body)


def cmd_turns(args: argparse.Namespace) -> int:
    """``hermes sessions turns ID``: the list /rewind shows."""

    def body(store: Store, record: SessionRecord, repo: ShadowRepo | None) -> int:
        rows = ops.summaries(store, repo, record.id)
        if args.json:
            print(json.dumps([_summary_json(r) for r in rows], ensure_ascii=False))
            return EXIT_OK
        if not rows:
            print("no turns yet")
        for r in rows:
            flags = "".join(
                f" [{f}]" for f, on in (("undone", r.undone), ("rewound", r.rewound)) if on
            )
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
            prompt = r.prompt.splitlines()[0][:60] if r.prompt.strip() else ""
            print(f"{r.turn:>4}  {when}  {len(r.files):>3} files{flags}  {prompt}")
            for path in r.files[:20]:
                print(f"          {path}")
        return EXIT_OK

    return _run(args, body)


def _summary_json(r: ops.TurnSummary) -> dict[str, Any]:
    return {
        "turn": r.turn,
        "prompt": r.prompt,
        "created_at": r.created_at,
        "files": list(r.files),
        "ran_commands": r.ran_commands,
        "undone": r.undone,
        "rewound": r.rewound,
    }


def cmd_diff(args: argparse.Namespace) -> int:
    """``hermes sessions diff ID [--turn N]``."""

    def body(store: Store, record: SessionRecord, repo: ShadowRepo | None) -> int:
        sys.stdout.write(ops.diff_text(store, _need(repo), record.id, args.turn))
        return EXIT_OK

    return _run(args, body)
