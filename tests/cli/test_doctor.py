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
from hermes.testing.scripted.types import (
    LLAMA_CPP_PYTHON,
    ScriptedCall,
    ScriptedReply,
)
from tests.support import run_hermes


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
        "sandbox": "ok",
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


# --------------------------------------------------------------------------- issue 20


def checks_of(stdout: str) -> dict[str, dict[str, object]]:
    return {c["check"]: c for c in map(json.loads, stdout.splitlines())}


def test_deep_runs_a_real_tool_round_trip_and_prints_the_profile(
    workspace: Path, hermes_home: Path
) -> None:
    """Finding 8: a server that answers /models but turns every tool call into a 500 is
    not "all checks passed"; a working one passes a real call -> result -> answer."""
    script = [
        ScriptedReply(tool_calls=(ScriptedCall("read_file", '{"path": "hello.txt"}'),)),
        ScriptedReply(text="The code word is PELICAN-42."),
    ]
    with ScriptedServer(script) as server:
        run = run_hermes(
            "--base-url", server.base_url, "doctor", "--deep", cwd=workspace, home=hermes_home
        )
        assert run.returncode == 0, run.stdout + run.stderr
        lines = run.stdout.splitlines()
        assert (
            "ok    tool call    read_file called, run and answered in 2 requests (the answer "
            "names the code word)"
        ) in lines
        assert (
            f"ok    profile      gpt-4o-mini at {server.base_url}: context window 128,000 "
            "(from /models) · native tool calls · usage reported"
        ) in lines
        assert lines[-1] == "all checks passed, a real tool call included"
        result = server.requests[1].messages[-1]
        assert result["role"] == "tool" and "PELICAN-42" in result["content"]
        assert not (hermes_home / "hermes.db").exists()  # the user's database is untouched
    # a server that answers /models but refuses every request carrying a call
    refusal = "1 validation error: body.messages.2.content: Input should be a valid string"
    call = ScriptedReply(tool_calls=(ScriptedCall("read_file", '{"path": "hello.txt"}'),))
    with ScriptedServer([call, ScriptedReply(status=500, text=refusal)]) as server:
        quick = run_hermes("--base-url", server.base_url, "doctor", cwd=workspace, home=hermes_home)
        assert quick.returncode == 0
        assert quick.stdout.splitlines()[-1] == (
            "the quick checks passed; 'hermes doctor --deep' tries a real tool call"
        )
        deep = run_hermes(
            "--base-url", server.base_url, "doctor", "--deep", cwd=workspace, home=hermes_home
        )
        assert deep.returncode == 1
        assert (
            "FAIL  tool call    the round trip failed: the endpoint rejected the request (500): "
            + refusal
        ) in deep.stdout.splitlines()
        assert deep.stdout.splitlines()[-1] == "1 check(s) failed"
        assert len(server.requests) == 2  # a validation error is not retried


def test_deep_fails_when_the_model_never_calls_a_tool(workspace: Path, hermes_home: Path) -> None:
    with ScriptedServer([ScriptedReply(text="I would read the file, but I cannot.")]) as server:
        run = run_hermes(
            "--base-url",
            server.base_url,
            "--text-tool-calls",
            "false",
            "doctor",
            "--deep",
            "--output-format",
            "json",
            cwd=workspace,
            home=hermes_home,
        )
    assert run.returncode == 1
    checks = checks_of(run.stdout)
    call = checks["tool call"]
    assert call["level"] == "FAIL" and call["is_error"] is True
    assert (
        call["error"]
        == call["detail"]
        == ("the model answered without calling read_file: 'I would read the file, but I cannot.'")
    )
    assert "--text-tool-calls true" in str(call["fix"]) and "HERMES_TEXT_TOOL_CALLS" in str(
        call["fix"]
    )
    assert checks["endpoint"]["is_error"] is False


def test_deep_detects_calls_written_as_text(workspace: Path, hermes_home: Path) -> None:
    script = [
        ScriptedReply(tool_calls=(ScriptedCall("read_file", '{"path": "hello.txt"}'),), usage=None),
        ScriptedReply(text="PELICAN-42", usage=None),
    ]
    with ScriptedServer(script, quirks=LLAMA_CPP_PYTHON, context_window=None) as server:
        run = run_hermes(
            "--base-url",
            server.base_url,
            "doctor",
            "--deep",
            "--json",
            cwd=workspace,
            home=hermes_home,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        profile = checks_of(run.stdout)["profile"]["detail"]
        assert profile == (
            f"gpt-4o-mini at {server.base_url}: context window unknown (the endpoint does not "
            "say) · tool calls written as text · usage estimated (not reported) (detected; "
            "--text-tool-calls or model.text_tool_calls decides)"
        )


def test_no_key_says_exactly_what_to_set(workspace: Path, hermes_home: Path) -> None:
    run = run_hermes(
        "--base-url", "https://api.example.invalid/v1", "doctor", cwd=workspace, home=hermes_home
    )
    assert run.returncode == 1
    assert "FAIL  endpoint     no API key for https://api.example.invalid/v1" in run.stdout
    advice = run.stdout.split("what to do: ", 1)[1]
    assert advice.startswith(
        "export HERMES_API_KEY or OPENAI_API_KEY=<your key for https://api.example.invalid/v1>,"
        " or pass --api-key KEY"
    )


@pytest.mark.parametrize(
    "where", [("doctor", "--output-format", "json"), ("--output-format", "json", "doctor")]
)
def test_json_output_reports_a_config_error_as_json(
    workspace: Path, hermes_home: Path, where: tuple[str, ...]
) -> None:
    (hermes_home / "config.yaml").write_text("model:\n  nmae: x\n")
    run = run_hermes(*where, cwd=workspace, home=hermes_home)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    config = checks_of(run.stdout)["config"]
    assert config["is_error"] is True and "model.nmae" in str(config["error"])


def test_the_sandbox_is_never_silent(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    code, checks, _ = doctor(
        "--base-url", server.base_url, "--no-sandbox", cwd=workspace, home=hermes_home
    )
    assert code == 0
    assert checks["sandbox"] == {
        "check": "sandbox",
        "level": "warn",
        "detail": "sandbox off (--no-sandbox or sandbox.mode: off): commands and MCP servers "
        "run with your full permissions",
        "fix": "drop --no-sandbox / sandbox.mode: off to confine commands again",
        "is_error": False,
    }
    (hermes_home / "config.yaml").write_text("sandbox: {backend: landlock}\n")
    code, checks, _ = doctor("--base-url", server.base_url, cwd=workspace, home=hermes_home)
    assert checks["sandbox"]["level"] == "warn"
    assert checks["sandbox"]["detail"].startswith("landlock sandbox, workspace-write")
