"""Turning command-line arguments into a ready engine: config, store, session, prompt.

Shared by the headless, plain and TUI front ends. Every problem a person can fix comes
out as a StartupError with the exit code it deserves.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hermes.config import Config, ConfigError, Overrides
from hermes.model.endpoint import check_endpoint
from hermes.store.sessions import SessionNotFound, SessionRecord, Store, StoreError, open_store
from hermes.trust.workspace import LoadedWorkspace, TrustQuestion, load_workspace

if TYPE_CHECKING:  # imported when a session is prepared: the TUI draws before loading it
    from hermes.engine.engine import Engine


class StartupError(Exception):
    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Setup:
    engine: Engine
    store: Store
    config: Config
    # Interactive runs: what the workspace's config would change if the user trusted the
    # folder (left out until then); the front end asks before starting the engine.
    trust: TrustQuestion | None = None

    def close(self) -> None:
        self.store.close()


def overrides_from(args: argparse.Namespace) -> Overrides:
    return Overrides(
        model=getattr(args, "model", None),
        base_url=getattr(args, "base_url", None),
        api_key=getattr(args, "api_key", None),
        approval_mode=getattr(args, "approval_mode", None),
        max_turns=getattr(args, "max_turns", None),
        local=bool(getattr(args, "local", False)),
        text_tool_calls=getattr(args, "text_tool_calls", None),
        no_sandbox=bool(getattr(args, "no_sandbox", False)),
    )


def workspace_from(args: argparse.Namespace) -> Path:
    path = Path(getattr(args, "cwd", None) or ".").expanduser()
    if not path.is_dir():
        raise StartupError(f"workspace {path} is not a directory")
    return path.resolve()


def load_workspace_config(workspace: Path, args: argparse.Namespace) -> LoadedWorkspace:
    """``workspace``'s effective config, its own config file applied in full only when
    the folder is trusted for its content or ``--trust-workspace`` was given; raises
    StartupError (exit 2)."""
    try:
        return load_workspace(
            workspace,
            overrides_from(args),
            assume_trusted=bool(getattr(args, "trust_workspace", False)),
        )
    except ConfigError as exc:
        raise StartupError(str(exc)) from exc


def load_checked(args: argparse.Namespace) -> tuple[Path, Config, TrustQuestion | None]:
    """Workspace, effective config, and what an untrusted workspace config would change
    (None: nothing was left out); raises StartupError."""
    workspace = workspace_from(args)
    loaded = load_workspace_config(workspace, args)
    return workspace, loaded.report.config, loaded.question


def load(args: argparse.Namespace, *, quiet: bool = False) -> tuple[Path, Config]:
    """Workspace and effective config, or StartupError (exit 2). What an untrusted
    workspace config would loosen is left out, said in one stderr line unless ``quiet``."""
    workspace, config, question = load_checked(args)
    if question is not None and not quiet:
        _warn(question.notice())
    return workspace, config


def open_db() -> Store:
    try:
        return open_store()
    except StoreError as exc:
        raise StartupError(str(exc), exit_code=1) from exc


def find_resume(args: argparse.Namespace, store: Store, workspace: Path) -> SessionRecord | None:
    """The session named by --resume ID or --continue, if any."""
    if getattr(args, "continue_", False):
        found = store.list_sessions(workspace=str(workspace), limit=1, nonempty=True)
        if not found:
            raise StartupError(f"no earlier session in {workspace} to continue")
        return found[0]
    resume = getattr(args, "resume", None)
    if resume is None:
        return None
    if resume == "":
        raise StartupError(
            "--resume needs a session ID here (see 'hermes sessions list'); the picker opens "
            "only in the interactive TUI"
        )
    try:
        return store.get_session(resume)
    except SessionNotFound as exc:
        raise StartupError(str(exc)) from exc


def prepare_session(args: argparse.Namespace, *, interactive: bool) -> Setup:
    """Everything up to a created-but-not-started engine. Interactive: ``Setup.trust``
    holds what an untrusted workspace config would change; otherwise that is said in
    one stderr line."""
    workspace, config, question = load_checked(args)
    try:
        check_endpoint(config)
    except ConfigError as exc:
        raise StartupError(str(exc)) from exc
    store = open_db()
    try:
        record = find_resume(args, store, workspace)
        if record is not None:
            workspace, config, question = _resumed(record, workspace, config, question, args)
            if str(workspace) != record.workspace:  # moved: --continue finds it here now
                store.update_session(record.id, workspace=str(workspace))
        if question is not None and not interactive:
            _warn(question.notice())
        from hermes.engine.engine import Engine
        from hermes.prompt.system import build_system_prompt

        prompt = build_system_prompt(workspace, config, warn=_warn, store=store)
        engine = Engine.create(
            config=config,
            store=store,
            workspace=workspace,
            interactive=interactive,
            resume=record,
            system_prompt=prompt,
        )
        if getattr(args, "plan", False):  # --plan: start in plan mode
            from hermes.engine.plan import enter_now

            enter_now(engine.state)
    except BaseException:
        store.close()
        raise
    return Setup(engine, store, config, question if interactive else None)


def _warn(message: str) -> None:
    print(f"hermes: warning: {message}", file=sys.stderr)


def session_settings(args: argparse.Namespace, record: SessionRecord) -> tuple[Path, Config]:
    """The workspace and config a stored session runs with, as ``--resume`` would give it
    (flags still win); raises StartupError."""
    workspace, config = load(args)
    return resumed_settings(record, workspace, config, args)


def resumed_settings(
    record: SessionRecord, workspace: Path, config: Config, args: argparse.Namespace
) -> tuple[Path, Config]:
    """Resume restores the session's workspace, model and approval mode (flags still win)."""
    workspace, config, question = _resumed(record, workspace, config, None, args)
    if question is not None:
        _warn(question.notice())
    return workspace, config


def _resumed(
    record: SessionRecord,
    workspace: Path,
    config: Config,
    question: TrustQuestion | None,
    args: argparse.Namespace,
) -> tuple[Path, Config, TrustQuestion | None]:
    import dataclasses

    stored_ws = Path(record.workspace)
    if stored_ws.is_dir():
        if stored_ws != workspace:  # that project's own config (rules, model), not this one's
            loaded = load_workspace_config(stored_ws, args)
            config, question = loaded.report.config, loaded.question
            try:
                check_endpoint(config)
            except ConfigError as exc:
                raise StartupError(str(exc)) from exc
        workspace = stored_ws
    else:
        _warn(f"the session's workspace {stored_ws} no longer exists; using {workspace}")
    model = config.model
    if not getattr(args, "model", None) and record.model:
        model = dataclasses.replace(model, name=record.model)
    approvals = config.approvals
    if not getattr(args, "approval_mode", None) and record.approval_mode in (
        "ask",
        "auto-edit",
        "auto",
        "yolo",
        "plan",  # resumed while planning: the mode to go back to is stored too
    ):
        approvals = dataclasses.replace(approvals, mode=record.approval_mode)  # type: ignore[arg-type]
    return workspace, dataclasses.replace(config, model=model, approvals=approvals), question
