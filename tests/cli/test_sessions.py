"""``hermes sessions list|show|search|export|delete|title|compact``, run as real processes
(and in process where a test swaps out the local model backend)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hermes.cli.main import main
from hermes.memory.budget import SUMMARY_SYSTEM
from hermes.messages import Message, ToolCall
from hermes.model.local.files import ModelFile
from hermes.model.local.runtime import Generation, LocalBackend, Sampling
from hermes.store.migrations import SCHEMA_VERSION
from hermes.store.sessions import SessionRecord, Store
from hermes.testing.scripted.server import ChatRequest, ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from hermes.trust.workspace import trust_folder
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


def test_export_redacts_what_was_stored_in_clear_before(
    hermes_home: Path, workspace: Path, tmp_path: Path
) -> None:
    """A key in a shape no pattern knew, stored by an older hermes: the export of a
    hermes that holds that key as its credential never shows it (issue 15, finding 6)."""
    key = "gsk_" + "5e" * 24
    store = Store(hermes_home / "hermes.db")
    rec = store.create_session(str(workspace), "m1", "ask", title="keys")
    store.append_message(rec.id, Message("user", "deploy"))
    call = ToolCall("c1", "terminal", '{"command": "printenv"}')
    store.append_message(rec.id, Message("assistant", None, (call,)))
    store.append_message(rec.id, Message("tool", "PATH=/bin\nHERMES_API_KEY=x", tool_call_id="c1"))
    store.close()
    db = sqlite3.connect(hermes_home / "hermes.db")
    with db:  # as an older hermes wrote it: in clear
        db.execute("UPDATE messages SET content = ? WHERE role = 'tool'", (f"GROQ={key}",))
        db.execute(
            "UPDATE messages SET tool_calls = ? WHERE role = 'assistant'",
            (
                json.dumps(
                    [ToolCall("c1", "terminal", json.dumps({"command": f"echo {key}"})).to_openai()]
                ),
            ),
        )
    db.close()
    for fmt in ("md", "jsonl"):
        run = hermes(
            "sessions",
            "export",
            rec.id,
            "--format",
            fmt,
            cwd=workspace,
            home=hermes_home,
            env={"HERMES_API_KEY": key},
        )
        assert run.returncode == 0, run.stderr
        assert key not in run.stdout and "[REDACTED:credential]" in run.stdout, fmt
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    args = json.loads(rows[2]["tool_calls"][0]["function"]["arguments"])
    assert args == {"command": "echo [REDACTED:credential]"}
    assert rows[3]["content"] == "GROQ=[REDACTED:credential]"


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
    monkeypatch.setattr("hermes.store.sessions.new_session_id", lambda: next(ids))
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
    from hermes.memory.compaction import load_compactions

    (record,) = load_compactions(store, rec.id)
    assert (record.kind, record.turns_folded, record.folded_through_seq) == ("summary", 3, 4)
    store.close()


def long_session(hermes_home: Path, workspace: Path, model: str) -> SessionRecord:
    """A stored session in ``workspace`` with three turns worth folding (its config keeps
    200 recent tokens) and, written by a local model, a model config of its own."""
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text(
        "compaction:\n  keep_recent_tokens: 200\n"
        # an endpoint that refuses connections: reaching it would be an HTTP error
        "model:\n  provider: local\n  base_url: http://127.0.0.1:9/v1\n"
    )
    trust_folder(workspace)  # the user's own project: its config applies in full
    store = Store(hermes_home / "hermes.db")
    rec = store.create_session(str(workspace), model, "ask")
    for message in (
        Message("user", prose(0)),
        Message("assistant", prose(1)),
        Message("user", prose(2)),
        Message("assistant", prose(3)),
        Message("user", prose(4)),
        Message("assistant", prose(5)),
    ):
        store.append_message(rec.id, message)
    store.close()
    return rec


class SummaryBackend(LocalBackend):
    """A local backend that answers every request with a fixed summary (no model file)."""

    def __init__(self) -> None:
        super().__init__(self._no_file, n_ctx=8192, threads=1)
        self.seen: list[Sequence[Message]] = []

    @staticmethod
    def _no_file() -> ModelFile:
        raise AssertionError("the model file is never loaded in this test")

    def generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        sampling: Sampling,
        cancel: threading.Event,
        on_piece: Callable[[str], None],
    ) -> Generation:
        self.seen.append(messages)
        text = "GOAL:\nread a.py\nNEXT STEPS:\n- none"
        on_piece(text)
        return Generation(text, "stop", 10, 5, 0, 40, 0.0, 0.0)


def test_compact_uses_the_configured_local_provider(
    hermes_home: Path,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rec = long_session(hermes_home, workspace, "qwen2.5-coder-0.5b-instruct-q4_k_m")
    monkeypatch.chdir(workspace)
    monkeypatch.setattr("hermes.model.local.files.backend_installed", lambda: False)
    assert main(["sessions", "compact", rec.id]) == 2
    out = capsys.readouterr()
    assert "llama-cpp-python is not installed" in out.err and "hermes[local]" in out.err
    assert "127.0.0.1:9" not in out.err and "Traceback" not in out.err
    # With the backend there, the summary is asked of the local model, not the endpoint.
    backend = SummaryBackend()
    monkeypatch.setattr("hermes.model.local.files.backend_installed", lambda: True)
    monkeypatch.setattr("hermes.model.local.files.check_local_setup", lambda path: None)
    monkeypatch.setattr("hermes.model.local.client.shared_backend", lambda *a: backend)
    assert main(["sessions", "compact", rec.id]) == 0, capsys.readouterr().err
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"compacted session {rec.id}: folded ")
    assert lines[1:3] == ["GOAL:", "read a.py"]
    assert [m[0].content for m in backend.seen] == [SUMMARY_SYSTEM]


def test_show_calls_marks_estimated_usage(
    workspace: Path, hermes_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 5: a server that reports no usage: counted by hermes, shown with "≈"."""
    from hermes.store.sessions import ModelCallRecord

    store = Store(hermes_home / "hermes.db")
    rec = store.create_session(str(workspace), "qwen", "ask")
    store.append_message(rec.id, Message("user", "hi"))
    store.record_model_call(rec.id, ModelCallRecord("qwen", 900, 2, 12.0, 0, 210, 9, "stop"))
    store.record_model_call(
        rec.id, ModelCallRecord("qwen", 950, 4, 15.0, 0, 230, 7, "stop", usage_estimated=True)
    )
    store.close()
    assert main(["sessions", "show", rec.id, "--calls", "--json"]) == 0
    calls = json.loads(capsys.readouterr().out)["model_calls"]
    assert [(c["prompt_tokens"], c["usage_estimated"]) for c in calls] == [
        (210, False),
        (230, True),
    ]
    assert main(["sessions", "show", rec.id, "--calls"]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if "ms " in line]
    assert [r[-3] for r in rows] == ["210/9", "≈230/7"]
    assert text.rstrip().endswith("≈ tokens counted by hermes: the server reported no usage")
