"""``hermes facts list|add|forget`` and ``hermes sessions compact``, run as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from hermes.context import SUMMARY_SYSTEM
from hermes.facts import FactStore
from hermes.messages import Message, ToolCall
from hermes.store import Store
from hermes.testing.scripted_server import ChatRequest, ScriptedServer
from hermes.testing.scripted_types import ScriptedReply
from tests.support import run_hermes as hermes


def test_facts_add_list_and_forget(hermes_home: Path, workspace: Path) -> None:
    added = hermes("facts", "add", "We run tests with make test.", cwd=workspace, home=hermes_home)
    assert added.returncode == 0, added.stderr
    assert added.stdout == (
        f"remembered #1 [project, workspace {workspace}]: The project runs tests with make test\n"
    )
    hermes("facts", "add", "answer in French", cwd=workspace, home=hermes_home)
    listed = hermes("facts", "list", "--json", cwd=workspace, home=hermes_home)
    data = json.loads(listed.stdout)
    assert [(f["id"], f["category"], f["scope"], f["content"]) for f in data] == [
        (2, "preference", "global", "answer in French"),
        (1, "project", "workspace", "The project runs tests with make test"),
    ]
    assert data[1]["source"] == {
        "session": None,
        "message": None,
        "text": "We run tests with make test.",
    }
    here = hermes("facts", "list", "--workspace", cwd=hermes_home, home=hermes_home)
    assert [line for line in here.stdout.splitlines() if line.startswith("#")] == [
        "#2  [preference] answer in French"
    ]
    forgot = hermes("facts", "forget", "1", cwd=workspace, home=hermes_home)
    assert forgot.stdout == "forgot #1: The project runs tests with make test\n"
    missing = hermes("facts", "forget", "1", cwd=workspace, home=hermes_home)
    assert missing.returncode == 2
    assert "no fact with id 1" in missing.stderr


def test_facts_list_shows_the_source_line(hermes_home: Path, workspace: Path) -> None:
    store = Store(hermes_home / "hermes.db")
    rec = store.create_session(str(workspace), "m", "ask")
    store.append_message(rec.id, Message("user", "Hello. I prefer pytest over unittest."))
    FactStore(store).scan_session(rec.id, str(workspace))
    store.close()
    out = hermes("facts", "list", cwd=workspace, home=hermes_home).stdout.splitlines()
    assert out[0] == "#1  [preference] The user prefers pytest over unittest"
    assert out[1].startswith("    global · confidence 0.90 · seen 1x · last ")
    assert out[2] == (
        f"    from: said, session {rec.id} message #0: 'I prefer pytest over unittest.'"
    )


def prose(n: int) -> str:
    return f"Part {n}: " + " ".join(f"item{n}x{i} looks fine" for i in range(40))


def test_sessions_compact_folds_a_stored_session(hermes_home: Path, workspace: Path) -> None:
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text("compaction:\n  keep_recent_tokens: 200\n")
    store = Store(hermes_home / "hermes.db")
    rec = store.create_session(str(workspace), "scripted-model", "ask")
    call = ToolCall("c1", "read_file", '{"path": "a.py"}')
    for message in (
        Message("user", prose(0)),
        Message("assistant", None, (call,)),
        Message("tool", prose(1), (), "c1"),
        Message("assistant", prose(2)),
        Message("user", "Tests run with make test. " + prose(3)),
        Message("assistant", prose(4)),
    ):
        store.append_message(rec.id, message)
    store.close()
    summaries: list[ChatRequest] = []

    def model(request: ChatRequest) -> ScriptedReply:
        assert request.messages[0]["content"] == SUMMARY_SYSTEM
        summaries.append(request)
        if len(summaries) == 1:
            return ScriptedReply(status=400, text="no summaries today")
        return ScriptedReply(text="GOAL:\nread a.py\nNEXT STEPS:\n- none")

    with ScriptedServer(model, context_window=4000) as server:
        url = ["--base-url", server.base_url]
        failed = hermes(*url, "sessions", "compact", rec.id, cwd=workspace, home=hermes_home)
        assert failed.returncode == 1
        assert "no summaries today" in failed.stderr and "was not changed" in failed.stderr
        # facts come first: they were kept although the summary failed
        assert failed.stdout == "remembered 1 fact(s): Tests run with make test\n"
        run = hermes(*url, "sessions", "compact", rec.id[:6], cwd=workspace, home=hermes_home)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"compacted session {rec.id}: folded 3 turns, ")
    assert lines[1:3] == ["GOAL:", "read a.py"]
    shown = hermes("sessions", "show", rec.id, cwd=workspace, home=hermes_home).stdout
    flags = [
        line.split(":")[0].strip()
        for line in shown.splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    ]
    assert flags[-6:] == [
        "user",
        "assistant (folded)",
        "tool[c1] (folded)",
        "assistant (folded)",
        "user (folded)",
        "assistant",
    ]
    # the next resume sees the summary in place of the folded turns
    store = Store(hermes_home / "hermes.db")
    from hermes.compaction import load_compactions

    (record,) = load_compactions(store, rec.id)
    assert (record.kind, record.turns_folded, record.folded_through_seq) == ("summary", 3, 4)
    store.close()
