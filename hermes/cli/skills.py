"""``hermes skills list|show``: what skills hermes sees from a workspace."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hermes.cli.common import EXIT_OK, EXIT_USAGE
from hermes.execution.spec import ToolError
from hermes.skills.catalog import SkillScan, discover_skills, view_skill


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``skills`` subcommand (``list`` and ``show``) to a CLI's subparsers."""
    skills = subparsers.add_parser(
        "skills",
        help="list and show skills",
        description="Skills are folders with a SKILL.md, found in the bundled set, "
        "$HERMES_HOME/skills and the workspace's .hermes/skills (later wins).",
    )
    skills.set_defaults(func=cmd_list, json=False, directory=None)
    sub = skills.add_subparsers(dest="skills_command", metavar="{list,show}")

    p_list = sub.add_parser("list", help="list the skills in effect")
    p_list.add_argument("--json", action="store_true", help="print a JSON array")
    _add_dir(p_list)
    p_list.set_defaults(func=cmd_list)

    p_show = sub.add_parser("show", help="print a skill's instructions (or one of its files)")
    p_show.add_argument("name", help="the skill's name")
    p_show.add_argument("file", nargs="?", help="a file in the skill's folder")
    _add_dir(p_show)
    p_show.set_defaults(func=cmd_show)


def _add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-C",
        dest="directory",
        metavar="DIR",
        default=None,
        help="workspace directory (default: the current directory)",
    )


def _scan(args: argparse.Namespace) -> SkillScan:
    directory = getattr(args, "directory", None)
    workspace = Path(directory).expanduser().resolve() if directory else Path.cwd()
    scan = discover_skills(workspace)
    for warning in scan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return scan


def cmd_list(args: argparse.Namespace) -> int:
    """Print the skills in effect, as a table or (``--json``) a JSON array."""
    scan = _scan(args)
    if getattr(args, "json", False):
        rows = [
            {"name": s.name, "description": s.description, "source": s.source, "path": str(s.path)}
            for s in scan.skills
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not scan.skills:
        print("No skills found.")
        return EXIT_OK
    width = max(len(s.name) for s in scan.skills)
    for s in scan.skills:
        print(f"{s.name:<{width}}  {s.source:<9}  {s.description}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """Print one skill's instructions (or one of its files); exit 2 if it is not there."""
    scan = _scan(args)
    try:
        text = view_skill(scan, args.name, getattr(args, "file", None), max_bytes=1_000_000)
    except ToolError as exc:
        print(f"hermes skills show: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(text)
    return EXIT_OK
