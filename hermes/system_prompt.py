"""Building the session's system prompt from the workspace, skills and instructions.

Budgets are measured with a cheap estimate here: loading a BPE encoding would cost more
than the whole start-up budget, and a budget does not need exact counts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hermes.config import Config
from hermes.prompt import system_prompt
from hermes.tokens import estimate_tokens

if TYPE_CHECKING:
    from hermes.store import Store


def build_system_prompt(
    workspace: Path,
    config: Config,
    warn: Callable[[str], None] | None = None,
    store: Store | None = None,
) -> str:
    """The system prompt for a new or resumed session. Remembered facts come from
    ``store`` (else the default database, when it exists)."""
    from hermes.facts_prompt import remembered_facts_block
    from hermes.skills import (
        discover_skills,
        find_instruction_files,
        instructions_block,
        skills_index,
    )

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
    index = skills_index(scan, config.prompt.skills_budget_tokens, count=estimate_tokens)
    if index:
        blocks.append(index)
    budget = config.prompt.facts_budget_tokens
    blocks.append(
        remembered_facts_block(str(workspace), budget, count=estimate_tokens, store=store)
    )
    return system_prompt(workspace, blocks)
