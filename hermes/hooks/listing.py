"""What is configured, as ``hermes hooks list`` and ``/hooks`` show it: each event's hooks,
their matchers and timeouts, and the file each came from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hermes.config import HOOK_EVENTS, HooksConfig
from hermes.hooks.names import MAPPING_ROWS
from hermes.hooks.table import MATCHED_BY, all_hooks


def hooks_lines(config: HooksConfig, ignored: Sequence[str] = ()) -> list[str]:
    """One block per event with hooks, then the lines of ``ignored`` (workspace hooks left
    out because the folder is not trusted), then the tool-name mapping."""
    specs = all_hooks(config)
    lines: list[str] = []
    if not specs:
        lines.append("no hooks configured (hooks.<Event> in $HERMES_HOME/config.yaml)")
    width = max((len(s.matcher or "*") for s in specs), default=1)
    for event in HOOK_EVENTS:
        mine = [s for s in specs if s.event == event]
        if not mine:
            continue
        matched = f"  (matcher: {MATCHED_BY[event]})" if event in MATCHED_BY else ""
        lines.append(f"{event}{matched}")
        for s in mine:
            lines.append(
                f"  {(s.matcher or '*').ljust(width)}  {s.command}  "
                f"(timeout {s.timeout:g} s; from {s.source})"
            )
    if ignored:
        lines.append("not run, this folder is not trusted ('hermes trust' to allow):")
        lines.extend(f"  {line}" for line in ignored)
    if any(s.event in ("PreToolUse", "PostToolUse") for s in specs):
        pairs = ", ".join(f"{hermes} = {claude}" for hermes, claude in MAPPING_ROWS)
        lines.append(f"tool names (matchers and tool_name): {pairs}")
    return lines


def hooks_json(config: HooksConfig) -> list[dict[str, Any]]:
    """Every configured hook as a JSON-ready dict."""
    return [
        {
            "event": s.event,
            "matcher": s.matcher,
            "command": s.command,
            "timeout": s.timeout,
            "source": s.source,
        }
        for s in all_hooks(config)
    ]
