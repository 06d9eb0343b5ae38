"""Command-line entry point: parses arguments and picks TUI, plain REPL or headless.

Exit codes: 0 done, 1 the run failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from typing import cast

from hermes import __version__
from hermes.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, err


class _Parser(argparse.ArgumentParser):
    json_errors = ""  # "json"/"stream-json": a usage error is also printed as JSON on stdout

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        if self.json_errors:
            print(_failure_json(message, self.json_errors), flush=True)
        self.exit(EXIT_USAGE, f"hermes: error: {message}\nRun 'hermes --help' for the options.\n")


def _json_format(argv: Sequence[str]) -> str:
    """``json`` or ``stream-json`` when ``argv`` asks for that headless output, else ""."""
    for i, token in enumerate(argv):
        value = None
        if token == "--output-format" and i + 1 < len(argv):
            value = argv[i + 1]
        elif token.startswith("--output-format="):
            value = token.partition("=")[2]
        if value in ("json", "stream-json"):
            return value
    return ""


def _failure_json(message: str, fmt: str) -> str:
    """The one JSON line a headless run that failed outside its turn prints."""
    from hermes.frontends.headless import failure_json

    return failure_json(message, "stream-json" if fmt == "stream-json" else "json")


# Each subcommand lives in hermes/cli/<name>.py with a register(subparsers) function.
SUBCOMMANDS: dict[str, str] = {
    "sessions": "list, show, search, export and manage stored sessions",
    "doctor": "check the database, config, endpoint and token files",
    "skills": "list and show skills",
    "approvals": "list or revoke approval rules",
    "facts": "list, add and forget remembered facts",
    "mcp": "list configured MCP servers and their tools",
    "hooks": "list the configured hooks and the file each comes from",
    "batch": "run many tasks as headless sessions",
    "trust": "trust a folder's .hermes config; list or revoke trusted folders",
}


def _wanted_command(argv: Sequence[str] | None) -> str | None:
    """The subcommand named on the command line, if any (a cheap look before parsing)."""
    for token in argv or ():
        if token in SUBCOMMANDS:
            return token
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. With ``argv``, only the subcommand it names is fully built,
    so a plain ``hermes -p`` does not import every subcommand's module."""
    parser = _Parser(
        prog="hermes",
        description="An interactive terminal coding agent. With no -p, opens the TUI.",
    )
    parser.add_argument(
        "-p",
        "--print",
        dest="prompt",
        metavar="PROMPT",
        help="run one prompt headless and print the answer",
    )
    parser.add_argument(
        "--output-format",
        choices=("text", "json", "stream-json"),
        default="text",
        help="headless output (default: text)",
    )
    parser.add_argument("--model", help="model name (else model.name in config)")
    parser.add_argument(
        "--text-tool-calls",
        choices=("auto", "true", "false"),
        help="read tool calls the model writes as text: auto (default: detected per "
        "endpoint and remembered), true or false (same as model.text_tool_calls, "
        "HERMES_TEXT_TOOL_CALLS)",
    )
    parser.add_argument(
        "--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1"
    )
    parser.add_argument("--api-key", help="API key (else HERMES_API_KEY or OPENAI_API_KEY)")
    parser.add_argument(
        "--local",
        action="store_true",
        help="run a small model in process on the CPU, no endpoint or key needed "
        "(needs pip install 'hermes[local]'; same as model.provider: local)",
    )
    parser.add_argument(
        "--approval-mode",
        choices=("ask", "auto-edit", "auto", "yolo"),
        help="ask (default): writes and commands ask; auto-edit: edits go "
        "through; auto: edits and sandboxed commands go through, leaving the sandbox "
        "asks; yolo: nothing asks except catastrophic commands",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="start in plan mode: only reads run until you accept the model's plan; with "
        "-p, print the plan and exit",
    )
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run commands and MCP servers without the OS sandbox (sandbox.mode: off)",
    )
    parser.add_argument(
        "--max-turns", type=int, metavar="N", help="stop a turn after N model requests"
    )
    parser.add_argument("-C", "--cwd", metavar="DIR", help="the workspace (default: .)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="ID",
        help="resume session ID (a picker without ID)",
    )
    parser.add_argument(
        "--continue",
        dest="continue_",
        action="store_true",
        help="continue the latest session in this workspace",
    )
    parser.add_argument("--plain", action="store_true", help="line-mode REPL instead of the TUI")
    parser.add_argument(
        "--trust-workspace",
        action="store_true",
        help="apply the workspace's .hermes/config.yaml in full for this run, as if the "
        "folder were trusted (nothing is recorded; 'hermes trust' records it)",
    )
    parser.add_argument("--version", action="version", version=f"hermes {__version__}")
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND"),
    )
    wanted = _wanted_command(argv)
    for name, help_text in SUBCOMMANDS.items():
        if name == wanted or (wanted is None and argv is None):
            importlib.import_module(f"hermes.cli.{name}").register(sub)
        else:
            # Registered for --help only; its module (and its imports) load when used.
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run hermes; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    if isinstance(parser, _Parser):
        parser.json_errors = _json_format(argv)
    args = parser.parse_args(argv)
    try:
        if args.command is not None:
            code: int = args.func(args)
            return code
        if args.prompt is not None:
            return _run_headless(args)
        return _run_interactive(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        raise


def _run_interactive(args: argparse.Namespace) -> int:
    """The TUI, or with ``--plain`` the line REPL; ``--resume`` without an ID opens the
    session picker. Textual is imported only here, so the other modes start fast."""
    plain = bool(getattr(args, "plain", False))
    if plain and not sys.stdin.isatty():
        print(
            "hermes: --plain reads keys from a terminal, and stdin is not one. Use "
            "'hermes -p \"PROMPT\"' for a headless run.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not plain and (not sys.stdout.isatty() or not sys.stdin.isatty()):
        what = "stdout" if not sys.stdout.isatty() else "stdin"
        print(
            f"hermes: {what} is not a terminal, so the TUI cannot draw. Use "
            "'hermes -p \"PROMPT\"' for a headless run or 'hermes --plain' for line mode.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from hermes.engine.startup import StartupError
    from hermes.frontends.common.sessions import Launcher

    launcher = Launcher(args)
    try:
        if plain:
            setup = launcher.first()
        else:
            launcher.check()  # what a person can fix fails here; the engine loads later
    except StartupError as exc:
        err(str(exc))
        return exc.exit_code
    if plain:
        from hermes.frontends.plain.repl import run_plain

        return run_plain(setup, launcher)
    from hermes.frontends.tui.app import HermesApp

    app = HermesApp(launcher=launcher, pick=launcher.wants_picker)
    code = app.run()
    if app.controls.resume_line:  # on the terminal, after the screen is gone
        print(app.controls.resume_line)
    return code if isinstance(code, int) else EXIT_OK


def _headless_failure(args: argparse.Namespace, message: str, code: int) -> int:
    """A ``hermes -p`` run that failed before or outside its turn: the error line, and
    with ``--output-format json|stream-json`` one JSON object saying so on stdout."""
    err(message)
    if args.output_format in ("json", "stream-json"):
        print(_failure_json(message, args.output_format), flush=True)
    return code


def _run_headless(args: argparse.Namespace) -> int:
    from hermes.engine.startup import StartupError, prepare_session

    if not args.prompt.strip():
        return _headless_failure(args, "the prompt given with -p is empty", EXIT_USAGE)
    try:
        args.prompt = _command_prompt(args)  # "/name args": a custom command file
        setup = prepare_session(args, interactive=False)
    except StartupError as exc:
        return _headless_failure(args, str(exc), exc.exit_code)
    except Exception as exc:
        if args.output_format == "text":
            raise  # a bug: its traceback helps
        return _headless_failure(args, f"{type(exc).__name__}: {exc}", EXIT_FAILED)
    from hermes.frontends.headless import run_headless

    try:
        outcome = asyncio.run(run_headless(setup.engine, args.prompt, args.output_format))
    except Exception as exc:
        if args.output_format == "text":
            raise
        return _headless_failure(args, f"the run failed: {type(exc).__name__}: {exc}", EXIT_FAILED)
    finally:
        setup.close()
    if outcome.signal is not None:
        return 128 + outcome.signal
    return EXIT_FAILED if outcome.is_error else EXIT_OK


def _command_prompt(args: argparse.Namespace) -> str:
    """``hermes -p "/name args"`` runs the custom command file ``/name`` (its ``model``
    too, unless --model is given); any other prompt is sent as written."""
    if not str(args.prompt).lstrip().startswith("/"):
        return str(args.prompt)
    from hermes.frontends.common.complete import SLASH_COMMANDS, parse_slash

    parsed = parse_slash(args.prompt)
    if parsed is None:
        return str(args.prompt)
    from hermes.engine.startup import workspace_from
    from hermes.frontends.common.attachments import expand
    from hermes.skills.commands import discover_commands, expand_line

    workspace = workspace_from(args)
    trusted = True if getattr(args, "trust_workspace", False) else None
    scan = discover_commands(workspace, reserved=SLASH_COMMANDS, trusted=trusted)
    for warning in scan.warnings:
        print(f"hermes: warning: {warning}", file=sys.stderr)
    expanded = expand_line(scan, *parsed)
    if expanded is None:
        return str(args.prompt)
    if expanded.command.model and not getattr(args, "model", None):
        args.model = expanded.command.model
    attached = expand(expanded.prompt, workspace)  # @path in the file attaches, as typed
    for problem in attached.problems:
        print(f"hermes: warning: {problem}", file=sys.stderr)
    return attached.text


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
