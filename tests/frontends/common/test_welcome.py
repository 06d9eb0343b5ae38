"""The first screen's facts and the status line's places."""

from __future__ import annotations

from pathlib import Path

from hermes.frontends.common.welcome import (
    Welcome,
    cost_label,
    endpoint_label,
    git_branch,
    resume_hint,
    short_path,
)
from hermes.messages import Message
from hermes.store.sessions import Store


def test_short_path() -> None:
    home = str(Path.home())
    assert short_path(f"{home}/code/proj") == "~/code/proj"
    assert short_path("/very/long/path/to/some/project/folder", 20) == "…/project/folder"


def test_git_branch(tmp_path: Path) -> None:
    assert git_branch(tmp_path) == ""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "sub").mkdir()
    assert git_branch(tmp_path / "sub") == "main"
    (tmp_path / ".git" / "HEAD").write_text("0123456789abcdef\n")
    assert git_branch(tmp_path) == "01234567"


def test_endpoint_and_cost() -> None:
    assert endpoint_label("https://api.openai.com/v1") == "api.openai.com"
    assert cost_label(1_000_000, 100_000, None, {"input": 2.5, "output": 10}) == "$3.50"
    assert cost_label(10, 10, 0.001, None) == "$0.0010"
    assert cost_label(10, 10, None, {}) == ""


def test_resume_hint_names_the_latest_session_with_messages(store: Store, tmp_path: Path) -> None:
    ws = str(tmp_path)
    old = store.create_session(ws, "m", "ask", title="fix the login test")
    store.append_message(old.id, Message("user", "fix the login test"))
    store.create_session(ws, "m", "ask")  # empty: not worth resuming
    hint = resume_hint(store, ws, exclude="", now=store.get_session(old.id).updated_at + 120)
    assert hint == f"hermes --resume {old.id}  (fix the login test, 2 min ago) · or /resume"
    assert resume_hint(store, ws, exclude=old.id) == ""


def test_welcome_rows_leave_out_what_is_not_known() -> None:
    assert Welcome("~/p").rows() == [("workspace", "~/p")]
    rows = Welcome("~/p", "main", "m", "host", "ask", "sandboxed", "hermes --resume x").rows()
    assert [label for label, _ in rows] == [
        "workspace",
        "model",
        "approvals",
        "sandbox",
        "last session",
    ]
