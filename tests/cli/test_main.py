"""The CLI contract, run as real `hermes` processes against the scripted server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import LLAMA_CPP_PYTHON, ScriptedCall, ScriptedReply
from tests.support import run_hermes as hermes


def test_json_output_and_sessions_commands(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    (workspace / "notes.txt").write_text("remember the milk\n")
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("read_file", '{"path": "notes.txt"}', "c1"),)),
        ScriptedReply(text="It says: remember the milk."),
    )
    run = hermes(
        "-p",
        "what do my notes say?",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["result"] == "It says: remember the milk."
    assert out["is_error"] is False
    assert out["num_turns"] == 2
    assert out["tool_calls"] == [{"name": "read_file", "ok": True}]
    assert set(out["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert out["executor"]["requests"] == 1
    sid = out["session_id"]

    listed = hermes("sessions", "list", "--json", cwd=workspace, home=hermes_home)
    assert listed.returncode == 0
    assert [s["id"] for s in json.loads(listed.stdout)] == [sid]
    assert json.loads(listed.stdout)[0]["title"] == "what do my notes say?"

    shown = hermes("sessions", "show", sid[:7], "--json", cwd=workspace, home=hermes_home)
    messages = json.loads(shown.stdout)["messages"]
    assert messages == [
        {"role": "user", "content": "what do my notes say?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "notes.txt"}'},
                }
            ],
        },
        {"role": "tool", "content": messages[2]["content"], "tool_call_id": "c1"},
        {"role": "assistant", "content": "It says: remember the milk."},
    ]
    assert "remember the milk" in messages[2]["content"]


def test_text_output_and_stream_json(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    server.add(ScriptedReply(text="Hello there."), ScriptedReply(text="Again."))
    run = hermes("-p", "hi", "--base-url", server.base_url, cwd=workspace, home=hermes_home)
    assert (run.returncode, run.stdout) == (0, "Hello there.\n")
    run = hermes(
        "-p",
        "hi",
        "--base-url",
        server.base_url,
        "--output-format",
        "stream-json",
        cwd=workspace,
        home=hermes_home,
    )
    types = [json.loads(line)["type"] for line in run.stdout.splitlines()]
    assert types[0] == "SessionStarted" and types[-1] == "TurnComplete"
    assert "AssistantDelta" in types and "AssistantMessage" in types


def test_denied_write_is_on_stderr(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("terminal", '{"command": "touch made"}', "c1"),)),
        ScriptedReply(text="I could not run it."),
    )
    run = hermes(
        "-p", "make a file", "--base-url", server.base_url, cwd=workspace, home=hermes_home
    )
    assert run.returncode == 0
    assert not (workspace / "made").exists()
    assert "needs approval" in run.stderr and "--approval-mode" in run.stderr


def test_resume_and_continue(server: ScriptedServer, workspace: Path, hermes_home: Path) -> None:
    server.add(ScriptedReply(text="one"), ScriptedReply(text="two"), ScriptedReply(text="three"))
    first = hermes(
        "-p",
        "first",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    sid = json.loads(first.stdout)["session_id"]
    second = hermes(
        "-p",
        "second",
        "--base-url",
        server.base_url,
        "--resume",
        sid[:8],
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    assert json.loads(second.stdout)["session_id"] == sid
    third = hermes(
        "-p",
        "third",
        "--base-url",
        server.base_url,
        "--continue",
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    assert json.loads(third.stdout)["session_id"] == sid
    sent = [m["content"] for m in server.requests[2].messages if m["role"] != "system"]
    assert sent == ["first", "one", "second", "two", "third"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["-p", "x", "--approval-mode", "sometimes"], "invalid choice: 'sometimes'"),
        (
            ["-p", "x", "--resume", "nosuchid", "--base-url", "http://127.0.0.1:9/v1"],
            "no session with id 'nosuchid'",
        ),
        (["-p", "x", "--continue", "--base-url", "http://127.0.0.1:9/v1"], "no earlier session"),
        (["-p", "x", "-C", "/does/not/exist"], "is not a directory"),
        (["-p", "   ", "--base-url", "http://127.0.0.1:9/v1"], "prompt given with -p is empty"),
        (["sessions", "show", "nosuchid"], "no session with id"),
    ],
)
def test_bad_usage_exits_2(
    args: list[str], message: str, workspace: Path, hermes_home: Path
) -> None:
    run = hermes(*args, cwd=workspace, home=hermes_home)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr


def test_config_error_exits_2_naming_key_and_file(workspace: Path, hermes_home: Path) -> None:
    (hermes_home / "config.yaml").write_text("model:\n  contxt_window: 5\n")
    run = hermes("-p", "x", cwd=workspace, home=hermes_home)
    assert run.returncode == 2
    assert "unknown key 'model.contxt_window'" in run.stderr
    assert str(hermes_home / "config.yaml") in run.stderr


def test_missing_api_key_says_how_to_set_it(workspace: Path, hermes_home: Path) -> None:
    run = hermes("-p", "x", cwd=workspace, home=hermes_home)
    assert run.returncode == 2
    assert (
        "no API key" in run.stderr and "--api-key" in run.stderr and "OPENAI_API_KEY" in run.stderr
    )


def test_unreachable_endpoint_fails_clearly(workspace: Path, hermes_home: Path) -> None:
    (hermes_home / "config.yaml").write_text(
        "model:\n  max_retries: 1\n  retry_base_delay: 0.01\n  retry_max_delay: 0.01\n"
    )
    run = hermes("-p", "x", "--base-url", "http://127.0.0.1:9/v1", cwd=workspace, home=hermes_home)
    assert run.returncode == 1
    assert "cannot reach http://127.0.0.1:9/v1" in run.stderr
    assert "Traceback" not in run.stderr


def test_no_prompt_without_terminal_says_what_to_do(workspace: Path, hermes_home: Path) -> None:
    run = hermes(cwd=workspace, home=hermes_home)
    assert run.returncode == 2
    assert "-p" in run.stderr and "--plain" in run.stderr


def test_version(workspace: Path, hermes_home: Path) -> None:
    run = hermes("--version", cwd=workspace, home=hermes_home)
    assert run.returncode == 0 and run.stdout.startswith("hermes ")


@pytest.mark.parametrize("mode", ["ask", "yolo"])
def test_printenv_never_shows_the_key_and_the_database_never_holds_it(
    mode: str, server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    """Issue 15, finding 5: hermes' key in a shape no pattern knows (``gsk_``)."""
    key = "gsk_" + "9c" * 24
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("terminal", '{"command": "printenv"}', "c1"),)),
        ScriptedReply(text=f"Done; the key you gave was {key}."),
    )
    run = hermes(
        "-p",
        f"list the environment; my key is {key}",
        "--base-url",
        server.base_url,
        "--approval-mode",
        mode,
        cwd=workspace,
        home=hermes_home,
        env={"HERMES_API_KEY": key, "OPENAI_API_KEY": key, "SOME_COPY": key},
    )
    assert run.returncode == 0, run.stderr
    tool_results = [m for m in server.requests[-1].messages if m["role"] == "tool"]
    assert len(tool_results) == 1
    output = tool_results[0]["content"]
    assert key not in output
    for name in ("HERMES_API_KEY=", "OPENAI_API_KEY=", "SOME_COPY="):
        assert name not in output
    if mode == "yolo":
        assert "PATH=" in output  # it ran, without the credentials
    stored = b"".join(p.read_bytes() for p in hermes_home.glob("hermes.db*"))
    assert key.encode() not in stored
    assert b"[REDACTED:credential]" in stored


