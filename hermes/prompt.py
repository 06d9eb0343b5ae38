"""The system prompt: short instructions, the workspace, then optional blocks (project
instructions, skills index, remembered facts), each within its own token budget."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import date
from pathlib import Path

BASE_PROMPT = """\
You are hermes, a coding agent working in the user's workspace through tools.
- Read before you edit; keep changes minimal and in the project's style.
- Use patch for small edits, write_file for new files; run tests or commands with terminal.
- Paths are relative to the workspace. Commands run non-interactively (stdin is empty).
- If a tool result says a call was denied or interrupted, do not retry it blindly: adapt or ask.
- Be concise. When done, say what you changed and how you checked it."""


def system_prompt(workspace: Path, blocks: Sequence[str] = ()) -> str:
    """Assemble the system prompt; empty blocks are skipped."""
    env = (
        f"Workspace: {workspace}\n"
        f"Platform: {platform.system()} {platform.machine()}; date {date.today().isoformat()}"
    )
    parts = [BASE_PROMPT, env, *(b.strip() for b in blocks if b and b.strip())]
    return "\n\n".join(parts)
