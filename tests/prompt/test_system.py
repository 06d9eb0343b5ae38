"""The system prompt: the full instructions for an endpoint, the short ones for a local model."""

from __future__ import annotations

from pathlib import Path

from hermes.config import Config, ModelConfig
from hermes.prompt.system import BASE_PROMPT, LOCAL_BASE_PROMPT, build_system_prompt


def test_local_system_prompt_is_short_and_keeps_the_session_blocks(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Use tabs.")
    local = Config(model=ModelConfig(provider="local"))
    out = build_system_prompt(tmp_path, local, store=None)
    assert out.startswith(LOCAL_BASE_PROMPT)
    assert f"Workspace: {tmp_path}" in out and "Use tabs." in out
    assert "## Skills" not in out and BASE_PROMPT not in out
    remote = build_system_prompt(tmp_path, Config(), store=None)
    assert remote.startswith(BASE_PROMPT) and "## Skills" in remote
