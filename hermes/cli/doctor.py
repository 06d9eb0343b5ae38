"""``hermes doctor``: check the session database, config, endpoint and token files.

Every check prints one line (``ok``, ``warn`` or ``FAIL``) and, when something is wrong,
what to do about it. Nothing is modified: the database is opened read-only. Exit code 1
when any check failed. With ``--json`` (or ``--output-format json``) each check is one
JSON object, failures with ``"is_error": true``.

The quick checks cannot tell whether a tool call can succeed (a server may answer
``/models`` and still refuse every request carrying a call): ``--deep`` runs one real
round trip through the engine (the model calls ``read_file`` on a file in a temporary
workspace, gets its result and answers) and prints what hermes learned about the
endpoint (its profile, cached in ``$HERMES_HOME/endpoints.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from hermes import paths
from hermes.checks import Check
from hermes.cli.common import EXIT_FAILED, EXIT_OK, workspace_arg
from hermes.config import Config, ConfigError
from hermes.model.endpoint import check_endpoint, is_local_endpoint, missing_key_advice
from hermes.store.migrations import SCHEMA_VERSION


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``doctor`` command."""
    p = subparsers.add_parser(
        "doctor",
        help="check the session database, config, endpoint and token files",
        description="Checks the session database (integrity, schema), the config files, "
        "that the model endpoint answers, and the shipped token files. Changes nothing.",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per check")
    p.add_argument(
        "--output-format",
        choices=("text", "json"),
        default=argparse.SUPPRESS,
        help="json: the same as --json",
    )
    p.add_argument("--timeout", type=float, default=5.0, help="endpoint timeout in seconds")
    p.add_argument(
        "--deep",
        action="store_true",
        help="also run one real tool call round trip against the model, and print the "
        "endpoint's profile",
    )
    p.add_argument(
        "--deep-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds the --deep round trip may take (default 300: a local CPU model is slow)",
    )
    p.set_defaults(func=cmd_doctor)


def check_database(path: Path) -> Check:
    """Integrity and schema version of the session database, opened read-only."""
    if not path.exists():
        return Check("database", "ok", f"{path} does not exist yet; the first run creates it")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return Check(
            "database",
            "FAIL",
            f"{path}: cannot open: {exc}",
            f"check the permissions of {path} and of {path.parent}",
        )
    try:
        rows = db.execute("PRAGMA integrity_check").fetchall()
        problems = [str(r[0]) for r in rows if r[0] != "ok"]
        if problems:
            return Check(
                "database",
                "FAIL",
                f"{path} is damaged: {'; '.join(problems[:3])}",
                _damaged_fix(path),
            )
        has_version = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        version = 0
        if has_version:
            version = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        sessions = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] if version >= 1 else 0
    except sqlite3.DatabaseError as exc:
        return Check(
            "database", "FAIL", f"{path} is not a usable database: {exc}", _damaged_fix(path)
        )
    finally:
        db.close()
    if version > SCHEMA_VERSION:
        return Check(
            "database",
            "FAIL",
            f"{path} has schema {version}; this hermes knows up to {SCHEMA_VERSION}",
            "upgrade hermes (a newer version wrote this file); it was not touched",
        )
    note = "" if version == SCHEMA_VERSION else f", upgraded to {SCHEMA_VERSION} on next run"
    return Check(
        "database", "ok", f"{path}: integrity ok, schema {version}{note}, {sessions} sessions"
    )


def _damaged_fix(path: Path) -> str:
    return (
        f"hermes never overwrites it. Keep a copy (cp {path} {path}.bak), then try "
        f"`sqlite3 {path} .recover | sqlite3 {path}.recovered` and move the recovered file "
        f"into place, or move {path} aside and hermes starts a fresh database"
    )


