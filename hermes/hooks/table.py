"""Which hooks an event runs: the configured entries, their matchers, and where each
came from (only hooks in the user's own config may let a call skip its approval)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hermes import paths
from hermes.config import HOOK_EVENTS, HooksConfig

MATCHED_BY: dict[str, str] = {
    "PreToolUse": "tool name",
    "PostToolUse": "tool name",
    "SessionStart": "source (startup, resume)",
    "PreCompact": "trigger (manual, auto)",
    "Notification": "notification_type (permission_prompt, idle_prompt)",
    "SessionEnd": "reason (exit, other)",
}
"""What an event's matcher is tested against; the other events ignore their matcher."""


@dataclass(frozen=True)
class HookSpec:
    """One configured hook command of one event."""

    event: str
    matcher: str
    command: str
    timeout: float
    source: str  # the config file that configured it

    def matches(self, targets: Sequence[str] | None) -> bool:
        """Whether the matcher selects an event whose subject has the names ``targets``
        (None: the event has no subject, so every hook of it runs)."""
        if targets is None or self.matcher in ("", "*"):
            return True
        try:
            return any(re.fullmatch(self.matcher, t) for t in targets)
        except re.error:  # checked when the config was read; never run on a bad pattern
            return False


def user_config_source() -> str:
    """How hooks from the user's own config file are labelled."""
    return str(paths.config_path())


def all_hooks(config: HooksConfig) -> list[HookSpec]:
    """Every configured hook command, event by event, in config order."""
    out: list[HookSpec] = []
    for event in HOOK_EVENTS:
        for entry in getattr(config, event):
            for hook in entry.hooks:
                out.append(HookSpec(event, entry.matcher, hook.command, hook.timeout, entry.source))
    return out


class HookTable:
    """The hooks of one session, by event."""

    def __init__(self, config: HooksConfig, user_source: str | None = None) -> None:
        self._by_event: dict[str, list[HookSpec]] = {e: [] for e in HOOK_EVENTS}
        for spec in all_hooks(config):
            self._by_event[spec.event].append(spec)
        self.user_source = user_config_source() if user_source is None else user_source

    def configured(self, event: str) -> bool:
        """Whether any hook is configured for ``event`` (cheap: no matching)."""
        return bool(self._by_event.get(event))

    def select(self, event: str, targets: Sequence[str] | None = None) -> list[HookSpec]:
        """The hooks ``event`` runs for a subject named ``targets``; a command configured
        twice runs once (the first entry wins)."""
        seen: set[str] = set()
        out: list[HookSpec] = []
        for spec in self._by_event.get(event, ()):
            if spec.command in seen or not spec.matches(targets):
                continue
            seen.add(spec.command)
            out.append(spec)
        return out

    def user_level(self, spec: HookSpec) -> bool:
        """Whether ``spec`` comes from the user's own config (``$HERMES_HOME/config.yaml``)."""
        return Path(spec.source) == Path(self.user_source)
