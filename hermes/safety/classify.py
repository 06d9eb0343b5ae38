"""Classifying a tool call from its name and arguments: read, write or exec, and the
facts (paths, command prefixes, risks) the approval policy needs."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes.execution.spec import ToolSpec
from hermes.paths import hermes_home
from hermes.protocol import ToolClass
from hermes.safety.policy import CallFacts

_PATH_ARG_TOOLS = {"read_file", "write_file", "patch", "search_files"}
_SECRET_GLOBS = (
    ".env",
    ".env.*",
    "*.env",
    "*credentials*",
    "*secret*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "*.p12",
    "*.pfx",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
)
_SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".kube", ".docker", ".config/gcloud")


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


def _sensitive_read(path: Path) -> str | None:
    name = path.name
    for glob in _SECRET_GLOBS:
        if fnmatch.fnmatch(name, glob):
            return f"reading {path} may expose secrets"
    text = str(path)
    for d in _SECRET_DIRS:
        if f"/{d}/" in text or text.endswith(f"/{d}"):
            return f"reading {path} may expose secrets"
    return None


def _sensitive_write(path: Path, workspace: Path) -> str | None:
    parts = path.parts
    if ".git" in parts:
        i = parts.index(".git")
        if i + 1 < len(parts):
            return f"writes git internals ({Path(*parts[i:])})"
    if inside(path, hermes_home()) or (
        path.name == "config.yaml" and path.parent.name == ".hermes"
    ):
        return "writes hermes' own configuration"
    if path.exists() and path.is_file():
        try:
            if path.stat().st_nlink > 1:
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
    outside = False
    if name in _PATH_ARG_TOOLS:
        raw = args.get("path") or "."
        p = Path(str(raw)).expanduser()
        full = _real(p if p.is_absolute() else workspace / p)
        paths = (full,)
        outside = not inside(full, workspace)
        if tool_class == "read":
            sensitive = _sensitive_read(full)
        elif tool_class == "write":
            sensitive = _sensitive_write(full, workspace)
    facts = CallFacts(
        name=name,
        tool_class=tool_class,
        paths=paths,
        outside_workspace=outside,
        sensitive=sensitive,
    )
    return Classified(tool_class, paths, facts)


def _classify_command(args: Mapping[str, Any], workspace: Path) -> Classified:
    from hermes.safety.shell.analyze import analyze_command

    command = str(args.get("command", ""))
    verdict = analyze_command(command)
    workdir = args.get("workdir")
    wd = workspace
    if workdir:
        p = Path(str(workdir)).expanduser()
        wd = _real(p if p.is_absolute() else workspace / p)
    outside = not inside(wd, workspace)
    tool_class: ToolClass = "read" if verdict.read_only and not outside else "exec"
    prefixes = tuple(c.prefix for c in verdict.commands) or (command.strip()[:80],)
    facts = CallFacts(
        name="terminal",
        tool_class=tool_class,
        command=command,
        command_prefixes=prefixes,
        paths=(wd,),
        catastrophic=verdict.catastrophic,
        classification_reason=verdict.reason,
        plain=verdict.plain,
    )
    return Classified(tool_class, (wd,), facts)
