"""Approval policy: which calls run, which ask a human, which are denied, and why.

Deny beats allow. Every decision carries a reason a person can read. With no human
(headless), "ask" becomes a denial that says how to allow it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hermes.protocol import APPROVAL_MODES, ApprovalMode, ToolClass

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
    sensitive: str | None = None
    """Why the call may expose secrets (or is otherwise delicate): it asks, and no
    "always" grant is offered or honoured; an explicit approvals.allow rule still is."""
    protected: str | None = None
    """Why the call writes a protected path (.git, .hermes, hermes' home): it asks in
    every mode, whatever the rules say."""
    catastrophic: str | None = None
    classification_reason: str = ""
    # False when the command has redirection, substitution or expansion: then its
    # sub-command prefixes do not describe everything it does, so only a tool-wide rule
    # may allow it and "always" offers no per-prefix grant.
    plain: bool = True


@dataclass(frozen=True)
class Decision:
    """What to do with a call, why, and the rules an "always" answer would add."""

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
    # Commands run inside the OS sandbox (the engine sets it once it knows); mode
    # ``auto`` runs them without asking only then.
    sandboxed: bool = False

    @classmethod
    def from_config(
        cls, mode: ApprovalMode, allow: tuple[str, ...], deny: tuple[str, ...]
    ) -> ApprovalPolicy:
        return cls(mode, tuple(Rule.parse(a) for a in allow), tuple(Rule.parse(d) for d in deny))

    def always_rules(self, facts: CallFacts) -> tuple[str, ...]:
        """The exact rules an "always" answer would add (never a blanket ``*``, never a
        bare interpreter or runner: ``python -m pytest``, not ``python``)."""
        if facts.catastrophic or facts.protected or facts.sensitive:
            return ()
        if facts.command is not None:
            if not facts.plain:
                return ()
            from hermes.safety.shell.programs import grantable

            prefixes = tuple(dict.fromkeys(facts.command_prefixes))
            if not all(grantable(p) for p in prefixes):
                return ()
            return tuple(f"{facts.name}:{p}" for p in prefixes)
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
        """Decide one call. Order: deny rules, catastrophic, protected paths, allow rules,
        writes outside the workspace, secrets, grants, then the mode."""
        denied = _touches(self.deny, facts)
        if denied is not None:
            return Decision("deny", f"denied by rule '{denied}' in approvals.deny")
        if self.mode == "plan" and facts.tool_class != "read":  # no rule or grant beats it
            return _mode_decision("plan", facts, ())
        if facts.catastrophic:
            return Decision("ask", f"catastrophic: {facts.catastrophic}", (), True)
        if facts.protected:
            return Decision("ask", f"protected: {facts.protected}")
        allowed = _covers(self.allow, facts)
        if allowed is not None:
            return Decision("allow", f"allowed by rule '{allowed}' in approvals.allow")
        if facts.outside_workspace and facts.tool_class == "write":
            return Decision("ask", "writes outside the workspace")
        if facts.sensitive:
            return Decision("ask", facts.sensitive)
        granted = _covers(self.grants, facts)
        if granted is not None:
            return Decision("allow", f"allowed by your 'always' grant '{granted}'")
        return _mode_decision(self.mode, facts, self.always_rules(facts), self.sandboxed)


def _mode_decision(
    mode: ApprovalMode, facts: CallFacts, rules: tuple[str, ...], sandboxed: bool = False
) -> Decision:
    """What the approval mode alone says (no rules, grants or special cases);
    ``sandboxed``: terminal commands run inside the OS sandbox."""
    if facts.tool_class == "read":
        why = facts.classification_reason or "reads run without asking"
        return Decision("allow", why)
    if mode == "plan":
        what = "commands" if facts.tool_class == "exec" else "edits"
        return Decision(
            "deny",
            f"plan mode: {what} do not run while planning. Only reads run now: explore, "
            "then call exit_plan_mode with your plan for the user to accept",
        )
    if mode == "yolo":
        return Decision("allow", "approval mode yolo")
    if mode == "auto-edit" and facts.tool_class == "write":
        return Decision("allow", "approval mode auto-edit: edits inside the workspace")
    if mode == "auto" and facts.tool_class == "write":
        return Decision("allow", "approval mode auto: edits inside the workspace")
    if mode == "auto" and facts.name == "terminal":
        if sandboxed:
            return Decision("allow", "approval mode auto: runs inside the sandbox")
        return Decision("ask", "approval mode auto: there is no sandbox, so commands ask", rules)
    why = facts.classification_reason or f"{facts.name} changes the workspace"
    return Decision("ask", f"approval mode {mode}: {why}", rules)


def modes_that_allow(facts: CallFacts) -> tuple[ApprovalMode, ...]:
    """The approval modes in which this call would run without asking (ignoring rules
    and grants); empty when only a person can approve it."""
    if facts.catastrophic or facts.protected or facts.sensitive:
        return ()
    if facts.outside_workspace and facts.tool_class == "write":
        return ()
    return tuple(m for m in APPROVAL_MODES if _mode_decision(m, facts, ()).action == "allow")


def _quoted(facts: CallFacts) -> str:
    """The call as a person recognises it: the command, or the tool and its path."""
    if facts.command is not None:
        text = " ".join(facts.command.split())
        if len(text) > 120:
            text = text[:119] + "…"
        if not text.isprintable():
            text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
        return f"{facts.name} `{text}`"
    if facts.paths:
        return f"{facts.name} on {facts.paths[0]}"
    return facts.name


def headless_hint(decision: Decision, facts: CallFacts) -> str:
    """How to let this call run in a run with no one to ask: a mode that would allow it
    (only one that really would) and the allow rule an "always" answer would add."""
    modes = [m for m in modes_that_allow(facts) if m != "ask"]
    rule = decision.always_rules[0] if decision.always_rules else None
    ways: list[str] = []
    if modes:
        also = f" (or {', '.join(modes[1:])})" if len(modes) > 1 else ""
        ways.append(f"--approval-mode {modes[0]}{also}")
    if rule:
        ways.append(f"an approvals.allow rule such as '{rule}'")
    if not ways:
        return "Only a person can approve it: run hermes interactively."
    return f"To allow it, use {' or '.join(ways)}."


def headless_denial(decision: Decision, facts: CallFacts) -> str:
    """What the model (and stderr) is told when a call needed a human and none is there."""
    return (
        f"denied: {_quoted(facts)} needs approval ({decision.reason}) and this run has no one "
        f"to ask. {headless_hint(decision, facts)}"
    )
