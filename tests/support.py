"""Helpers shared by tests: an engine wired to a scripted server, and event collection."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.config import Config, Overrides, parse_config
from hermes.engine.engine import Engine
from hermes.store.sessions import SessionRecord, Store
from hermes.trust.workspace import load_workspace


def git_env(home: Path) -> dict[str, str]:
    """An environment for real git in a test: ``home`` as HOME (created), no system
    config, a fixed identity."""
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }


def make_config(
    base_url: str, workspace: Path, raw: dict[str, Any] | None = None, **flags: Any
) -> Config:
    """Config for tests: fast retries, the scripted endpoint, optional YAML-shaped overrides.
    The workspace's own config file applies as hermes would apply it (folder trust)."""
    cfg = load_workspace(workspace, Overrides(base_url=base_url, **flags), env={}).report.config
    fast = {"model": {"retry_base_delay": 0.01, "retry_max_delay": 0.05}}
    cfg = parse_config(fast, "test", cfg)
    if raw:
        cfg = parse_config(raw, "test", cfg)
    return dataclasses.replace(cfg, api_key="test-key")


def make_engine(
    config: Config,
    workspace: Path,
    store: Store,
    *,
    interactive: bool = False,
    resume: SessionRecord | None = None,
    system_prompt: str = "You are a test.",
) -> Engine:
    return Engine.create(
        config=config,
        store=store,
        workspace=workspace,
        interactive=interactive,
        resume=resume,
        system_prompt=system_prompt,
    )


Answer = Callable[[p.ApprovalRequested], p.ApprovalDecision]


async def drive(
    engine: Engine, text: str, answer: Answer | None = None, wait_s: float = 30
) -> list[p.Event]:
    """Run one prompt on a started engine to its end; ``answer`` replies to approvals."""
    await engine.submit(p.UserTurn(text))
    events: list[p.Event] = []

    async def collect() -> None:
        async for ev in engine.events():
            events.append(ev)
            if isinstance(ev, p.ApprovalRequested) and answer is not None:
                await engine.submit(p.ApprovalReply(ev.call_id, answer(ev)))
            if isinstance(ev, p.TurnComplete | p.TurnAborted):
                return

    await asyncio.wait_for(collect(), wait_s)
    return events


async def run_prompt(
    engine: Engine, text: str, wait_s: float = 30, answer: Answer | None = None
) -> list[p.Event]:
    """Start the engine, run one prompt to its end, shut down; return every event."""
    await engine.start()
    events = await drive(engine, text, answer, wait_s)
    await engine.submit(p.Shutdown())
    return events


def run_hermes(
    *args: str,
    cwd: Path,
    home: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a real ``hermes`` process with its own HERMES_HOME and no inherited keys."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    full_env["HERMES_HOME"] = str(home)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "hermes", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def kinds(events: Sequence[p.Event], *skip: type) -> list[str]:
    """Event class names in order, leaving out the streaming deltas and any ``skip``."""
    ignore = (p.AssistantDelta, p.ReasoningDelta, p.ToolOutputDelta, p.TokenUsage, *skip)
    return [type(e).__name__ for e in events if not isinstance(e, ignore)]


def of_type(events: Sequence[p.Event], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]
