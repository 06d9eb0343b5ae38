"""The session's system prompt: short instructions, the workspace, then optional blocks
(project instructions, skills index, remembered facts), each within its own budget.

Budgets are measured with a cheap estimate here: loading a BPE encoding would cost more
than the whole start-up budget, and a budget does not need exact counts.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hermes.config import Config
from hermes.tokens import estimate_tokens

if TYPE_CHECKING:
    from hermes.store.sessions import Store


BASE_PROMPT = """\
You are hermes, a coding agent working in the user's workspace through tools.
- Read before you edit; keep changes minimal and in the project's style.
- Use patch for small edits, write_file for new files; run tests or commands with terminal.
- Paths are relative to the workspace. Commands run non-interactively (stdin is empty).
- If a tool result says a call was denied or interrupted, do not retry it blindly: adapt or ask.
- Be concise. When done, say what you changed and how you checked it."""


def system_prompt(workspace: Path, blocks: Sequence[str] = (), *, local: bool = False) -> str:
    """Assemble the system prompt; empty blocks are skipped. ``local``: the short
    instructions for a small in-process model."""
    env = (
        f"Workspace: {workspace}\n"
        f"Platform: {platform.system()} {platform.machine()}; date {date.today().isoformat()}"
    )
    parts = [
        LOCAL_BASE_PROMPT if local else BASE_PROMPT,
        env,
        *(b.strip() for b in blocks if b and b.strip()),
    ]
    return "\n\n".join(parts)


# What a small in-process model is told instead: short, and no skills (the skill tools are
# not offered to it).
LOCAL_BASE_PROMPT = """\
You are hermes, a coding assistant working in the user's workspace through tools.
- To see a file, call read_file; never guess what a file says.
- Use patch to change part of a file, write_file for a new file, terminal to run commands.
- Paths are relative to the workspace. Call a tool, wait for its result, then answer.
- Be brief."""


def build_system_prompt(
    workspace: Path,
    config: Config,
    warn: Callable[[str], None] | None = None,
    store: Store | None = None,
) -> str:
    """The system prompt for a new or resumed session. Remembered facts come from
    ``store`` (else the default database, when it exists)."""
    from hermes.memory.facts.recall import remembered_facts_block
    from hermes.prompt.instructions import find_instruction_files, instructions_block
    from hermes.skills.catalog import discover_skills, skills_index

    blocks: list[str] = []
    files = find_instruction_files(workspace)
    if files:
        blocks.append(
            instructions_block(
                files, config.prompt.instructions_budget_tokens, count=estimate_tokens
            )
        )
    scan = discover_skills(workspace)
    if warn is not None:
        for message in scan.warnings:
            warn(message)
    local = config.model.provider == "local"
    index = skills_index(scan, config.prompt.skills_budget_tokens, count=estimate_tokens)
    if index and not local:
        blocks.append(index)
    budget = config.prompt.facts_budget_tokens
    blocks.append(
        remembered_facts_block(str(workspace), budget, count=estimate_tokens, store=store)
    )
    return system_prompt(workspace, blocks, local=local)
