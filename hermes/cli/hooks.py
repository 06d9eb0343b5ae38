"""``hermes hooks list [--json]``: the hooks configured for this workspace, the file each
comes from, and the workspace hooks left out because the folder is not trusted. Exit
code 2 when the config does not load."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hermes.cli.common import EXIT_OK, err


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``hooks`` command and its subcommands."""
    parser = subparsers.add_parser("hooks", help="the configured hooks and where they come from")
    sub = parser.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    p_list = sub.add_parser(
        "list",
        help="each event's hooks, their matchers, timeouts and config files",
        description="Lists the hooks that run in this workspace (user config, then the "
        "workspace's .hermes/config.yaml when the folder is trusted) and the workspace "
        "hooks left out because it is not.",
    )
    p_list.add_argument("--json", action="store_true", help="one JSON object")
    p_list.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    """List the configured hooks."""
    from hermes.engine.startup import StartupError, load_checked
    from hermes.hooks.listing import hooks_json, hooks_lines

    try:
        _workspace, config, question = load_checked(args)
    except StartupError as exc:
        err(str(exc))
        return exc.exit_code
    ignored: list[str] = []
    if question is not None and any(i.key.startswith("hooks") for i in question.ignored):
        ignored = _workspace_hooks(question.config_file)
    if args.json:
        print(json.dumps({"hooks": hooks_json(config.hooks), "ignored": ignored}))
        return EXIT_OK
    for line in hooks_lines(config.hooks, ignored):
        print(line)
    return EXIT_OK


def _workspace_hooks(config_file: Path) -> list[str]:
    """The hooks the workspace's own config file names (shown, never run, untrusted)."""
    from hermes.config import ConfigError, read_config_file
    from hermes.hooks.table import all_hooks

    try:
        found = all_hooks(read_config_file(config_file).hooks)
    except ConfigError as exc:
        return [str(exc)]
    return [f"{s.event}  {s.matcher or '*'}  {s.command}  (from {s.source})" for s in found]
