"""``hermes facts list|add|forget``, run as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from hermes.memory.facts.store import FactStore
from hermes.messages import Message
from hermes.store.sessions import Store
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
