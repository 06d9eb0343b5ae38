"""What hermes would do with a shell command, and why: the engine's own path (classify,
then the approval policy), without running anything. ``hermes approvals check`` prints
it; tests and the bench use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes.safety.classify import classify_command
from hermes.safety.policy import Action, ApprovalPolicy, headless_hint


@dataclass(frozen=True)
class CommandCheck:
    """The decision for one command in one mode, with every reason that counted."""

    command: str
    mode: str
    decision: Action
    tool_class: str
    reason: str
    reasons: tuple[str, ...]
    always: tuple[str, ...]
    """The rule an "always" answer adds (the approvals.allow rule that would cover it)."""
    catastrophic: str | None
    sensitive: str | None
    protected: str | None
    headless: str
    """What a run with no one to ask does: ``allow``, ``deny``, plus how to allow it."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (``class`` for the tool class)."""
        return {
            "command": self.command,
            "mode": self.mode,
            "decision": self.decision,
            "class": self.tool_class,
            "reason": self.reason,
            "reasons": list(self.reasons),
            "always": list(self.always),
            "catastrophic": self.catastrophic,
            "sensitive": self.sensitive,
            "protected": self.protected,
            "headless": self.headless,
        }


def check_command(
    command: str,
    workspace: Path,
    policy: ApprovalPolicy,
    workdir: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CommandCheck:
    """Classify ``command`` as the engine would and decide it under ``policy``."""
    c = classify_command(command, workspace, workdir, env)
    facts = c.facts
    decision = policy.decide(facts)
    reasons: list[str] = []
    for why in (
        decision.reason,
        f"catastrophic: {facts.catastrophic}" if facts.catastrophic else None,
        f"protected: {facts.protected}" if facts.protected else None,
        facts.sensitive,
        facts.classification_reason,
    ):
        core = (why or "").removeprefix("asks: ")
        if core and not any(core in r for r in reasons):
            reasons.append(why or "")
    if decision.action == "ask":
        headless = f"deny: {headless_hint(decision, facts)}"
    else:
        headless = decision.action
    return CommandCheck(
        command=command,
        mode=policy.mode,
        decision=decision.action,
        tool_class=c.tool_class,
        reason=decision.reason,
        reasons=tuple(reasons),
        always=decision.always_rules or policy.always_rules(facts),
        catastrophic=facts.catastrophic,
        sensitive=facts.sensitive,
        protected=facts.protected,
        headless=headless,
    )