# --------------------------------------------------------------------------- issue 20


@pytest.mark.parametrize(
    ("args", "setup", "code", "error"),
    [
        (["-p", "x"], "bad-config", 2, "unknown key 'model.contxt_window'"),
        (["-p", "x", "--base-url", "https://api.example.invalid/v1"], "", 2, "no API key"),
        (["-p", "x", "--base-url", "http://127.0.0.1:9/v1"], "bad-db", 1, "hermes.db"),
        (["-p", "x", "--base-url", "http://127.0.0.1:9/v1"], "", 1, "cannot reach"),
        (["-p", "x", "--max-turns", "many"], "", 2, "argument --max-turns: invalid int"),
        (["-p", "  "], "", 2, "the prompt given with -p is empty"),
    ],
    ids=["config", "no-key", "database", "model", "usage", "empty-prompt"],
)
def test_every_json_failure_prints_one_json_object(
    args: list[str], setup: str, code: int, error: str, workspace: Path, hermes_home: Path
) -> None:
    """Finding 8 (and 16): whatever fails, --output-format json prints one JSON object."""
    config = "model:\n  max_retries: 0\n"
    if setup == "bad-config":
        config += "  contxt_window: 5\n"
    (hermes_home / "config.yaml").write_text(config)
    if setup == "bad-db":
        (hermes_home / "hermes.db").write_bytes(b"garbage, not sqlite " * 500)
    run = hermes(*args, "--output-format", "json", cwd=workspace, home=hermes_home)
    assert run.returncode == code, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1, run.stdout
    out = json.loads(lines[0])
    assert out["is_error"] is True and error in out["error"], out
    assert out["error"] in run.stderr  # and said on stderr as ever


