"""Approval policy: which calls run, which ask a human, which are denied, and why.

Deny beats allow. Every decision carries a reason a person can read. With no human
(headless), "ask" becomes a denial that says how to allow it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hermes.protocol import ApprovalMode, ToolClass

Action = Literal["allow", "ask", "deny"]


@dataclass(frozen=True)
class CallFacts:
    """What the policy needs to know about one call."""

    name: str
    tool_class: ToolClass
    command: str | None = None
    command_prefixes: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    outside_workspace: bool = False
    sensitive: str | None = None  # why the path is sensitive (secrets, .git internals)
    catastrophic: str | None = None
    classification_reason: str = ""
    # False when the command has redirection, substitution or expansion: then its
    # sub-command prefixes do not describe everything it does, so only a tool-wide rule
    # may allow it and "always" offers no per-prefix grant.
    plain: bool = True


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    always_rules: tuple[str, ...] = ()
    catastrophic: bool = False


@dataclass(frozen=True)
class Rule:
    """``tool`` or ``tool:pattern``: a command prefix for terminal, a path glob for files.
    ``tool`` may be a glob too (``mcp__github__*``)."""

    tool: str
    pattern: str | None = None

    @classmethod
    def parse(cls, text: str) -> Rule:
        tool, sep, pattern = text.partition(":")
        return cls(tool.strip(), pattern.strip() if sep else None)

    def __str__(self) -> str:
        return self.tool if self.pattern is None else f"{self.tool}:{self.pattern}"

    def matches(self, facts: CallFacts, prefix: str | None = None) -> bool:
        """Does this rule cover the call (for a command: the one sub-command ``prefix``)?"""
        if self.tool != facts.name and not fnmatch.fnmatchcase(facts.name, self.tool):
            return False
        if self.pattern is None or self.pattern == "*":
            return True
        if facts.command is not None:
            return prefix is not None and _prefix_match(self.pattern, prefix)
        return bool(facts.paths) and all(
            fnmatch.fnmatch(str(p), self.pattern) or fnmatch.fnmatch(p.name, self.pattern)
            for p in facts.paths
        )


def _covers(rules: tuple[Rule, ...] | list[Rule], facts: CallFacts) -> Rule | None:
    """A rule covering the call; a command needs every sub-command covered (by any rule)."""
    whole = next((r for r in rules if r.matches(facts)), None)
    if whole is not None or facts.command is None or not facts.command_prefixes:
        return whole
    if not facts.plain:
        return None
    found: Rule | None = None
    for prefix in facts.command_prefixes:
        rule = next((r for r in rules if r.matches(facts, prefix)), None)
        if rule is None:
            return None
        found = found or rule
    return found


def _touches(rules: tuple[Rule, ...], facts: CallFacts) -> Rule | None:
    """A rule matching any part of the call (deny rules: one denied part denies all)."""
    whole = next((r for r in rules if r.matches(facts)), None)
    if whole is not None or facts.command is None:
        return whole
    for prefix in facts.command_prefixes:
        rule = next((r for r in rules if r.matches(facts, prefix)), None)
        if rule is not None:
            return rule
    return None


def _prefix_match(pattern: str, prefix: str) -> bool:
    pattern = pattern.rstrip("*").strip()
    return prefix == pattern or prefix.startswith(pattern + " ")


@dataclass
class ApprovalPolicy:
    mode: ApprovalMode = "ask"
    allow: tuple[Rule, ...] = ()
    deny: tuple[Rule, ...] = ()
    grants: list[Rule] = field(default_factory=list)

    @classmethod
    def from_config(
        cls, mode: ApprovalMode, allow: tuple[str, ...], deny: tuple[str, ...]
    ) -> ApprovalPolicy:
        return cls(mode, tuple(Rule.parse(a) for a in allow), tuple(Rule.parse(d) for d in deny))

    def always_rules(self, facts: CallFacts) -> tuple[str, ...]:
        """The exact rules an "always" answer would add (never a blanket ``*``)."""
        if facts.catastrophic:
            return ()
        if facts.command is not None:
            if not facts.plain:
                return ()
            return tuple(f"{facts.name}:{p}" for p in dict.fromkeys(facts.command_prefixes))
        if facts.paths:
            return tuple(f"{facts.name}:{p}" for p in dict.fromkeys(str(p) for p in facts.paths))
        return (facts.name,)

    def grant(self, rules: tuple[str, ...]) -> None:
        for text in rules:
            rule = Rule.parse(text)
            if rule not in self.grants:
                self.grants.append(rule)

    def revoke(self, text: str) -> bool:
        rule = Rule.parse(text)
        if rule in self.grants:
            self.grants.remove(rule)
            return True
        return False

    def decide(self, facts: CallFacts) -> Decision:
        """Decide one call. Order: deny rules, catastrophic, allow rules, grants, mode."""
        denied = _touches(self.deny, facts)
        if denied is not None:
            return Decision("deny", f"denied by rule '{denied}' in approvals.deny")
        rules = self.always_rules(facts)
        if facts.catastrophic:
            return Decision("ask", f"catastrophic: {facts.catastrophic}", (), True)
        allowed = _covers(self.allow, facts)
        if allowed is not None:
            return Decision("allow", f"allowed by rule '{allowed}' in approvals.allow")
        if facts.outside_workspace and facts.tool_class == "write":
            return Decision("ask", "writes outside the workspace", rules)
        if facts.sensitive:
            return Decision("ask", facts.sensitive, rules)
        granted = _covers(self.grants, facts)
        if granted is not None:
            return Decision("allow", f"allowed by your 'always' grant '{granted}'")
        if facts.tool_class == "read":
            why = facts.classification_reason or "reads run without asking"
            return Decision("allow", why)
        if self.mode == "yolo":
            return Decision("allow", "approval mode yolo")
        if self.mode == "auto-edit" and facts.tool_class == "write":
            return Decision("allow", "approval mode auto-edit: edits inside the workspace")
        why = facts.classification_reason or f"{facts.name} changes the workspace"
        return Decision("ask", f"approval mode {self.mode}: {why}", rules)


def headless_denial(decision: Decision, facts: CallFacts) -> str:
    """What the model (and stderr) is told when a call needed a human and none is there."""
    how = "--approval-mode auto-edit or yolo" if not decision.catastrophic else "a human"
    rule = (
        f" or an approvals.allow rule such as '{decision.always_rules[0]}'"
        if decision.always_rules
        else ""
    )
    return (
        f"denied: {facts.name} needs approval ({decision.reason}) and this run has no one to "
        f"ask. To allow it, use {how}{rule}."
    )
