"""The bwrap command line for a policy, and the probe (real bubblewrap)."""

from __future__ import annotations

from pathlib import Path

from hermes.sandbox.bubblewrap import BubblewrapBackend, BwrapFeatures, probe
from hermes.sandbox.policy import SandboxPolicy
from tests.sandbox.support import requires_bwrap

BASE = [
    "/usr/bin/bwrap",
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--unshare-user",
    "--disable-userns",
    "--cap-drop",
    "ALL",
]
FS = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
FS += ["--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]


def test_mounts_go_shallowest_first_and_hiding_wins_at_the_same_depth(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".netrc").write_text("x")
    (home / "proj" / ".git" / "hooks").mkdir(parents=True)
    ws = home / "proj"
    secret_dir = ws / "secrets"  # hidden, with a writable root beneath it
    (secret_dir / "scratch").mkdir(parents=True)
    policy = SandboxPolicy(
        mode="workspace-write",
        workspace=ws,
        writable_roots=(ws, ws / ".git", secret_dir / "scratch"),
        network="off",
        hidden=(home / ".ssh", home / ".netrc", secret_dir),
        protected=(ws / ".git" / "hooks",),
    )
    backend = BubblewrapBackend(BwrapFeatures("/usr/bin/bwrap"))
    argv = backend.command(policy, ["bash", "-c", "true"], ws)
    # tmp_path lies under /tmp: what is not a writable root there is gone anyway, so only
    # paths inside the bound workspace are hidden.
    assert argv == [
        *BASE,
        "--unshare-net",
        *FS,
        "--bind", str(ws), str(ws),
        "--bind", str(ws / ".git"), str(ws / ".git"),
        "--tmpfs", str(secret_dir),
        "--bind", str(secret_dir / "scratch"), str(secret_dir / "scratch"),
        "--ro-bind", str(ws / ".git" / "hooks"), str(ws / ".git" / "hooks"),
        "--chdir", str(ws),
        "--", "bash", "-c", "true",
    ]  # fmt: skip


def test_hidden_paths_outside_tmp_and_network_on() -> None:
    etc = Path("/etc")
    policy = SandboxPolicy(
        mode="read-only",
        workspace=Path("/srv/ws"),
        network="on",
        hidden=(etc / "ssl", etc / "hostname"),
    )
    features = BwrapFeatures("/usr/bin/bwrap", user_namespace=False, fresh_proc=False)
    argv = BubblewrapBackend(features).command(policy, ["ls"], Path("/srv/ws"))
    assert argv == [
        *BASE[:7],
        "--cap-drop", "ALL",
        "--ro-bind", "/", "/", "--ro-bind", "/proc", "/proc", "--dev", "/dev",
        "--tmpfs", "/dev/shm", "--tmpfs", "/tmp",
        "--tmpfs", "/etc/ssl", "--remount-ro", "/etc/ssl",
        "--ro-bind", "/dev/null", "/etc/hostname",
        "--chdir", "/srv/ws",
        "--", "ls",
    ]  # fmt: skip


@requires_bwrap
def test_the_probe_finds_a_working_bwrap_once() -> None:
    first = probe()
    assert first.features is not None and first.reason == ""
    assert probe() is first
