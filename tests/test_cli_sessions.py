"""``hermes sessions list|show|search|export|delete|title``, run as real processes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.messages import Message, ToolCall
from hermes.store import Store
from hermes.store_schema import SCHEMA_VERSION
from hermes.testing.scripted_server import ScriptedServer
from hermes.testing.scripted_types import ScriptedCall, ScriptedReply
from tests.support import run_hermes as hermes


@pytest.fixture
def filled(hermes_home: Path, workspace: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Two sessions here, one in another workspace."""
    other = tmp_path / "other"
    other.mkdir()
    store = Store(hermes_home / "hermes.db")
    a = store.create_session(str(workspace), "m1", "ask", title="fix the flaky test")
    store.append_message(a.id, Message("user", "the parser test is flaky"))
    call = ToolCall("c1", "terminal", '{"command": "pytest -x tests/test_parser.py"}')
    store.append_message(a.id, Message("assistant", None, (call,)))
    store.append_message(
        a.id, Message("tool", "E   AssertionError: quokka mismatch", tool_call_id="c1")
    )
    store.append_message(a.id, Message("assistant", "Fixed the ```quokka``` check."))
    b = store.create_session(str(workspace), "m1", "yolo", title="second")
    store.append_message(b.id, Message("user", "hello"))
    store.append_message(b.id, Message("assistant", "partial rep"), interrupted=True)
    c = store.create_session(str(other), "m2", "ask", title="elsewhere")
    store.append_message(c.id, Message("user", "a quokka elsewhere"))
    store.close()
    yield {"a": a.id, "b": b.id, "c": c.id}


def test_list_is_this_workspace_unless_all(
    filled: dict[str, str], workspace: Path, hermes_home: Path
) -> None:
    run = hermes("sessions", "list", "--json", cwd=workspace, home=hermes_home)
    assert run.returncode == 0, run.stderr
    assert [s["id"] for s in json.loads(run.stdout)] == [filled["b"], filled["a"]]
    run = hermes("sessions", "list", "--json", "--all-workspaces", cwd=workspace, home=hermes_home)
    assert {s["id"] for s in json.loads(run.stdout)} == set(filled.values())
    text = hermes("sessions", "list", cwd=workspace, home=hermes_home).stdout
    assert "fix the flaky test" in text and "elsewhere" not in text


def test_show_text_and_json(filled: dict[str, str], workspace: Path, hermes_home: Path) -> None:
    run = hermes("sessions", "show", filled["b"][:9], cwd=workspace, home=hermes_home)
    assert run.returncode == 0, run.stderr
    assert "assistant (interrupted): partial rep" in run.stdout
    data = json.loads(
        hermes("sessions", "show", filled["a"], "--json", cwd=workspace, home=hermes_home).stdout
    )
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert data["title"] == "fix the flaky test" and data["approval_mode"] == "ask"


def test_search_ranks_and_snippets(
    filled: dict[str, str], workspace: Path, hermes_home: Path
) -> None:
    run = hermes("sessions", "search", "quokka", "--json", cwd=workspace, home=hermes_home)
    assert run.returncode == 0, run.stderr
    hits = json.loads(run.stdout)
    assert {(h["session_id"], h["seq"]) for h in hits} == {
        (filled["a"], 2),
        (filled["a"], 3),
        (filled["c"], 0),
    }
    assert all("«quokka»" in h["snippet"] for h in hits)
    assert [h["rank"] for h in hits] == sorted(h["rank"] for h in hits)
    text = hermes("sessions", "search", 'quokka "mismatch', cwd=workspace, home=hermes_home)
    assert text.returncode == 0 and "AssertionError" in text.stdout
    none = hermes("sessions", "search", "zzzunfindable", cwd=workspace, home=hermes_home)
    assert none.returncode == 0 and "no messages match" in none.stdout


