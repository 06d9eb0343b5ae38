"""Chat messages in the exact OpenAI chat-completions shape, as frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A function call requested by the model. ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class Usage:
    """Tokens of one model request. ``estimated``: counted locally because the server
    reported none (llama.cpp's server when streaming), so shown as an estimate."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    cost: float | None = None  # USD, when the endpoint reports it (OpenRouter's usage.cost)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        """Both requests' tokens; an estimate if either part is one."""
        costs = [c for c in (self.cost, other.cost) if c is not None]
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.estimated or other.estimated,
            sum(costs) if costs else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``estimated`` only when true, so reported usage keeps its shape."""
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.estimated:
            out["estimated"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        """Parse :meth:`to_dict` output (``total_tokens`` is derived, so ignored)."""
        return cls(
            int(data.get("prompt_tokens") or 0),
            int(data.get("completion_tokens") or 0),
            bool(data.get("estimated", False)),
        )


@dataclass(frozen=True)
class Message:
    """One chat message. ``content`` is None only for an assistant message with calls."""

    role: Role
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """The message as the chat-completions API expects it.

        ``content`` is always a string: ``""`` stands for None, because servers that
        validate it as a string (llama-cpp-python's) answer ``null`` with a 500, and every
        API tested accepts ``""`` beside tool calls.
        """
        content = "" if self.content is None else self.content
        out: dict[str, Any] = {"role": self.role, "content": content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> Message:
        """Parse a chat-completions message dict (raises ValueError on a bad shape)."""
        role = data.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"bad message role: {role!r}")
        content = data.get("content")
        if content is not None and not isinstance(content, str):
            content = json.dumps(content)
        calls = tuple(
            ToolCall(
                id=str(c.get("id", "")),
                name=str(c.get("function", {}).get("name", "")),
                arguments=str(c.get("function", {}).get("arguments", "")),
            )
            for c in data.get("tool_calls") or ()
        )
        tcid = data.get("tool_call_id")
        return cls(role=role, content=content, tool_calls=calls, tool_call_id=tcid)


def system(text: str) -> Message:
    return Message(role="system", content=text)


def user(text: str) -> Message:
    return Message(role="user", content=text)


def tool_result(call_id: str, text: str) -> Message:
    return Message(role="tool", content=text, tool_call_id=call_id)
