"""Tool calls from a small local model: spotting where one opens, then constraining it.

A 0.5B model knows it should call a tool but often invents the tool's name (``{"name":
"README.md", ...}``) or its arguments. So generation runs in two stages: free text
until the model opens a call (``<tool_call>``, or ``{"name"`` / a fenced ``{"name"`` at
the start of a line, outside a code block), then the call itself under a grammar built
from the offered tools' schemas: the name must be one of them and the arguments must
fit that tool's parameters. One call per reply; the reply ends with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

CALL_OPEN = "<tool_call>\n"
CALL_CLOSE = "\n</tool_call>"
# How a written call may begin, whitespace removed.
_OPENERS = ('{"name"', '```json{"name"', '```{"name"', '```tool_call{"name"')
_TAG = "<tool_call>"
_SPACE = re.compile(r"\s+")


def _line_starts(text: str, count: int = 4) -> list[int]:
    """The starts of the last ``count`` lines (a fenced call spans several)."""
    starts: list[int] = []
    at = len(text)
    while len(starts) < count and at > 0:
        at = text.rfind("\n", 0, at)
        starts.insert(0, at + 1)
        if at < 0:
            break
    return starts or [0]


def find_opener(text: str) -> tuple[int | None, int]:
    """``(where a call opens or None, how much of text is surely not a call yet)``."""
    tag = text.find(_TAG)
    if tag >= 0:
        return tag, tag
    safe = len(text)
    for k in range(1, len(_TAG)):
        if text.endswith(_TAG[:k]):
            safe = len(text) - k
            break
    for start in _line_starts(text):
        if text.count("```", 0, start) % 2:
            continue  # inside a code block
        indent = len(text[start:]) - len(text[start:].lstrip(" \t"))
        head = _SPACE.sub("", text[start : start + 80])
        if not head:
            continue
        if any(head.startswith(o) for o in _OPENERS):
            return start + indent, start + indent
        if any(o.startswith(head) for o in _OPENERS):
            safe = min(safe, start)
    return None, safe


def call_schema(tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A JSON schema matching exactly one call of one of ``tools``."""
    options = []
    for tool in tools:
        fn = tool["function"]
        options.append(
            {
                "type": "object",
                "properties": {
                    "name": {"const": fn["name"]},
                    "arguments": fn.get("parameters") or {"type": "object"},
                },
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    return {"anyOf": options}


@lru_cache(maxsize=8)
def _grammar_text(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(schema_json, prop_order=["name", "arguments"]))


def call_grammar(tools: Sequence[Mapping[str, Any]]) -> Any:
    """A llama.cpp grammar for one call of one of ``tools``."""
    from llama_cpp import LlamaGrammar

    # Key order matters: the grammar wants properties in the order the schema lists them.
    text = _grammar_text(json.dumps(call_schema(tools)))
    return LlamaGrammar.from_string(text, verbose=False)
