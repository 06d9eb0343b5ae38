"""``hermes mcp list [--json]``: connect to each configured MCP server, show its state and
tools, and exit. Exit code 1 when a server failed, 2 when the config does not load."""

from __future__ import annotations

import argparse
import json

from hermes.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, err


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``mcp`` command and its subcommands."""
    parser = subparsers.add_parser("mcp", help="MCP servers: their state and tools")
    sub = parser.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    p_list = sub.add_parser(
        "list",
        help="connect to each configured server, list its state and tools, and exit",
        description="Connects to every server under mcp.servers (in parallel), lists its "
        "state and tools, and stops it. Exit code 1 when a server failed.",
    )
    p_list.add_argument("--json", action="store_true", help="one JSON array of servers")
    p_list.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long each server may take to start (default: mcp.connect_timeout)",
    )
    p_list.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    """List the configured MCP servers with their state and tools."""
    from hermes.engine.startup import StartupError, load
    from hermes.mcp.status import probe_sync, status_json, status_lines

    try:
        workspace, config = load(args)
    except StartupError as exc:
        err(str(exc))
        return exc.exit_code
    if args.timeout is not None and args.timeout <= 0:
        err("--timeout must be positive")
        return EXIT_USAGE
    statuses = probe_sync(config.mcp, workspace, args.timeout, config.sandbox)
    if args.json:
        print(json.dumps([status_json(s) for s in statuses], ensure_ascii=False))
    else:
        for line in status_lines(statuses, tools=True, reconnect_hint=False):
            print(line)
    return EXIT_FAILED if any(s.state == "failed" for s in statuses) else EXIT_OK
