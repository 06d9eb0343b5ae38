"""hermes' tools under the names and input fields hook scripts written for Claude Code read.

| hermes tool | Claude Code name | input fields added |
|---|---|---|
| ``terminal`` | ``Bash`` | (``command`` is the same) |
| ``read_file`` | ``Read`` | ``file_path`` (absolute) |
| ``write_file`` | ``Write`` | ``file_path`` (absolute) |
| ``patch`` | ``Edit`` | ``file_path`` (absolute) |
| ``search_files`` (``target: content``) | ``Grep`` | ``glob``; ``path`` absolute |
| ``search_files`` (``target: files``) | ``Glob`` | ``path`` absolute |

Every other tool (``skill_view``, ``mcp__SERVER__TOOL``, ...) keeps its own name. The
hermes name and fields stay in the input too (``hermes_tool_name``, the original keys), so
a script written for hermes reads them, and a matcher may use either name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CLAUDE_NAMES: dict[str, str] = {
    "terminal": "Bash",
    "read_file": "Read",
    "write_file": "Write",
    "patch": "Edit",
}
"""hermes tool -> the Claude Code tool it corresponds to (``search_files``: see below)."""

_FILE_TOOLS = frozenset({"read_file", "write_file", "patch"})

MAPPING_ROWS: tuple[tuple[str, str], ...] = (
    ("terminal", "Bash"),
    ("read_file", "Read"),
    ("write_file", "Write"),
    ("patch", "Edit"),
    ("search_files", "Grep (target content), Glob (target files)"),
)
"""The mapping as shown to people (README, ``hermes hooks list``)."""


def claude_name(tool: str, args: Mapping[str, Any] | None = None) -> str | None:
    """The Claude Code name of ``tool`` called with ``args``, or None when none corresponds."""
    if tool == "search_files":
        return "Glob" if (args or {}).get("target") == "files" else "Grep"
    return CLAUDE_NAMES.get(tool)


def hook_tool_name(tool: str, args: Mapping[str, Any] | None = None) -> str:
    """``tool_name`` as hooks see it: the Claude Code name where one corresponds."""
    return claude_name(tool, args) or tool


def matcher_names(tool: str, args: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The names a matcher may use for this call: hermes' own, then Claude Code's."""
    other = claude_name(tool, args)
    return (tool,) if other is None else (tool, other)


def _absolute(path: Any, workspace: Path) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    joined = Path(path).expanduser()
    if not joined.is_absolute():
        joined = workspace / joined
    return os.path.normpath(joined)


def hook_tool_input(tool: str, args: Mapping[str, Any] | None, workspace: Path) -> dict[str, Any]:
    """``tool_input``: the call's arguments, plus the fields a Claude Code script reads."""
    out: dict[str, Any] = dict(args or {})
    if tool in _FILE_TOOLS:
        absolute = _absolute(out.get("path"), workspace)
        if absolute is not None:
            out["file_path"] = absolute
    elif tool == "search_files":
        out["path"] = _absolute(out.get("path") or ".", workspace)
        if "file_glob" in out:
            out["glob"] = out["file_glob"]
    return out


def hook_tool_response(
    tool: str,
    args: Mapping[str, Any] | None,
    output: str,
    *,
    ok: bool,
    exit_code: int | None,
    workspace: Path,
) -> dict[str, Any]:
    """``tool_response`` for PostToolUse: the result as the model saw it, and the fields
    Claude Code scripts read (``filePath`` for file tools, ``stdout`` for commands)."""
    out: dict[str, Any] = {"output": output, "success": ok}
    if tool in _FILE_TOOLS:
        absolute = _absolute((args or {}).get("path"), workspace)
        if absolute is not None:
            out["filePath"] = absolute
    elif tool == "terminal":
        out |= {"stdout": output, "stderr": "", "exit_code": exit_code, "interrupted": False}
    return out
