"""``hermes doctor``: each check, healthy and broken, and that it changes nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hermes.cli.doctor import check_token_files
from hermes.messages import Message
from hermes.store.migrations import SCHEMA_VERSION
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer


def doctor(*args: str, cwd: Path, home: Path) -> tuple[int, dict[str, dict[str, str]], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    env["HERMES_HOME"] = str(home)
    run = subprocess.run(
        [sys.executable, "-m", "hermes", *args, "doctor", "--json", "--timeout", "3"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in run.stderr, run.stderr
    checks = {c["check"]: c for c in map(json.loads, run.stdout.splitlines())}
    return run.returncode, checks, run.stdout


def test_healthy_setup_passes(server: ScriptedServer, workspace: Path, hermes_home: Path) -> None:
    store = Store(hermes_home / "hermes.db")
    s = store.create_session(str(workspace), "m", "ask")
    store.append_message(s.id, Message("user", "hi"))
    store.close()
    code, checks, _ = doctor("--base-url", server.base_url, cwd=workspace, home=hermes_home)
    assert code == 0
    assert {name: c["level"] for name, c in checks.items()} == {
        "database": "ok",
        "config": "ok",
        "endpoint": "ok",
        "token files": "ok",
    }
    assert f"schema {SCHEMA_VERSION}" in checks["database"]["detail"]
    assert "1 sessions" in checks["database"]["detail"]
    assert ("GET", "/v1/models", 200) in server.http_log


def test_text_output_says_what_to_do(workspace: Path, hermes_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    env["HERMES_HOME"] = str(hermes_home)
    run = subprocess.run(
        [sys.executable, "-m", "hermes", "--base-url", "http://127.0.0.1:9/v1", "doctor"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "FAIL  endpoint" in run.stdout and "what to do: start the server" in run.stdout
    assert "1 check(s) failed" in run.stdout


def test_corrupt_database_fails_with_advice_and_is_untouched(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    path = hermes_home / "hermes.db"
    path.write_bytes(b"garbage, not sqlite " * 500)
    before = path.read_bytes()
    code, checks, _ = doctor("--base-url", server.base_url, cwd=workspace, home=hermes_home)
    assert code == 1
    db = checks["database"]
    assert db["level"] == "FAIL" and str(path) in db["detail"]
    assert ".recover" in db["fix"] and "never overwrites" in db["fix"]
    assert path.read_bytes() == before
    assert sorted(p.name for p in hermes_home.iterdir()) == ["hermes.db"]


def test_damaged_pages_are_found_by_integrity_check(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    path = hermes_home / "hermes.db"
    store = Store(path)
    s = store.create_session(str(workspace), "m", "ask")
    for i in range(300):
        store.append_message(s.id, Message("user", f"message {i} " + "x" * 200))
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with path.open("r+b") as f:  # scribble over the header of the messages b-tree root
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 12)
    code, checks, _ = doctor("--base-url", server.base_url, cwd=workspace, home=hermes_home)
    assert code == 1
    assert checks["database"]["level"] == "FAIL"
    assert (
        "damaged" in checks["database"]["detail"] or "not a usable" in checks["database"]["detail"]
    )


def test_newer_schema_fails(server: ScriptedServer, workspace: Path, hermes_home: Path) -> None:
    path = hermes_home / "hermes.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 3,))
    db.commit()
    db.close()
    code, checks, _ = doctor("--base-url", server.base_url, cwd=workspace, home=hermes_home)
    assert code == 1
    assert checks["database"]["level"] == "FAIL" and "upgrade hermes" in checks["database"]["fix"]


def test_bad_config_fails_naming_the_key(workspace: Path, hermes_home: Path) -> None:
    (hermes_home / "config.yaml").write_text("model:\n  nmae: x\n")
    code, checks, _ = doctor(cwd=workspace, home=hermes_home)
    assert code == 1
    assert checks["config"]["level"] == "FAIL" and "model.nmae" in checks["config"]["detail"]
    assert checks["endpoint"]["level"] == "warn"


def test_missing_key_and_unreachable_endpoint_fail(workspace: Path, hermes_home: Path) -> None:
    code, checks, _ = doctor(
        "--base-url", "https://api.example.invalid/v1", cwd=workspace, home=hermes_home
    )
    assert code == 1 and "no API key" in checks["endpoint"]["detail"]
    code, checks, _ = doctor("--base-url", "http://127.0.0.1:9/v1", cwd=workspace, home=hermes_home)
    assert code == 1 and "cannot reach" in checks["endpoint"]["detail"]


def test_token_file_hash_mismatch_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_token_files().level == "ok"
    monkeypatch.setitem(__import__("hermes.tokens").tokens.EXPECTED_SHA256, "o200k_base", "0" * 64)
    check = check_token_files()
    assert check.level == "FAIL" and "o200k_base.tiktoken is corrupted" in check.detail
    assert "reinstall" in check.fix
