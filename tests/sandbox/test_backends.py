"""The real sandbox, through the real terminal tool, with each backend forced in turn.

Every test runs real commands under real bubblewrap or Landlock; decoys live outside the
workspace (and outside /tmp) and are compared byte for byte.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.config import SandboxConfig
from hermes.sandbox import backends
from hermes.sandbox.backends import NoSandbox, SandboxStatus, open_sandbox, sandbox_status
from tests.sandbox.support import (
    BACKENDS,
    BASHRC,
    KEY,
    make_decoy_home,
    outside_dir,
    processes_named,
    requires_bwrap,
    requires_landlock,
    run_sandboxed,
    tree_digest,
)


@pytest.fixture
def outside() -> Iterator[Path]:
    with outside_dir() as path:
        yield path


@pytest.fixture
def home(outside: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A decoy home (HOME points at it) outside the workspace and outside /tmp."""
    home = make_decoy_home(outside / "home")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_write_outside_the_workspace_fails_and_the_file_is_untouched(
    backend: str, workspace: Path, outside: Path, home: Path
) -> None:
    target = outside / "precious.txt"
    target.write_text("precious\n")
    before = tree_digest(outside)
    result = run_sandboxed(
        workspace,
        f"echo overwritten > {target}; rm -f {target}; touch {outside}/new.txt; "
        f"echo pwned >> ~/.bashrc",
        backend=backend,
    )
    assert tree_digest(outside) == before
    assert target.read_text() == "precious\n" and (home / ".bashrc").read_text() == BASHRC
    assert result.sandbox_blocked == "write"
    assert "write outside the workspace blocked" in result.content


@pytest.mark.parametrize("backend", BACKENDS)
def test_reading_a_decoy_ssh_key_fails(backend: str, workspace: Path, home: Path) -> None:
    result = run_sandboxed(workspace, "cat ~/.ssh/id_rsa; cat ~/.aws/credentials", backend=backend)
    assert "decoy" not in result.content
    assert not result.ok
    assert "is hidden from commands" in result.content
    assert (home / ".ssh" / "id_rsa").read_text() == KEY


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tcp_connect_to_a_non_loopback_address_fails_with_the_kernel_error(
    backend: str, workspace: Path
) -> None:
    # A 60 s timeout: if the connect were really attempted (a packet sent into a black
    # hole) it would hang; the sandbox refuses it in the kernel, before anything is sent.
    script = (
        "import socket\n"
        "s = socket.socket(); s.settimeout(60)\n"
        "try:\n    s.connect(('10.255.255.1', 80))\n"
        "except OSError as e:\n    print('errno', e.errno)\n"
    )
    (workspace / "probe.py").write_text(script)
    if backend == "landlock" and backends.select_backend("landlock")[0] is not None:
        from hermes.sandbox.landlock import abi

        if abi() < 4:
            pytest.skip("Landlock before ABI 4 cannot restrict the network")
    result = run_sandboxed(workspace, f"{sys.executable} probe.py", backend=backend)
    expected = errno.ENETUNREACH if backend == "bubblewrap" else errno.EACCES
    assert f"errno {expected}\n" in result.content


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_setsid_daemon_does_not_survive_the_call(backend: str, workspace: Path) -> None:
    marker = f"{1000 + time.time_ns() % 997}.25"  # a sleep no other process runs
    result = run_sandboxed(
        workspace,
        f"setsid sleep {marker} > /dev/null 2>&1 < /dev/null & "
        f"nohup sleep {marker} > /dev/null 2>&1 & echo started",
        backend=backend,
    )
    assert result.ok and result.content.startswith("started\n")
    deadline = time.monotonic() + 20  # the kernel tears the namespace down; a hang guard
    while processes_named(f"sleep {marker}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_named(f"sleep {marker}") == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_writes_git_commit_and_a_python_test_run_inside_the_workspace_succeed(
    backend: str, workspace: Path, home: Path
) -> None:
    git = "git -c user.name=t -c user.email=t@example.com"
    (workspace / "test_add.py").write_text("def test_add():\n    assert 1 + 1 == 2\n")
    result = run_sandboxed(
        workspace,
        f"set -e; git init -q -b main; echo hello > hello.txt; mkdir -p src/pkg; "
        f"echo 'x = 1' > src/pkg/mod.py; {git} add -A; {git} commit -qm first; "
        f"git log --oneline | wc -l; {sys.executable} -m pytest -q -p no:cacheprovider "
        f"test_add.py 2>&1 | tail -1; echo scratch > ${{TMPDIR:-/tmp}}/x; echo done",
        backend=backend,
    )
    assert result.ok, result.content
    lines = result.content.splitlines()
    assert lines[0] == "1" and "1 passed" in lines[1] and lines[2] == "done"
    assert (workspace / "hello.txt").read_text() == "hello\n"
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=workspace, capture_output=True, text=True, check=True
    )
    assert log.stdout == "first\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_hermes_home_and_its_session_database_are_hidden(
    backend: str, workspace: Path, hermes_home: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = outside / "hermes-home"  # outside /tmp, where the fresh /tmp would hide it anyway
    home.mkdir()
    (home / "hermes.db").write_bytes(b"SQLite format 3\x00 decoy")
    monkeypatch.setenv("HERMES_HOME", str(home))
    result = run_sandboxed(workspace, f"cat {home}/hermes.db", backend=backend)
    assert "SQLite" not in result.content and "decoy" not in result.content
    assert "is hidden from commands" in result.content


