"""Loading a workspace with trust decided: untrusted content is left out and becomes a
question; trusting records exactly the content shown; any change asks again."""

from __future__ import annotations

from pathlib import Path

from hermes.config import IgnoredSetting
from hermes.trust.material import read_material
from hermes.trust.store import TrustRecord, TrustStore
from hermes.trust.workspace import (
    TrustQuestion,
    keeping_trust,
    load_workspace,
    trust_answer,
    trust_folder,
)

YOLO = IgnoredSetting("approvals.mode", "'yolo'", "'ask'", "asks less before running calls")


def ws_config(workspace: Path, text: str) -> Path:
    path = workspace / ".hermes" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_untrusted_content_becomes_a_question(workspace: Path) -> None:
    config = ws_config(workspace, "approvals: {mode: yolo}\n")
    loaded = load_workspace(workspace, env={})
    assert loaded.report.config.approvals.mode == "ask"
    question = loaded.question
    assert question == TrustQuestion(
        workspace.resolve(), read_material(workspace).digest, config, (YOLO,)
    )
    assert question.lines() == [
        "approvals.mode = 'yolo' (now 'ask'): asks less before running calls"
    ]
    assert question.notice() == (
        f"ignoring approvals.mode from {config}: this folder is not trusted; to use them run "
        f"'hermes trust {workspace.resolve()}' or pass --trust-workspace"
    )


def test_trusting_applies_it_until_the_content_changes(workspace: Path) -> None:
    config = ws_config(workspace, "approvals: {mode: yolo}\n")
    question = load_workspace(workspace, env={}).question
    assert question is not None
    record = trust_answer(question)
    assert TrustStore().records() == [record]
    loaded = load_workspace(workspace, env={})
    assert (loaded.report.config.approvals.mode, loaded.report.trusted) == ("yolo", True)
    assert loaded.question is None
    config.write_text("approvals: {mode: yolo}\nmcp: {servers: {x: {command: sh}}}\n")
    loaded = load_workspace(workspace, env={})
    assert (loaded.report.config.approvals.mode, loaded.report.config.mcp.servers) == ("ask", {})
    assert loaded.question is not None
    assert [i.key for i in loaded.question.ignored] == ["approvals.mode", "mcp.servers.x"]


def test_a_new_command_file_also_asks_again(workspace: Path) -> None:
    ws_config(workspace, "approvals: {mode: yolo}\n")
    trust_folder(workspace)
    assert load_workspace(workspace, env={}).question is None
    (workspace / ".hermes" / "commands").mkdir()
    (workspace / ".hermes" / "commands" / "deploy.md").write_text("run the deploy\n")
    assert load_workspace(workspace, env={}).question is not None


def test_trust_workspace_flag_applies_without_recording(workspace: Path) -> None:
    ws_config(workspace, "approvals: {mode: yolo}\n")
    loaded = load_workspace(workspace, env={}, assume_trusted=True)
    assert (loaded.report.config.approvals.mode, loaded.question) == ("yolo", None)
    assert TrustStore().records() == []


def test_only_tightening_content_asks_nothing(workspace: Path) -> None:
    ws_config(workspace, "approvals: {deny: ['terminal:rm']}\nsession: {max_turns: 5}\n")
    loaded = load_workspace(workspace, env={})
    assert loaded.question is None and loaded.report.trusted is False
    assert loaded.report.config.approvals.deny == ("terminal:rm",)


def test_trust_is_per_real_folder(workspace: Path, tmp_path: Path) -> None:
    ws_config(workspace, "approvals: {mode: yolo}\n")
    link = tmp_path / "link"
    link.symlink_to(workspace)
    record = trust_folder(link)
    assert record == TrustRecord(str(workspace.resolve()), record.digest, record.trusted_at)
    assert load_workspace(workspace, env={}).report.trusted is True
    other = tmp_path / "copy"
    other.mkdir()
    ws_config(other, "approvals: {mode: yolo}\n")  # same content, another folder
    assert load_workspace(other, env={}).report.trusted is False


def test_hermes_own_write_keeps_a_trusted_folder_trusted(workspace: Path) -> None:
    config = ws_config(workspace, "approvals: {mode: yolo}\n")
    trust_folder(workspace)
    with keeping_trust(workspace):
        config.write_text("approvals: {mode: yolo, allow: ['terminal:mkdir']}\n")
    loaded = load_workspace(workspace, env={})
    assert (loaded.report.trusted, loaded.report.config.approvals.allow) == (
        True,
        ("terminal:mkdir",),
    )


def test_hermes_own_write_trusts_content_that_needed_no_trust(workspace: Path) -> None:
    with keeping_trust(workspace):  # no config yet: nothing needed trust
        ws_config(workspace, "approvals: {allow: ['terminal:mkdir']}\n")
    assert load_workspace(workspace, env={}).report.trusted is True


def test_hermes_own_write_leaves_an_untrusted_folder_untrusted(workspace: Path) -> None:
    config = ws_config(workspace, "approvals: {mode: yolo}\n")
    with keeping_trust(workspace):
        config.write_text("approvals: {mode: yolo, allow: ['terminal:mkdir']}\n")
    loaded = load_workspace(workspace, env={})
    assert (loaded.report.trusted, TrustStore().records()) == (False, [])