def check_config(args: argparse.Namespace) -> tuple[Check, Config | None]:
    """The config files and flags parse."""
    from hermes.engine.startup import StartupError, load_workspace_config

    workspace = workspace_arg(args)
    try:  # the workspace's own file counts only as far as the folder is trusted
        loaded = load_workspace_config(workspace, args)
    except StartupError as exc:
        return Check("config", "FAIL", str(exc), "fix the file and key named above"), None
    cfg = loaded.report.config
    where = [str(p) for p in (paths.config_path(), workspace / ".hermes" / "config.yaml")]
    found = [w for w in where if Path(w).is_file()]
    detail = f"{', '.join(found)} parsed" if found else "no config files; defaults in use"
    model = f"model {cfg.model.name} at {cfg.model.base_url}"
    if cfg.model.provider == "local":
        model = "a local model in process (model.provider local)"
    if loaded.question is not None:
        q = loaded.question
        return Check("config", "warn", f"{detail}; {model}; {q.notice()}", q.trust_command()), cfg
    return Check("config", "ok", f"{detail}; {model}"), cfg


def check_endpoint_reachable(cfg: Config, timeout: float) -> Check:
    """``GET {base_url}/models`` answers, and accepts the key."""
    import urllib.error  # here, not at import: every hermes start registers this command
    import urllib.request

    if cfg.model.provider == "local":
        return Check("endpoint", "ok", "not used: model.provider is local (in process)")
    if not cfg.api_key and not is_local_endpoint(cfg.model.base_url):
        return Check(
            "endpoint", "FAIL", f"no API key for {cfg.model.base_url}", missing_key_advice(cfg)
        )
    try:
        check_endpoint(cfg)
    except ConfigError as exc:
        return Check("endpoint", "FAIL", str(exc), "set --base-url URL (it ends in /v1 usually)")
    url = cfg.model.base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if cfg.api_key:
        request.add_header("Authorization", f"Bearer {cfg.api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(
            "endpoint",
            "FAIL",
            f"cannot reach {cfg.model.base_url}: {reason}",
            "start the server, or check model.base_url / --base-url and your network",
        )
    if status in (401, 403):
        return Check(
            "endpoint",
            "FAIL",
            f"{url} refused the API key (HTTP {status})",
            f"check HERMES_API_KEY or {cfg.model.api_key_env}",
        )
    if status >= 400:
        return Check(
            "endpoint",
            "warn",
            f"{url} answered HTTP {status}; the server is up but does not list models",
            "fine for servers without /models; otherwise check model.base_url",
        )
    return Check("endpoint", "ok", f"{url} answered HTTP {status}")


def check_token_files() -> Check:
    """The shipped tiktoken rank files are present and unchanged (sha256)."""
    from importlib.resources import files

    from hermes.tokens import EXPECTED_SHA256

    root = files("hermes.data")
    bad = []
    for name, expected in sorted(EXPECTED_SHA256.items()):
        try:
            digest = hashlib.sha256(root.joinpath(f"{name}.tiktoken").read_bytes()).hexdigest()
        except OSError as exc:
            bad.append(f"{name}.tiktoken cannot be read ({exc})")
            continue
        if digest != expected:
            bad.append(f"{name}.tiktoken is corrupted (sha256 {digest[:12]}...)")
    if bad:
        return Check(
            "token files",
            "FAIL",
            "; ".join(bad),
            "reinstall hermes (pip install --force-reinstall hermes); until then token "
            "counts are estimates",
        )
    return Check("token files", "ok", f"{', '.join(sorted(EXPECTED_SHA256))} verified (sha256)")


def check_sandbox(cfg: Config, workspace: Path) -> Check:
    """Which OS sandbox commands run in, and what it cannot do (never silent)."""
    from hermes.sandbox.backends import INSTALL_HINT, sandbox_status

    status = sandbox_status(cfg.sandbox, workspace)
    if status.confined:
        fix = "" if status.level == "ok" else INSTALL_HINT
        return Check("sandbox", status.level, status.detail, fix)
    if cfg.sandbox.mode == "off":
        fix = "drop --no-sandbox / sandbox.mode: off to confine commands again"
    else:
        fix = INSTALL_HINT + ", or use a kernel with Landlock (Linux 5.13+)"
    return Check("sandbox", "warn", status.detail, fix)


