"""Which approval modes Shift+Tab steps through (no textual here).

One place decides the cycle, so a new stop (a ``plan`` mode) is added here and every
front end follows. ``yolo`` is never in it: only ``/approvals yolo`` turns it on.
"""

from __future__ import annotations

from hermes.protocol import ApprovalMode


def approval_cycle(sandboxed: bool) -> tuple[ApprovalMode, ...]:
    """The modes Shift+Tab cycles through, in order: ``ask``, ``auto-edit``, ``auto``
    only where commands run in a sandbox (it runs them without asking), then ``plan``
    (only reads run until the user accepts a plan: hermes.engine.plan)."""
    modes: list[ApprovalMode] = ["ask", "auto-edit"]
    if sandboxed:
        modes.append("auto")
    modes.append("plan")
    return tuple(modes)


def next_mode(current: str, sandboxed: bool) -> ApprovalMode:
    """The mode after ``current``; from a mode outside the cycle (``yolo``) back to ``ask``."""
    cycle = approval_cycle(sandboxed)
    if current not in cycle:
        return cycle[0]
    return cycle[(cycle.index(current) + 1) % len(cycle)]
