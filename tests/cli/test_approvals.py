"""``hermes approvals check``: what hermes would do with a command, in a mode, and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hermes.cli.main import main
from tests.support import run_hermes


def check(workspace: Path, *args: str) -> int:
    return main(["approvals", "check", "-C", str(workspace), *args])


def test_text_output_gives_decision_class_reasons_and_rule(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(workspace, "--", "npm", "test") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ask  [exec, mode ask]  npm test"
    assert "  why: approval mode ask: asks: npm test is not read-only" in out
    assert "  rule: terminal:npm test (what answering always adds)" in out
    assert any(
        line.startswith("  headless: deny: To allow it, use --approval-mode yolo") for line in out
    )


def test_json_output(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(workspace, "--mode", "auto-edit", "--json", "--", "git push origin main") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["command"] == "git push origin main"
    assert (data["mode"], data["decision"], data["class"]) == ("auto-edit", "ask", "exec")
    assert data["reasons"] == ["approval mode auto-edit: asks: git push uses the network"]
    assert data["always"] == ["terminal:git push"]
    assert "--approval-mode yolo" in data["headless"]
    assert "--approval-mode auto-edit" not in data["headless"]


@pytest.mark.parametrize(
    ("command", "mode", "decision", "why"),
    [
        ("ls -la", "ask", "allow", "read-only: ls -la"),
        ("cat .env", "ask", "ask", "cat reads .env, which may hold secrets"),
        ("cat .env", "yolo", "ask", "may hold secrets"),
        ("rm -rf /", "yolo", "ask", "catastrophic: recursive delete of /"),
        ("echo x > .git/hooks/pre-commit", "yolo", "ask", "protected: redirect writes git"),
        ("python -m pytest", "yolo", "allow", "approval mode yolo"),
        ("cd src && ls -la", "ask", "allow", "read-only"),
    ],
)
def test_decisions(
    command: str,
    mode: str,
    decision: str,
    why: str,
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (workspace / "src").mkdir()
    assert check(workspace, "--mode", mode, "--json", "--", command) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == decision
    assert why in data["reason"]


def test_stdin_reads_one_command_per_line_and_writes_json_lines(
    workspace: Path, hermes_home: Path
) -> None:
    commands = ["ls", "npm run test", "", "python -m pytest -q", "cat ~/.ssh/id_rsa"]
    done = run_hermes(
        "approvals",
        "check",
        "--stdin",
        cwd=workspace,
        home=hermes_home,
        stdin="\n".join(commands) + "\n",
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["command"] for r in rows] == [c for c in commands if c]
    assert [r["decision"] for r in rows] == ["allow", "ask", "ask", "ask"]
    assert rows[1]["always"] == ["terminal:npm run test"]
    assert rows[2]["always"] == ["terminal:python -m pytest"]
    assert rows[3]["always"] == [] and "id_rsa" in rows[3]["reason"]


def test_rules_from_the_user_config_count(
    workspace: Path, hermes_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (hermes_home / "config.yaml").write_text(
        yaml.safe_dump({"approvals": {"allow": ["terminal:npm test"], "deny": ["terminal:curl"]}})
    )
    assert check(workspace, "--json", "--", "npm test") == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "allow"
    assert check(workspace, "--json", "--", "curl https://example.com") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "deny" and "approvals.deny" in data["reason"]


def test_workdir(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "sub").mkdir()
    assert check(workspace, "--workdir", "sub", "--json", "--", "ls") == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "allow"
    assert check(workspace, "--workdir", "/", "--json", "--", "ls") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "ask" and "outside the workspace" in data["reason"]


@pytest.mark.parametrize("args", [(), ("--stdin", "--", "ls")])
def test_usage_errors(
    args: tuple[str, ...], workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(workspace, *args) == 2
    assert "either a command after -- or --stdin" in capsys.readouterr().err


def test_runs_as_a_process(workspace: Path, hermes_home: Path) -> None:
    done = run_hermes("approvals", "check", "--", "git", "status", cwd=workspace, home=hermes_home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("allow  [read, mode ask]  git status")
