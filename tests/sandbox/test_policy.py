"""The sandbox policy: which real paths are writable, hidden and kept read-only."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hermes.config import SandboxConfig
from hermes.sandbox.policy import SandboxPolicy, build_policy, git_dirs


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for d in (".ssh", ".aws", ".config/gh", ".kube", ".mozilla", ".cache"):
        (home / d).mkdir(parents=True)
    (home / ".netrc").write_text("machine x login y password z\n")
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text("{}")
    return home


def test_workspace_write_policy(tmp_path: Path, workspace: Path, hermes_home: Path) -> None:
    home = _home(tmp_path)
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    (workspace / ".hermes").mkdir()
    (workspace / ".env").write_text("TOKEN=x\n")
    (tmp_path / "cache").mkdir()
    config = SandboxConfig(
        writable_roots=(str(tmp_path / "cache"), "~/.cache", "missing-root"),
        hide=(".env", "~/.cache/secret-tool"),
    )
    policy = build_policy(config, workspace, environ={"HOME": str(home)})
    git = workspace / ".git"
    assert policy == SandboxPolicy(
        mode="workspace-write",
        workspace=workspace,
        writable_roots=(workspace, git, tmp_path / "cache", home / ".cache"),
        network="off",
        hidden=(
            hermes_home,
            home / ".ssh",
            home / ".aws",
            home / ".config" / "gh",
            home / ".netrc",
            home / ".docker" / "config.json",
            home / ".kube",
            home / ".mozilla",
            workspace / ".env",
        ),
        protected=(git / "hooks", git / "config", workspace / ".hermes"),
    )
    assert policy.writable(workspace / "src" / "new.py")
    assert not policy.writable(git / "hooks" / "pre-commit")
    assert not policy.writable(workspace / ".env")
    assert not policy.writable(tmp_path / "elsewhere")
    assert policy.is_hidden(home / ".ssh" / "id_rsa") and not policy.is_hidden(home)
    assert policy.holds_hidden(home) and not policy.holds_hidden(workspace / "src")


def test_read_only_and_off(tmp_path: Path, workspace: Path, hermes_home: Path) -> None:
    home = _home(tmp_path)
    ro = build_policy(SandboxConfig(mode="read-only"), workspace, environ={"HOME": str(home)})
    assert (ro.mode, ro.writable_roots, ro.protected) == ("read-only", (), ())
    assert hermes_home in ro.hidden and home / ".ssh" in ro.hidden
    off = build_policy(SandboxConfig(mode="off", network="off"), workspace, environ={})
    assert off == SandboxPolicy("off", workspace, network="on")
    assert not off.enforced


def test_network_can_be_set_per_call(workspace: Path) -> None:
    config = SandboxConfig(network="off")
    assert build_policy(config, workspace, environ={}).network == "off"
    assert build_policy(config, workspace, network="on", environ={}).network == "on"


def test_git_dirs_follow_a_worktree_to_its_common_dir(tmp_path: Path) -> None:
    main = tmp_path / "main"
    subprocess.run(["git", "init", "-q", "-b", "main", str(main)], check=True)
    git = ["git", "-C", str(main), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    subprocess.run([*git, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "w"], check=True)
    (tmp_path / "wt" / "sub").mkdir()
    assert git_dirs(tmp_path / "wt" / "sub") == (main / ".git" / "worktrees" / "wt", main / ".git")
    assert git_dirs(main) == (main / ".git",)
    assert git_dirs(tmp_path) == ()
