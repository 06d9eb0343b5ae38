"""Skill tools: ``skills_list`` and ``skill_view`` (both read-class).

The system prompt carries only an index of skills; these tools let the model list
them all and load one skill's instructions, or one file beside them, when needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hermes.execution.spec import ToolContext, ToolError, ToolResult, ToolSpec
from hermes.paths import hermes_home
from hermes.skills.catalog import discover_skills, list_skills_text, view_skill


def _skills_list(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    scan = discover_skills(ctx.workspace, hermes_home())
    text = list_skills_text(scan)
    if scan.warnings:
        text += "\n\nSkipped (broken):\n" + "\n".join(f"- {w}" for w in scan.warnings)
    return ToolResult(ok=True, content=text)


def _skill_view(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    name = args.get("name")
    file = args.get("file")
    if not isinstance(name, str) or not name.strip():
        raise ToolError("'name' is required: the name of a skill (see skills_list)")
    if file is not None and not isinstance(file, str):
        raise ToolError("'file' must be a string: a path relative to the skill's folder")
    scan = discover_skills(ctx.workspace, hermes_home())
    content = view_skill(scan, name.strip(), file, max_bytes=ctx.limits.max_output_bytes)
    return ToolResult(ok=True, content=content)


SKILLS_LIST = ToolSpec(
    name="skills_list",
    description="List every available skill with its one-line description.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
    tool_class="read",
    handler=_skills_list,
)

SKILL_VIEW = ToolSpec(
    name="skill_view",
    description="Read a skill's instructions, or one file from the skill's folder.",
    parameters={
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "The skill's name."},
            "file": {
                "type": "string",
                "description": "A file in the skill's folder, relative to it; omit for the instructions.",
            },
        },
        "required": ["name"],
        "additionalProperties": False,
    },
    tool_class="read",
    handler=_skill_view,
)


def skill_tools() -> list[ToolSpec]:
    """The skill tools, in the order they are offered to the model."""
    return [SKILLS_LIST, SKILL_VIEW]
