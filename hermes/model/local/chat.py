"""Rendering a conversation for a local model with the GGUF's own chat template.

The template comes from the model file, so it is untrusted input: it runs in Jinja's
immutable sandbox and only ever sees plain data. Tools go to the template as compact
schemas when it knows about tools (Qwen2.5 and most recent instruct models); otherwise
they are described in the system prompt in the same ``<tool_call>`` format, calls are
shown as text and results come back as user messages wrapped in ``<tool_response>``.

The local system prompt is short and both it and the tool list are byte-identical
from one turn to the next, so the model's cached prefix is reused (the first prompt
is the slow part on a CPU).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hermes.messages import Message

# The tools a small model is offered, in this order (the first one listed gets picked
# more often: terminal first measured best), and the parameters it is shown: optional
# ones it does not need (offset, timeout, workdir) only invite made-up values.
LOCAL_TOOLS = ("terminal", "read_file", "search_files", "write_file", "patch")
LOCAL_PARAMETERS = {
    "terminal": ("command",),
    "read_file": ("path",),
    "search_files": ("pattern", "target"),
    "write_file": ("path", "content"),
    "patch": ("path", "old_string", "new_string"),
}

# What a small model is told each tool does: plainer than the full descriptions.
LOCAL_DESCRIPTIONS = {
    "read_file": "Show the contents of a file.",
    "search_files": "Search for text in files (target content) or find files by name "
    "(target files).",
    "write_file": "Create or overwrite a file with the given content.",
    "patch": "Edit a file: replace old_string with new_string.",
    "terminal": "Run a shell command, such as pytest, git, ls, mkdir, wc or python.",
}

# Used when a model file carries no chat template: plain ChatML.
CHATML_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + "
    "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class ChatTemplateError(Exception):
    """The model's chat template cannot render this conversation."""


@dataclass(frozen=True)
class ChatTemplate:
    """A model's chat template and the special tokens it may refer to."""

    source: str
    bos_token: str = ""
    eos_token: str = ""

    @property
    def supports_tools(self) -> bool:
        """Does the template render ``tools``, assistant ``tool_calls`` and tool results?"""
        return "tools" in self.source and "tool_call" in self.source


def _first_sentence(text: str) -> str:
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]


def _compact_property(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        return {}
    out: dict[str, Any] = {"type": schema.get("type", "string")}
    for key in ("enum", "minimum", "maximum"):
        if key in schema:
            out[key] = schema[key]
    return out


def compact_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The core tools among ``tools``, in :data:`LOCAL_TOOLS` order, with plain
    descriptions and only the parameters in :data:`LOCAL_PARAMETERS`, bare-typed."""
    by_name: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        fn = tool.get("function")
        if isinstance(fn, Mapping) and fn.get("name") in LOCAL_TOOLS:
            by_name[str(fn["name"])] = fn
    out = []
    for name in LOCAL_TOOLS:
        fn = by_name.get(name)
        if fn is None:
            continue
        params = fn.get("parameters") or {}
        keep = LOCAL_PARAMETERS.get(name)
        props = {
            k: v for k, v in (params.get("properties") or {}).items() if keep is None or k in keep
        }
        out.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": LOCAL_DESCRIPTIONS.get(name)
                    or _first_sentence(str(fn.get("description", ""))),
                    "parameters": {
                        "type": "object",
                        "properties": {k: _compact_property(v) for k, v in props.items()},
                        "required": [r for r in params.get("required") or () if r in props],
                    },
                },
            }
        )
    return out


def tools_instructions(tools: Sequence[Mapping[str, Any]]) -> str:
    """The tool section for templates that do not render tools themselves."""
    lines = "\n".join(_tojson(t) for t in tools)
    return (
        "# Tools\n\nYou may call one of these functions. Their signatures:\n"
        f"<tools>\n{lines}\n</tools>\n\n"
        "To call one, reply with only a JSON object inside <tool_call></tool_call> tags:\n"
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def _tojson(value: Any, indent: int | None = None) -> str:
    # Like transformers' tojson: no HTML escaping, non-ASCII kept.
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _raise(message: str) -> None:
    raise ChatTemplateError(message)


@lru_cache(maxsize=8)
def _compiled(source: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    return env.from_string(source)


def _arguments(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return text


def _call_text(name: str, arguments: str) -> str:
    body = _tojson({"name": name, "arguments": _arguments(arguments)})
    return f"<tool_call>\n{body}\n</tool_call>"


def _native(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content or ""}
        if m.tool_calls:
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": _arguments(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        out.append(item)
    return out


def _as_text(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Calls as text, results as wrapped user messages, same roles merged."""
    out: list[dict[str, Any]] = []
    for m in messages:
        role, content = m.role, m.content or ""
        if m.tool_calls:
            calls = "\n".join(_call_text(c.name, c.arguments) for c in m.tool_calls)
            content = f"{content}\n{calls}" if content else calls
        if role == "tool":
            role, content = "user", f"<tool_response>\n{content}\n</tool_response>"
        if out and out[-1]["role"] == role and role != "system":
            out[-1]["content"] += "\n\n" + content
        else:
            out.append({"role": role, "content": content})
    return out


def _without_system(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The system prompt folded into the first user message (templates with no system)."""
    if not items or items[0]["role"] != "system":
        return items
    system, rest = items[0]["content"], [dict(i) for i in items[1:]]
    for item in rest:
        if item["role"] == "user":
            item["content"] = f"{system}\n\n{item['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def render_chat(
    template: ChatTemplate,
    messages: Sequence[Message],
    tools: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The prompt text for ``messages`` (the first may be the system prompt), ending
    with the assistant's turn opened."""
    native = template.supports_tools
    if native:
        items = _native(messages)
    else:
        items = _as_text(messages)
        if tools:
            if items and items[0]["role"] == "system":
                items[0]["content"] += "\n\n" + tools_instructions(tools)
            else:
                items.insert(0, {"role": "system", "content": tools_instructions(tools)})
    context: dict[str, Any] = {
        "add_generation_prompt": True,
        "bos_token": template.bos_token,
        "eos_token": template.eos_token,
    }
    if native and tools:
        context["tools"] = [dict(t) for t in tools]
    try:
        compiled = _compiled(template.source)
    except Exception as exc:  # a broken template from the model file
        raise ChatTemplateError(f"the model's chat template does not compile: {exc}") from exc
    try:
        return str(compiled.render(messages=items, **context))
    except Exception as first:
        folded = _without_system(items)
        if folded is items:
            raise ChatTemplateError(f"the model's chat template failed: {first}") from first
        try:
            return str(compiled.render(messages=folded, **context))
        except Exception as exc:
            raise ChatTemplateError(f"the model's chat template failed: {exc}") from exc
