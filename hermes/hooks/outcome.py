"""What a hook run decided, read as Claude Code reads it.

- exit 0: go on. Plain stdout is added context for ``UserPromptSubmit`` and
  ``SessionStart``; JSON stdout may decide (below).
- exit 2: block. stderr is the reason: the model gets it for ``PreToolUse`` (the call is
  denied), ``PostToolUse`` and ``Stop`` (one more step); the user gets it for
  ``UserPromptSubmit`` (the prompt is dropped) and every other event.
- any other exit, a timeout, a hook that cannot start: a warning; hermes goes on.

JSON on stdout (exit 0): ``continue: false`` + ``stopReason`` stops the turn;
``systemMessage`` is shown to the user; ``decision: "block"`` + ``reason`` blocks like
exit 2; ``hookSpecificOutput.permissionDecision`` (``deny``/``ask``/``allow``, with
``permissionDecisionReason``) decides a ``PreToolUse`` call; ``additionalContext`` adds
context. ``allow`` counts only from the user's own config (the engine also never lets it
skip the prompt of a catastrophic call); elsewhere it is ignored with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hermes.hooks.runner import HookResult

BLOCKING_EXIT = 2
_TO_MODEL = frozenset({"PreToolUse", "PostToolUse", "Stop"})
_CONTEXT_EVENTS = frozenset({"UserPromptSubmit", "SessionStart", "PostToolUse", "PreToolUse"})
_TEXT_IS_CONTEXT = frozenset({"UserPromptSubmit", "SessionStart"})
_LEGACY_DECISIONS = {"approve": "allow", "block": "deny"}
_PERMISSIONS = ("deny", "ask", "allow")  # strictest first
_SHOWN_MAX = 400


@dataclass(frozen=True)
class Verdict:
    """What one run decided; ``outcome`` is how it ended."""

    outcome: str  # ok | blocked | error | timeout | interrupted
    decision: str = ""  # deny | ask | allow | block | stop | ""
    reason: str = ""  # why it denied/blocked/asked/allowed
    context: str = ""  # text for the model
    warning: str = ""  # text for the user
    stop_reason: str = ""  # continue: false


def short(text: str, limit: int = _SHOWN_MAX) -> str:
    """``text`` stripped and cut to ``limit`` characters."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def interrupted() -> Verdict:
    """A run cut short by an interrupt."""
    return Verdict("interrupted", warning="interrupted")


def interpret(event: str, result: HookResult, *, user_level: bool) -> Verdict:
    """Read one run of a hook of ``event``."""
    command = result.spec.command
    if result.error:
        return Verdict("error", warning=f"hook '{command}' could not start: {result.error}")
    if result.timed_out:
        return Verdict(
            "timeout",
            warning=f"hook '{command}' was killed after its timeout of {result.spec.timeout:g} s",
        )
    if result.exit_code == BLOCKING_EXIT:
        reason = result.stderr.strip() or f"hook '{command}' exited 2"
        if event == "PreToolUse":
            return Verdict("blocked", "deny", reason)
        if event in _TO_MODEL or event == "UserPromptSubmit":
            return Verdict("blocked", "block", reason)
        return Verdict("blocked", warning=f"hook '{command}': {short(reason)}")
    if result.exit_code != 0:
        what = f"exit {result.exit_code}" if (result.exit_code or 0) > 0 else "killed"
        detail = short(result.stderr or result.stdout)
        return Verdict(
            "error", warning=f"hook '{command}' failed ({what})" + (f": {detail}" if detail else "")
        )
    data = _json_object(result.stdout)
    if data is None:
        text = result.stdout.strip()
        return Verdict("ok", context=text if event in _TEXT_IS_CONTEXT else "")
    return _from_json(event, data, command, user_level)


def _json_object(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _from_json(event: str, data: dict[str, Any], command: str, user_level: bool) -> Verdict:
    specific = data.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    warnings = [_text(data.get("systemMessage"))]
    context = _text(specific.get("additionalContext")) or _text(data.get("additionalContext"))
    context = context if event in _CONTEXT_EVENTS else ""
    if data.get("continue") is False:
        why = _text(data.get("stopReason")) or f"hook '{command}' stopped the turn"
        return Verdict("ok", "stop", why, context, _join(warnings), why)
    decision, reason = "", ""
    if event == "PreToolUse":
        wanted = specific.get("permissionDecision") or data.get("permissionDecision")
        if wanted is None and data.get("decision") in _LEGACY_DECISIONS:
            wanted = _LEGACY_DECISIONS[data["decision"]]
        reason = _text(specific.get("permissionDecisionReason")) or _text(data.get("reason"))
        if wanted in _PERMISSIONS:
            decision = str(wanted)
        elif wanted is not None:
            warnings.append(f"hook '{command}': unknown permissionDecision {wanted!r} ignored")
        if decision == "allow" and not user_level:
            decision = ""
            warnings.append(
                f"hook '{command}' allowed a call; ignored: only hooks in your own config "
                "may skip an approval"
            )
    elif data.get("decision") == "block":
        decision = "block"
        reason = _text(data.get("reason")) or f"hook '{command}' blocked"
    return Verdict("ok", decision, reason, context, _join(warnings))


def _join(parts: Sequence[str]) -> str:
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Combined:
    """The verdicts of one event's hooks, together (the strictest wins)."""

    permission: str = ""  # PreToolUse: deny | ask | allow | ""
    blocked: bool = False  # exit 2 or decision block (PostToolUse, Stop, UserPromptSubmit)
    reasons: tuple[str, ...] = ()  # of the deciding verdicts
    context: tuple[str, ...] = ()
    stop_reason: str = ""  # continue: false
    verdicts: tuple[Verdict, ...] = field(default=())

    @property
    def reason(self) -> str:
        """The deciding reasons, one per line."""
        return "\n".join(self.reasons)


def combine(verdicts: Sequence[Verdict]) -> Combined:
    """Deny beats ask beats allow; any block blocks; any stop stops."""
    permission = next((p for p in _PERMISSIONS if any(v.decision == p for v in verdicts)), "")
    blocked = any(v.decision == "block" for v in verdicts)
    deciding = permission or ("block" if blocked else "")
    reasons = tuple(v.reason for v in verdicts if deciding and v.decision == deciding and v.reason)
    stop = next((v.stop_reason for v in verdicts if v.decision == "stop"), "")
    return Combined(
        permission,
        blocked,
        reasons,
        tuple(v.context for v in verdicts if v.context),
        stop,
        tuple(verdicts),
    )