ROUND_TRIP_WORD = "PELICAN-42"
ROUND_TRIP_PROMPT = (
    "Use the read_file tool to read hello.txt, then tell me the code word it contains."
)
ROUND_TRIP_SYSTEM = (
    "You are hermes doctor, checking that tool calls work. Call the read_file tool when "
    "asked, then answer in one short sentence."
)


def check_profile(cfg: Config, *, always: bool) -> Check | None:
    """What hermes learned about the endpoint (cached); None for the local provider, or
    when nothing was learned yet and not ``always``."""
    from hermes.model.endpoint import EndpointRecord, load_record

    if cfg.model.provider == "local":
        return None
    record = load_record(cfg.model.base_url, cfg.model.name)
    if not always and record == EndpointRecord(record.base_url, record.model):
        return None
    detail = f"{cfg.model.name} at {cfg.model.base_url}: {record.describe()}"
    if record.client.calls_as_text and cfg.model.text_tool_calls is None:
        detail += " (detected; --text-tool-calls or model.text_tool_calls decides)"
    return Check("profile", "ok", detail)


async def _round_trip(cfg: Config, tmp: Path) -> list[object]:
    """One prompt through a real engine with only ``read_file`` offered, in a temporary
    workspace and database; every event until the turn ends."""
    import dataclasses

    from hermes import protocol as p
    from hermes.config import CheckpointsConfig, HooksConfig, McpConfig
    from hermes.engine.engine import Engine
    from hermes.execution.spec import ToolRegistry
    from hermes.store.sessions import Store
    from hermes.tools import builtin_tools

    workspace = tmp / "workspace"
    workspace.mkdir()
    (workspace / "hello.txt").write_text(f"Doctor's notes.\nThe code word is {ROUND_TRIP_WORD}.\n")
    quiet = dataclasses.replace(
        cfg,
        mcp=McpConfig(),
        hooks=HooksConfig(),
        checkpoints=CheckpointsConfig(enabled=False),
        session=dataclasses.replace(cfg.session, max_turns=4),
    )
    store = Store(tmp / "doctor.db")
    events: list[object] = []
    try:
        engine = Engine.create(
            config=quiet,
            store=store,
            workspace=workspace,
            interactive=False,
            registry=ToolRegistry([t for t in builtin_tools() if t.name == "read_file"]),
            system_prompt=ROUND_TRIP_SYSTEM,
        )
        await engine.start()
        await engine.submit(p.UserTurn(ROUND_TRIP_PROMPT))
        async for event in engine.events():
            events.append(event)
            if isinstance(event, p.TurnComplete | p.TurnAborted):
                break
        await engine.submit(p.Shutdown())
    finally:
        store.close()
    return events


def check_round_trip(cfg: Config, timeout: float) -> Check:
    """``--deep``: the model calls ``read_file``, gets the result and answers."""
    import asyncio
    import tempfile

    from hermes import protocol as p

    with tempfile.TemporaryDirectory(prefix="hermes-doctor-") as tmp:
        try:
            events = asyncio.run(asyncio.wait_for(_round_trip(cfg, Path(tmp)), timeout))
        except TimeoutError:
            return Check(
                "tool call",
                "FAIL",
                f"no complete round trip within {timeout:g} s",
                "a slow model: pass --deep-timeout SECONDS; else see the server's log",
            )
    errors = [e.message for e in events if isinstance(e, p.Error)]
    ends = [e for e in events if isinstance(e, p.ToolCallEnd) and e.name == "read_file"]
    done = [e for e in events if isinstance(e, p.TurnComplete)]
    replies = [e.text for e in events if isinstance(e, p.AssistantMessage) and e.text]
    if errors:
        return Check(
            "tool call",
            "FAIL",
            f"the round trip failed: {errors[-1]}",
            "see the error above; 'hermes sessions show ID --calls' of a real session "
            "shows each request",
        )
    if not ends:
        said = " ".join((replies[-1] if replies else "").split())[:120]
        return Check(
            "tool call",
            "FAIL",
            f"the model answered without calling read_file: {said!r}",
            "if that is a tool call written as text, run with --text-tool-calls true (or "
            "HERMES_TEXT_TOOL_CALLS=true); else use a server and model with tool calling "
            "(llama.cpp server: --jinja; vLLM: --enable-auto-tool-choice; Ollama: a model "
            "with the 'tools' capability)",
        )
    if not ends[0].ok:
        return Check(
            "tool call",
            "FAIL",
            f"read_file was called but failed: {' '.join(ends[0].output.split())[:160]}",
            "the model sent arguments hermes could not use; try a larger model",
        )
    if not done:
        return Check(
            "tool call",
            "FAIL",
            "read_file ran, but the model never answered its result",
            "see 'hermes sessions show ID --calls' of a real session",
        )
    named = "names" if ROUND_TRIP_WORD in done[-1].text else "does not name"
    return Check(
        "tool call",
        "ok",
        f"read_file called, run and answered in {done[-1].model_calls} requests (the "
        f"answer {named} the code word)",
    )


