"""Classifying a tool call from its name and arguments: read, write or exec, and the
facts (paths, command prefixes, risks) the approval policy needs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes.execution.spec import ToolSpec
from hermes.protocol import ToolClass
from hermes.safety.policy import CallFacts
from hermes.safety.protected import protected_reason
from hermes.safety.sensitive import sensitive_kind

_PATH_ARG_TOOLS = {"read_file", "write_file", "patch", "search_files"}


@dataclass(frozen=True)
class Classified:
    tool_class: ToolClass
    paths: tuple[Path, ...]
    facts: CallFacts


def _real(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return path


def inside(path: Path, root: Path) -> bool:
    """Containment after realpath on both sides (a string prefix test is wrong)."""
    p, r = _real(path), _real(root)
    return p == r or r in p.parents


def _sensitive_read(name: str, path: Path) -> str | None:
    found = sensitive_kind(path)
    if found is None:
        return None
    shown, kind = found
    return f"{name} reads {shown}, which may hold secrets ({kind})"


def _hard_link(path: Path) -> str | None:
    try:
        if path.is_file() and path.stat().st_nlink > 1:
            return f"{path} is a hard link; the change may reach a file outside the workspace"
    except OSError:
        pass
    return None


def classify(
    spec: ToolSpec | None, name: str, args: Mapping[str, Any] | None, workspace: Path
) -> Classified:
    """Classify one call. Unknown tools are ``exec``."""
    if spec is None or args is None:
        return Classified("exec", (), CallFacts(name=name, tool_class="exec"))
    if name == "terminal":
        return _classify_command(args, workspace)
    tool_class: ToolClass = spec.tool_class
    paths: tuple[Path, ...] = ()
    sensitive = None
    protected = None
    outside = False
    if name in _PATH_ARG_TOOLS:
        raw = args.get("path") or "."
        p = Path(str(raw)).expanduser()
        written = Path(os.path.normpath(p if p.is_absolute() else workspace / p))
        full = _real(written)
        paths = (full,)
        outside = not inside(full, workspace)
        if tool_class == "read":
            sensitive = _sensitive_read(name, written) or _sensitive_read(name, full)
        elif tool_class == "write":
            protected = protected_reason(written, env=os.environ) or protected_reason(full)
            sensitive = _hard_link(full)
    facts = CallFacts(
        name=name,
        tool_class=tool_class,
        paths=paths,
        outside_workspace=outside,
        sensitive=sensitive,
        protected=protected,
    )
    return Classified(tool_class, paths, facts)


def classify_command(
    command: str,
    workspace: Path,
    workdir: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Classified:
    """Classify a ``terminal`` call: the shell analysis run where the command will run."""
    from hermes.safety.shell.analyze import analyze_command
    from hermes.safety.shell.context import ShellContext

    wd = _real(workspace)
    if workdir:
        p = Path(str(workdir)).expanduser()
        wd = _real(p if p.is_absolute() else workspace / p)
    outside = not inside(wd, workspace)
    context = ShellContext.create(workspace, wd, os.environ if env is None else env)
    verdict = analyze_command(command, context)
    tool_class: ToolClass = "read" if verdict.read_only and not outside else "exec"
    prefixes = tuple(c.prefix for c in verdict.commands) or (command.strip()[:80],)
    reason = verdict.reason
    if outside and verdict.read_only:
        reason = f"asks: the command runs outside the workspace ({wd})"
    facts = CallFacts(
        name="terminal",
        tool_class=tool_class,
        command=command,
        command_prefixes=prefixes,
        paths=(wd,),
        catastrophic=verdict.catastrophic,
        classification_reason=reason,
        plain=verdict.plain,
        sensitive=verdict.sensitive,
        protected=verdict.protected,
    )
    return Classified(tool_class, (wd,), facts)


def _classify_command(args: Mapping[str, Any], workspace: Path) -> Classified:
    workdir = args.get("workdir")
    return classify_command(
        str(args.get("command", "")), workspace, str(workdir) if workdir else None
    )
