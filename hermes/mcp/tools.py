"""MCP tools as hermes tools: names, schemas, descriptions, classes and results.

A server's tool ``get_issue`` on server ``github`` becomes ``mcp__github__get_issue``.
Schemas pass through, cleaned to what OpenAI-compatible endpoints accept; descriptions
are cut to a budget per tool and per server. Nothing here talks to a server, and the SDK
is not imported (its types are only read), so this module loads instantly.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hermes.config import McpConfig, McpServerConfig
from hermes.execution.spec import Handler, ToolContext, ToolResult, ToolSpec
from hermes.protocol import ToolClass

if TYPE_CHECKING:
    import mcp_types

PREFIX = "mcp__"
MAX_NAME = 64  # OpenAI: ^[a-zA-Z0-9_-]{1,64}$
MIN_DESCRIPTION = 60
PROPERTY_DESCRIPTION_CHARS = 300
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_DROP_KEYS = frozenset({"$schema", "$id", "$defs", "definitions", "$comment", "title"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_ONE = frozenset(
    {"items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames"}
)
_MAX_REF_DEPTH = 8


@dataclass(frozen=True)
class McpToolInfo:
    """One MCP tool as hermes offers it."""

    name: str  # the hermes name, mcp__server__tool
    server: str
    server_tool: str  # the name on the server
    tool_class: ToolClass
    description: str


def tool_name(server: str, tool: str, taken: Iterable[str] = ()) -> str:
    """``mcp__<server>__<tool>``, made a valid OpenAI function name and unique in ``taken``."""
    name = f"{PREFIX}{server}__{_BAD_NAME_CHARS.sub('_', tool)}"
    taken = set(taken)
    if len(name) <= MAX_NAME and name not in taken:
        return name
    digest = hashlib.sha1(tool.encode("utf-8")).hexdigest()
    for width in (8, 12, 40):
        candidate = f"{name[: MAX_NAME - width - 1]}_{digest[:width]}"
        if candidate not in taken:
            return candidate
    raise ValueError(f"cannot name MCP tool {tool!r} of server {server!r} uniquely")


def selected(tool: str, server: McpServerConfig) -> bool:
    """Does the server's ``tools`` include/exclude filter let ``tool`` through?"""
    rules = server.tools
    if rules.include and not any(fnmatch.fnmatchcase(tool, g) for g in rules.include):
        return False
    return not any(fnmatch.fnmatchcase(tool, g) for g in rules.exclude)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def description_limit(tool_count: int, mcp: McpConfig) -> int:
    """Characters each of a server's ``tool_count`` tool descriptions may use."""
    share = mcp.server_description_budget_chars // max(1, tool_count)
    return max(
        min(MIN_DESCRIPTION, mcp.description_max_chars), min(mcp.description_max_chars, share)
    )


def sanitize_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """An input schema endpoints accept: an object schema, local ``$ref``s inlined, no
    ``$schema``/``$defs``/titles, long property descriptions cut."""
    try:
        raw = json.loads(json.dumps(schema or {}, default=str))
    except (TypeError, ValueError):
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(raw.get(key), dict):
            defs.update({f"#/{key}/{k}": v for k, v in raw[key].items()})
    out = _clean(raw, defs, ())
    if out.get("type") != "object":
        out = {"type": "object", "properties": {}}
    if not isinstance(out.get("properties"), dict):
        out["properties"] = {}
    if "required" in out and not isinstance(out["required"], list):
        del out["required"]
    return out


def _clean(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if ref in seen or len(seen) >= _MAX_REF_DEPTH or ref not in defs:
            target: dict[str, Any] = {}  # recursive or remote: accept anything there
        else:
            target = _clean(defs[ref], defs, (*seen, ref))
        return {**target, **_clean(siblings, defs, seen)}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_KEYS:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: _clean(v, defs, seen) for k, v in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_clean(v, defs, seen) for v in value]
        elif key in _SCHEMA_ONE and isinstance(value, dict):
            out[key] = _clean(value, defs, seen)
        elif key == "items" and isinstance(value, list):
            out[key] = [_clean(v, defs, seen) for v in value]
        elif key == "description" and isinstance(value, str):
            out[key] = shorten(value, PROPERTY_DESCRIPTION_CHARS)
        else:
            out[key] = value
    return out


def tool_class_for(tool: mcp_types.Tool, server: McpServerConfig) -> ToolClass:
    """``read`` only when the server says read-only and the config trusts it; else ``exec``."""
    notes = tool.annotations
    if server.trust_annotations and notes is not None and notes.read_only_hint is True:
        return "read"
    return "exec"


def build_specs(
    server_name: str,
    server: McpServerConfig,
    mcp: McpConfig,
    tools: Sequence[mcp_types.Tool],
    make_handler: Callable[[str], Handler],
    taken: Iterable[str] = (),
) -> list[tuple[ToolSpec, McpToolInfo]]:
    """ToolSpecs for the server's tools that pass its filter; ``make_handler(hermes_name)``
    gives each its handler. ``taken`` are names already used by other tools."""
    chosen = [t for t in tools if selected(t.name, server)]
    limit = description_limit(len(chosen), mcp)
    used = set(taken)
    out: list[tuple[ToolSpec, McpToolInfo]] = []
    for tool in chosen:
        name = tool_name(server_name, tool.name, used)
        used.add(name)
        text = tool.description or tool.title or f"{tool.name} (MCP server {server_name})"
        description = shorten(text, limit)
        tool_class = tool_class_for(tool, server)
        spec = ToolSpec(
            name=name,
            description=description,
            parameters=sanitize_schema(tool.input_schema),
            tool_class=tool_class,
            handler=make_handler(name),
        )
        out.append((spec, McpToolInfo(name, server_name, tool.name, tool_class, description)))
    return out


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_decoded_size(block.data):,} bytes, not shown]"
    if kind == "resource_link":
        mime = f", {block.mime_type}" if block.mime_type else ""
        return f"[resource link: {block.uri} ({block.name}{mime})]"
    if kind == "resource":
        res = block.resource
        if getattr(res, "text", None) is not None:
            return f"[resource {res.uri}]\n{res.text}"
        mime = res.mime_type or "binary"
        size = _decoded_size(getattr(res, "blob", "") or "")
        return f"[resource {res.uri}: {mime}, {size:,} bytes, not shown]"
    return f"[{kind or 'unknown'} content, not shown]"


def result_text(result: mcp_types.CallToolResult) -> str:
    """What the model sees of a result: text as is, other content summarized."""
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return "\n".join(parts) if parts else "(no output)"


def render_result(
    result: mcp_types.CallToolResult, ctx: ToolContext, scrub: Callable[[str], str]
) -> ToolResult:
    """The ToolResult for a call: capped like other tools' output; ``isError`` fails it."""
    from hermes.execution.output import OutputCapture

    text = scrub(result_text(result))
    capture = OutputCapture(
        ctx.limits.max_output_bytes, ctx.output_dir, ctx.call_id, limits=ctx.limits
    )
    capture.write(text.encode("utf-8", errors="replace"))
    content = capture.render()
    return ToolResult(
        ok=not result.is_error,
        content=content,
        full_output_path=str(capture.path) if capture.path else None,
    )