def test_each_backend_can_be_forced(workspace: Path) -> None:
    if backends.select_backend("bubblewrap")[0] is not None:
        assert open_sandbox(SandboxConfig(backend="bubblewrap"), workspace).backend.name == (
            "bubblewrap"
        )
    if backends.select_backend("landlock")[0] is not None:
        assert open_sandbox(SandboxConfig(backend="landlock"), workspace).backend.name == (
            "landlock"
        )
    off = open_sandbox(SandboxConfig(mode="off"), workspace)
    assert isinstance(off.backend, NoSandbox) and not off.confined
    assert off.summary() == "sandbox off"
    assert sandbox_status(SandboxConfig(mode="off"), workspace) == SandboxStatus(
        "sandbox off",
        "sandbox off (--no-sandbox or sandbox.mode: off): commands and MCP servers run with "
        "your full permissions",
        False,
        "warn",
    )


@requires_bwrap
def test_auto_picks_bubblewrap_and_says_so(workspace: Path) -> None:
    status = sandbox_status(SandboxConfig(), workspace)
    assert (status.label, status.confined, status.level) == ("sandboxed", True, "ok")
    assert status.detail.startswith("bubblewrap sandbox, workspace-write: the workspace writable")


@requires_landlock
def test_landlock_says_what_it_cannot_do(workspace: Path) -> None:
    status = sandbox_status(SandboxConfig(backend="landlock"), workspace)
    assert (status.label, status.confined, status.level) == ("sandboxed (landlock)", True, "warn")
    assert "no private /tmp" in status.detail and "no PID namespace" in status.detail


def test_no_backend_at_all_runs_unconfined_and_says_so_plainly(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        backends, "select_backend", lambda preferred="auto": (None, "no bwrap; no Landlock")
    )
    status = sandbox_status(SandboxConfig(), workspace)
    assert (status.label, status.confined, status.level) == ("NO SANDBOX", False, "warn")
    assert status.detail.startswith("no sandbox: no bwrap; no Landlock. Commands and MCP")
    result = run_sandboxed(workspace, "echo ran", backend="auto")
    assert result.content == (
        "ran\n[no sandbox available: the command ran unconfined]\n[exit code 0]"
    )


def test_a_forced_backend_that_cannot_run_stops_the_command(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        backends, "select_backend", lambda preferred="auto": (None, "bwrap: not installed")
    )
    (workspace / "f").write_text("x")
    result = run_sandboxed(workspace, "rm f", backend="bubblewrap")
    assert not result.ok
    assert result.content == (
        "sandbox.backend is bubblewrap, which cannot run here: bwrap: not installed. Set "
        "sandbox.backend: auto, or sandbox.mode: off to run commands unconfined."
    )
    assert (workspace / "f").exists()


@requires_bwrap
def test_read_only_mode_leaves_only_a_private_tmp(workspace: Path) -> None:
    (workspace / "f.txt").write_text("keep\n")
    result = run_sandboxed(
        workspace, "echo x > /tmp/t && cat /tmp/t && echo y > f.txt", mode="read-only"
    )
    assert result.content.startswith("x\n")
    assert "[sandbox: write blocked: " in result.content and "read-only]" in result.content
    assert (workspace / "f.txt").read_text() == "keep\n"


@requires_bwrap
def test_interrupting_a_sandboxed_command_ends_everything_it_started(workspace: Path) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from hermes.execution.spec import ToolContext
    from hermes.tools.terminal import terminal

    marker = f"{2000 + time.time_ns() % 997}.75"
    cancel = threading.Event()
    ctx = ToolContext(
        workspace=workspace,
        output_dir=workspace.parent / "out",
        cancel=cancel,
        sandbox=SandboxConfig(backend="bubblewrap"),
    )
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(terminal, ctx, {"command": f"sleep {marker} & echo go; wait"})
        deadline = time.monotonic() + 30
        while not processes_named(f"sleep {marker}") and time.monotonic() < deadline:
            time.sleep(0.02)
        cancel.set()
        result = job.result(timeout=60)
    assert "[interrupted by user" in result.content and result.exit_code == 130
    assert processes_named(f"sleep {marker}") == []


@requires_bwrap
def test_network_off_keeps_its_own_loopback_but_not_the_hosts(workspace: Path) -> None:
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen(1)
    port = host.getsockname()[1]
    script = (
        "import socket\n"
        f"c = socket.socket()\ntry:\n    c.connect(('127.0.0.1', {port})); print('host ok')\n"
        "except OSError as e:\n    print('host errno', e.errno)\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
        "c = socket.create_connection(s.getsockname()); print('own loopback ok')\n"
    )
    (workspace / "lo.py").write_text(script)
    try:
        off = run_sandboxed(workspace, f"{sys.executable} lo.py")
        on = run_sandboxed(workspace, f"{sys.executable} lo.py", network="on")
    finally:
        host.close()
    assert off.content.startswith(f"host errno {errno.ECONNREFUSED}\nown loopback ok\n")
    assert on.content.startswith("host ok\nown loopback ok\n")
    assert on.content.splitlines()[-2] == "[sandbox: workspace-write, network on]"


@requires_bwrap
def test_git_hooks_and_config_stay_read_only(workspace: Path) -> None:
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    config = (workspace / ".git" / "config").read_bytes()
    result = run_sandboxed(
        workspace,
        "echo 'touch /tmp/owned' > .git/hooks/pre-commit; "
        "git config core.fsmonitor 'touch /tmp/owned'; echo tried",
    )
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()
    assert (workspace / ".git" / "config").read_bytes() == config
    assert "tried" in result.content