def test_export_markdown_and_jsonl(
    filled: dict[str, str], workspace: Path, hermes_home: Path, tmp_path: Path
) -> None:
    md = hermes(
        "sessions", "export", filled["a"], "--format", "md", cwd=workspace, home=hermes_home
    )
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# fix the flaky test\n")
    assert "## User" in md.stdout and "**Call `terminal`**" in md.stdout
    assert "quokka mismatch" in md.stdout and "````" not in md.stdout.split("## Assistant")[0]
    out = tmp_path / "s.jsonl"
    run = hermes(
        "sessions",
        "export",
        filled["a"],
        "--format",
        "jsonl",
        "-o",
        str(out),
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["type"] == "session" and rows[0]["id"] == filled["a"]
    assert [r["role"] for r in rows[1:]] == ["user", "assistant", "tool", "assistant"]
    assert rows[2]["tool_calls"][0]["status"] == "done"
    assert [r["seq"] for r in rows[1:]] == [0, 1, 2, 3]


def test_delete_asks_unless_yes(filled: dict[str, str], workspace: Path, hermes_home: Path) -> None:
    no = hermes("sessions", "delete", filled["b"], cwd=workspace, home=hermes_home, stdin="n\n")
    assert no.returncode == 2 and "not deleted" in no.stderr and "[y/N]" in no.stderr
    nothing = hermes("sessions", "delete", filled["b"], cwd=workspace, home=hermes_home)
    assert nothing.returncode == 2  # no answer on stdin is a no
    yes = hermes("sessions", "delete", filled["b"], cwd=workspace, home=hermes_home, stdin="y\n")
    assert yes.returncode == 0 and f"deleted session {filled['b']}" in yes.stdout
    forced = hermes("sessions", "delete", filled["c"], "--yes", cwd=workspace, home=hermes_home)
    assert forced.returncode == 0
    left = hermes("sessions", "list", "--json", "--all-workspaces", cwd=workspace, home=hermes_home)
    assert [s["id"] for s in json.loads(left.stdout)] == [filled["a"]]
    gone = hermes("sessions", "search", "elsewhere", "--json", cwd=workspace, home=hermes_home)
    assert json.loads(gone.stdout) == []


def test_title(filled: dict[str, str], workspace: Path, hermes_home: Path) -> None:
    run = hermes(
        "sessions",
        "title",
        filled["a"][:10],
        "Parser",
        "flake",
        "fixed",
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    shown = json.loads(
        hermes("sessions", "show", filled["a"], "--json", cwd=workspace, home=hermes_home).stdout
    )
    assert shown["title"] == "Parser flake fixed"


@pytest.mark.parametrize("action", [["show"], ["export"], ["delete", "--yes"], ["title", "-", "x"]])
def test_unknown_and_ambiguous_ids_exit_2(
    action: list[str], workspace: Path, hermes_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter(["feed01", "feed02"])
    monkeypatch.setattr("hermes.store.new_session_id", lambda: next(ids))
    store = Store(hermes_home / "hermes.db")
    store.create_session(str(workspace), "m", "ask")
    store.create_session(str(workspace), "m", "ask")
    store.close()
    verb, *rest = action
    args = (
        ["sessions", verb, "nosuch", *rest[1:]]
        if verb == "title"
        else ["sessions", verb, "nosuch", *rest]
    )
    run = hermes(*args, cwd=workspace, home=hermes_home)
    assert run.returncode == 2 and "no session with id 'nosuch'" in run.stderr
    args[2] = "feed"
    run = hermes(*args, cwd=workspace, home=hermes_home)
    assert run.returncode == 2 and "ambiguous" in run.stderr and "feed01, feed02" in run.stderr
    assert "Traceback" not in run.stderr


def test_show_calls_lists_the_recorded_model_requests(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    (workspace / "n.txt").write_text("note\n")
    server.add(
        ScriptedReply(status=500),
        ScriptedReply(
            tool_calls=(ScriptedCall("read_file", '{"path": "n.txt"}', "c1"),), usage=(120, 30)
        ),
        ScriptedReply(text="done", usage=(200, 5)),
    )
    (hermes_home / "config.yaml").write_text(
        "model:\n  retry_base_delay: 0.01\n  retry_max_delay: 0.02\n"
    )
    run = hermes(
        "-p",
        "read it",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=workspace,
        home=hermes_home,
    )
    assert run.returncode == 0, run.stderr
    sid = json.loads(run.stdout)["session_id"]
    data = json.loads(
        hermes("sessions", "show", sid, "--calls", "--json", cwd=workspace, home=hermes_home).stdout
    )
    calls = data["model_calls"]
    assert [
        (c["retries"], c["prompt_tokens"], c["completion_tokens"], c["finish_reason"])
        for c in calls
    ] == [
        (1, 120, 30, "tool_calls"),
        (0, 200, 5, "stop"),
    ]
    assert (
        calls[1]["request_bytes"] > calls[0]["request_bytes"] > 0 and calls[1]["message_count"] == 4
    )
    text = hermes("sessions", "show", sid[:8], "--calls", cwd=workspace, home=hermes_home).stdout
    assert "2 requests" in text and "tool_calls" in text and "120/30" in text


def test_newer_schema_is_refused_and_untouched(workspace: Path, hermes_home: Path) -> None:
    path = hermes_home / "hermes.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    before = path.read_bytes()
    for args in (["sessions", "list"], ["-p", "hi", "--base-url", "http://127.0.0.1:9/v1"]):
        run = hermes(*args, cwd=workspace, home=hermes_home)
        assert run.returncode == 1, run.stderr
        assert (
            "newer hermes" in run.stderr
            and str(path) in run.stderr
            and "Traceback" not in run.stderr
        )
    assert path.read_bytes() == before


def test_corrupt_database_is_named_and_kept(workspace: Path, hermes_home: Path) -> None:
    path = hermes_home / "hermes.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad\xbe\xef" * 2000)
    before = path.read_bytes()
    for args in (["sessions", "list"], ["-p", "hi", "--base-url", "http://127.0.0.1:9/v1"]):
        run = hermes(*args, cwd=workspace, home=hermes_home)
        assert run.returncode == 1, run.stderr
        assert (
            str(path) in run.stderr
            and "hermes doctor" in run.stderr
            and "Traceback" not in run.stderr
        )
    assert path.read_bytes() == before
    assert sorted(p.name for p in hermes_home.iterdir()) == ["hermes.db"]