_NOTHING = Check("", "ok", "")


def _safely(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; an unexpected error is that check's failure, never a traceback."""
    try:
        return check()
    except Exception as exc:
        return Check(name, "FAIL", f"the check itself failed: {type(exc).__name__}: {exc}", "")


def cmd_doctor(args: argparse.Namespace) -> int:
    """``hermes doctor``."""
    as_json = bool(args.json) or getattr(args, "output_format", "text") != "text"
    checks = [_safely("database", lambda: check_database(paths.database_path()))]
    try:
        config_check, cfg = check_config(args)
    except Exception as exc:
        config_check, cfg = Check("config", "FAIL", f"{type(exc).__name__}: {exc}", ""), None
    checks.append(config_check)
    if cfg is not None:
        checks.append(_safely("endpoint", lambda: check_endpoint_reachable(cfg, args.timeout)))
    else:
        checks.append(Check("endpoint", "warn", "not checked: the config does not load"))
    checks.append(_safely("token files", check_token_files))
    if cfg is not None:
        checks.append(_safely("sandbox", lambda: check_sandbox(cfg, workspace_arg(args))))
    if cfg is not None and cfg.model.provider == "local":  # hermes --local doctor
        from hermes.model.local.doctor import check_local_model

        checks.append(_safely("local model", lambda: check_local_model(cfg)))
    if cfg is not None and cfg.mcp.servers:  # starts each MCP server, lists it, stops it
        from hermes.mcp.status import doctor_checks

        checks.extend(doctor_checks(cfg.mcp, workspace_arg(args), cfg.sandbox))
    deep = bool(getattr(args, "deep", False))
    if cfg is not None and deep:
        reachable = all(c.level != "FAIL" for c in checks if c.name in ("endpoint", "config"))
        if reachable:
            checks.append(_safely("tool call", lambda: check_round_trip(cfg, args.deep_timeout)))
        else:
            checks.append(
                Check("tool call", "FAIL", "not tried: the endpoint check failed", "fix it first")
            )
    if cfg is not None:
        profile = _safely("profile", lambda: check_profile(cfg, always=deep) or _NOTHING)
        if profile is not _NOTHING:
            checks.append(profile)
    for c in checks:
        if as_json:
            line: dict[str, object] = {
                "check": c.name,
                "level": c.level,
                "detail": c.detail,
                "fix": c.fix,
                "is_error": c.level == "FAIL",
            }
            if c.level == "FAIL":
                line["error"] = c.detail
            print(json.dumps(line, ensure_ascii=False))
            continue
        print(f"{c.level:<4}  {c.name:<12} {c.detail}")
        if c.fix:
            print(f"{'':<4}  {'':<12} what to do: {c.fix}")
    failed = [c.name for c in checks if c.level == "FAIL"]
    if not as_json:
        if failed:
            print(f"{len(failed)} check(s) failed")
        elif deep:
            print("all checks passed, a real tool call included")
        else:
            print("the quick checks passed; 'hermes doctor --deep' tries a real tool call")
    sys.stdout.flush()
    return EXIT_FAILED if failed else EXIT_OK
