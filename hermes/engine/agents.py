"""Subagent definitions: the built-in ones and custom agents from Markdown files.

A custom agent is ``$HERMES_HOME/agents/NAME.md`` or, in a folder the user trusts,
``.hermes/agents/NAME.md`` (the workspace's wins over the home's of the same name)::

    ---
    description: Reviews a diff for bugs and missing tests   (required)
    tools: read_file, search_files                           (optional; default: all)
    model: gpt-4o-mini                                       (optional; default: the session's)
    ---
    You are a careful reviewer...   <- the body: the subagent's system prompt

The model sees each agent's name and description in the ``task`` tool. A file that
does not parse is skipped with a warning that says why; it never stops the session.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_AGENT_FILE_BYTES = 64 * 1024
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FRONT_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)

# Tools a subagent never gets: it cannot start subagents of its own, leave plan mode
# for the user, or write the user's to-do list.
PARENT_ONLY = frozenset({"task", "exit_plan_mode", "todo_write", "todo_read"})

SUBAGENT_PREAMBLE = (
    "You are a subagent of hermes, a coding agent: another agent gave you one task. You "
    "have a fresh context: nothing of its conversation, only the task below. Work on it "
    "with your tools, then end with one final message that is a complete, self-contained "
    "answer; it is all the other agent receives (keep it to what it needs: findings with "
    "file paths and line numbers, what you changed, what is left)."
)

GENERAL_PROMPT = (
    "Do the task thoroughly: search and read before you conclude, and verify edits by "
    "reading them back or running the tests when that is cheap."
)
EXPLORE_PROMPT = (
    "You only read: search and read files to answer the question, fast. You cannot edit "
    "files or run commands."
)


@dataclass(frozen=True)
class AgentDef:
    """One kind of subagent."""

    name: str
    description: str
    prompt: str  # the subagent's own instructions (the file's body)
    tools: tuple[str, ...] | None = None  # None: every tool of the session (PARENT_ONLY aside)
    model: str | None = None
    source: str = "built-in"

    def allows(self, tool: str) -> bool:
        """Whether the subagent gets ``tool``."""
        if tool in PARENT_ONLY:
            return False
        return self.tools is None or tool in self.tools


BUILT_IN: tuple[AgentDef, ...] = (
    AgentDef(
        "general",
        "General-purpose agent for multi-step work on its own: research, edits, commands. "
        "Takes the session's tools; its edits are serialized with other writing agents.",
        GENERAL_PROMPT,
    ),
    AgentDef(
        "explore",
        "Fast read-only agent: finds files, searches code, answers questions about the "
        "codebase. Several run in parallel.",
        EXPLORE_PROMPT,
        tools=("read_file", "search_files", "skills_list", "skill_view"),
    ),
)


@dataclass(frozen=True)
class AgentCatalog:
    """The agents a session can start, by name, and the files that were skipped."""

    agents: Mapping[str, AgentDef]
    warnings: tuple[str, ...] = ()

    def get(self, name: str) -> AgentDef | None:
        return self.agents.get(name)

    def names(self) -> list[str]:
        return list(self.agents)


def parse_agent(path: Path) -> AgentDef | str:
    """Read one agent file: the definition, or why it cannot be used."""
    name = path.stem
    if not _NAME_RE.match(name):
        return f"{path}: the file name must be a lowercase agent name (letters, digits, - and _)"
    try:
        size = path.stat().st_size
        if size > MAX_AGENT_FILE_BYTES:
            return f"{path}: too large ({size} bytes; at most {MAX_AGENT_FILE_BYTES})"
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: cannot read it ({exc})"
    match = _FRONT_RE.match(text)
    if match is None:
        return f"{path}: no front matter (the file must start with a '---' line)"
    import yaml  # lazy: only when there are agent files

    try:
        data: Any = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        return f"{path}: invalid YAML in the front matter ({exc})"
    if not isinstance(data, dict):
        return f"{path}: the front matter must be a mapping with 'description'"
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        return f"{path}: 'description' is required (one line the model reads to choose it)"
    tools = data.get("tools")
    if isinstance(tools, str):
        tools = [t.strip() for t in tools.split(",") if t.strip()]
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, str) and t for t in tools)
    ):
        return f"{path}: 'tools' must be a list of tool names (or one comma-separated line)"
    model = data.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        return f"{path}: 'model' must be a model name"
    body = text[match.end() :].strip()
    return AgentDef(
        name,
        " ".join(description.split()),
        body,
        tools=tuple(tools) if tools is not None else None,
        model=model.strip() if isinstance(model, str) else None,
        source=str(path),
    )


def _folder(folder: Path, found: dict[str, AgentDef], warnings: list[str]) -> None:
    try:
        files = sorted(folder.glob("*.md")) if folder.is_dir() else []
    except OSError as exc:
        warnings.append(f"{folder}: cannot list it ({exc})")
        return
    for path in files:
        parsed = parse_agent(path)
        if isinstance(parsed, str):
            warnings.append(parsed)
        else:
            found[parsed.name] = parsed


def workspace_agents_dir(workspace: Path) -> Path:
    """Where a workspace keeps its agents."""
    return workspace / ".hermes" / "agents"


def load_agents(home: Path, workspace: Path, *, trusted: bool) -> AgentCatalog:
    """The built-in agents, then ``home``'s, then (only when ``trusted``) the workspace's;
    a later one of the same name replaces an earlier one."""
    found: dict[str, AgentDef] = {a.name: a for a in BUILT_IN}
    warnings: list[str] = []
    _folder(home / "agents", found, warnings)
    local = workspace_agents_dir(workspace)
    if local.is_dir():
        if trusted:
            _folder(local, found, warnings)
        else:
            warnings.append(
                f"the agents in {local} are not used: this folder is not trusted "
                f"(run 'hermes trust {workspace}' to use them)"
            )
    return AgentCatalog(found, tuple(warnings))


def workspace_trusted(workspace: Path) -> bool:
    """Whether the user trusts ``workspace`` for its current content (hermes.trust)."""
    from hermes.config import ConfigError
    from hermes.trust.material import read_material
    from hermes.trust.store import TrustStore

    try:
        material = read_material(workspace)
        return TrustStore().is_trusted(material.folder, material.digest)
    except (ConfigError, OSError):
        return False
