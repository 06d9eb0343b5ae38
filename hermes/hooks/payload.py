"""The JSON a hook reads on stdin, with the field names Claude Code's scripts use.

Every event: ``session_id``, ``transcript_path``, ``cwd``, ``hook_event_name``,
``permission_mode``. Then per event: ``tool_name``, ``tool_input``, ``tool_use_id``
(and ``tool_response`` after the call) for ``PreToolUse``/``PostToolUse``; ``prompt``
for ``UserPromptSubmit``; ``stop_hook_active`` and ``last_assistant_message`` for
``Stop``; ``message`` and ``notification_type`` for ``Notification``; ``trigger`` for
``PreCompact``; ``source`` for ``SessionStart``; ``reason`` for ``SessionEnd``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hermes.hooks.names import hook_tool_input, hook_tool_name

PERMISSION_MODES = {
    "ask": "default",
    "auto-edit": "acceptEdits",
    "auto": "default",
    "yolo": "bypassPermissions",
}
"""hermes' approval mode -> Claude Code's ``permission_mode`` (``hermes_approval_mode``
carries hermes' own)."""


def base_payload(
    event: str, *, session_id: str, transcript_path: str, cwd: Path, approval_mode: str
) -> dict[str, Any]:
    """The fields every event has."""
    return {
        "session_id": session_id,
        "transcript_path": transcript_path,
        "cwd": str(cwd),
        "hook_event_name": event,
        "permission_mode": PERMISSION_MODES.get(approval_mode, "default"),
        "hermes_approval_mode": approval_mode,
    }


def tool_fields(
    tool: str, args: Mapping[str, Any] | None, call_id: str, workspace: Path
) -> dict[str, Any]:
    """``tool_name`` (Claude Code's name where one corresponds), ``tool_input``,
    ``tool_use_id`` and ``hermes_tool_name``."""
    return {
        "tool_name": hook_tool_name(tool, args),
        "tool_input": hook_tool_input(tool, args, workspace),
        "tool_use_id": call_id,
        "hermes_tool_name": tool,
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    """The payload as one line of UTF-8 JSON."""
    return (json.dumps(payload, ensure_ascii=False, default=str) + "\n").encode("utf-8")
