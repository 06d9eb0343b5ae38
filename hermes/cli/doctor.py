"""``hermes doctor``: check the session database, config, endpoint and token files.

Every check prints one line (``ok``, ``warn`` or ``FAIL``) and, when something is wrong,
what to do about it. Nothing is modified: the database is opened read-only. Exit code 1
when any check failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
from pathlib import Path

from hermes import paths
from hermes.checks import Check
from hermes.cli.common import EXIT_FAILED, EXIT_OK, workspace_arg
from hermes.config import Config, ConfigError, load_config
from hermes.model.endpoint import check_endpoint
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
    p.add_argument("--timeout", type=float, default=5.0, help="endpoint timeout in seconds")
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
    from hermes.engine.startup import overrides_from

    workspace = workspace_arg(args)
    try:
        cfg = load_config(workspace, overrides_from(args))
    except ConfigError as exc:
        return Check("config", "FAIL", str(exc), "fix the file and key named above"), None
    where = [str(p) for p in (paths.config_path(), workspace / ".hermes" / "config.yaml")]
    found = [w for w in where if Path(w).is_file()]
    detail = f"{', '.join(found)} parsed" if found else "no config files; defaults in use"
    model = f"model {cfg.model.name} at {cfg.model.base_url}"
    if cfg.model.provider == "local":
        model = "a local model in process (model.provider local)"
    return Check("config", "ok", f"{detail}; {model}"), cfg


def check_endpoint_reachable(cfg: Config, timeout: float) -> Check:
    """``GET {base_url}/models`` answers, and accepts the key."""
    import urllib.error  # here, not at import: every hermes start registers this command
    import urllib.request

    if cfg.model.provider == "local":
        return Check("endpoint", "ok", "not used: model.provider is local (in process)")
    try:
        check_endpoint(cfg)
    except ConfigError as exc:
        return Check("endpoint", "FAIL", str(exc), "set the endpoint or key as described")
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


def cmd_doctor(args: argparse.Namespace) -> int:
    """``hermes doctor``."""
    checks = [check_database(paths.database_path())]
    config_check, cfg = check_config(args)
    checks.append(config_check)
    if cfg is not None:
        checks.append(check_endpoint_reachable(cfg, args.timeout))
    else:
        checks.append(Check("endpoint", "warn", "not checked: the config does not load"))
    checks.append(check_token_files())
    if cfg is not None and cfg.model.provider == "local":  # hermes --local doctor
        from hermes.model.local.doctor import check_local_model

        checks.append(check_local_model(cfg))
    if cfg is not None and cfg.mcp.servers:  # starts each MCP server, lists it, stops it
        from hermes.mcp.status import doctor_checks

        checks.extend(doctor_checks(cfg.mcp, workspace_arg(args)))
    for c in checks:
        if args.json:
            print(json.dumps({"check": c.name, "level": c.level, "detail": c.detail, "fix": c.fix}))
            continue
        print(f"{c.level:<4}  {c.name:<12} {c.detail}")
        if c.fix:
            print(f"{'':<4}  {'':<12} what to do: {c.fix}")
    failed = [c.name for c in checks if c.level == "FAIL"]
    if not args.json:
        print("all checks passed" if not failed else f"{len(failed)} check(s) failed")
    sys.stdout.flush()
    return EXIT_FAILED if failed else EXIT_OK