def test_stream_json_failure_ends_with_a_fatal_error_event(
    workspace: Path, hermes_home: Path
) -> None:
    (hermes_home / "config.yaml").write_text("model:\n  contxt_window: 5\n")
    run = hermes("-p", "x", "--output-format", "stream-json", cwd=workspace, home=hermes_home)
    assert run.returncode == 2
    event = json.loads(run.stdout.splitlines()[-1])
    assert event["type"] == "Error" and event["fatal"] is True
    assert "model.contxt_window" in event["message"]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_text_tool_calls_can_be_decided_by_flag_or_environment(
    how: str, workspace: Path, hermes_home: Path
) -> None:
    """Finding 7: a server that writes calls as text (fenced JSON, as Qwen does)."""
    (workspace / "notes.txt").write_text("The code word is PELICAN-42.\n")
    read = ScriptedReply(
        tool_calls=(ScriptedCall("read_file", '{"path": "notes.txt"}'),), usage=None
    )
    quirks = LLAMA_CPP_PYTHON
    for decided, expect_call in (("true", True), ("false", False)):
        with ScriptedServer(
            [read, ScriptedReply(text="PELICAN-42", usage=None)], quirks=quirks
        ) as s:
            extra = ["--text-tool-calls", decided] if how == "flag" else []
            env = {"HERMES_TEXT_TOOL_CALLS": decided} if how == "env" else {}
            run = hermes(
                "-p",
                "code word?",
                "--base-url",
                s.base_url,
                "--output-format",
                "json",
                *extra,
                cwd=workspace,
                home=hermes_home,
                env=env,
            )
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        assert out["usage_estimated"] is True and out["usage"]["prompt_tokens"] > 0  # finding 5
        if expect_call:
            assert out["tool_calls"] == [{"name": "read_file", "ok": True}]
            assert out["result"] == "PELICAN-42"
        else:  # decided off: the model's text is the answer, as written
            assert out["tool_calls"] == []
            assert out["result"].startswith("```json")
        assert "writes tool calls as text" not in run.stderr  # decided, not detected


def test_reported_usage_is_not_marked_estimated(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    server.add(ScriptedReply(text="hi", usage=(12, 3)))
    run = hermes(
        "-p",
        "hi",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    out = json.loads(run.stdout)
    assert (out["usage"]["prompt_tokens"], out["usage_estimated"]) == (12, False)
