"""The Landlock backend: carving hidden paths out of read grants, the helper's command
line, and the helper itself (real Landlock)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hermes.sandbox.landlock import HELPER, LandlockBackend, carve
from hermes.sandbox.landlock_exec import handled_fs
from hermes.sandbox.policy import SandboxPolicy
from tests.sandbox.support import requires_landlock


def test_carve_grants_everything_around_the_hidden_paths(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for d in (".ssh", ".config/gh", ".config/fish", "code"):
        (home / d).mkdir(parents=True)
    (home / ".bashrc").write_text("x")
    (home / "link").symlink_to(home / ".ssh")
    hidden = [home / ".ssh", home / ".config" / "gh"]
    assert carve([home], hidden) == [
        home / ".bashrc",
        home / ".config" / "fish",
        home / "code",
    ]
    assert carve([home / "code"], hidden) == [home / "code"]
    assert carve([home / ".ssh"], hidden) == []


def test_the_helper_command_line() -> None:
    policy = SandboxPolicy(
        mode="workspace-write",
        workspace=Path("/srv/ws"),
        writable_roots=(Path("/srv/ws"),),
        network="off",
        hidden=(Path("/etc/ssl"),),
    )
    argv = LandlockBackend(4).command(policy, ["ls", "-l"], Path("/srv/ws"))
    reads = [argv[i + 1] for i, a in enumerate(argv) if a == "--read"]
    writes = [argv[i + 1] for i, a in enumerate(argv) if a == "--write"]
    assert argv[:7] == [sys.executable, "-I", "-S", str(HELPER), "--network", "off", "--read"]
    assert "/etc" not in reads and "/usr" in reads and "/etc/passwd" in reads
    assert "/etc/ssl" not in reads
    assert writes == ["/srv/ws", "/tmp"]
    assert argv[-4:] == ["--private-tmp", "--", "ls", "-l"]
    assert LandlockBackend(3).limits(policy) == (
        "no private /tmp (a TMPDIR of its own instead)",
        "no PID namespace",
        "network NOT restricted (Landlock ABI 3 < 4)",
    )


def test_every_right_the_abi_knows_is_handled() -> None:
    assert handled_fs(1) == (1 << 13) - 1
    assert handled_fs(3) == (1 << 15) - 1
    assert handled_fs(7) == (1 << 16) - 1


@requires_landlock
def test_the_helper_confines_cleans_up_and_keeps_the_exit_status(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    script = (
        "echo in > inside.txt; echo $TMPDIR > tmpdir.txt; echo t > $TMPDIR/t; "
        f"echo out > {tmp_path}/outside.txt; exit 7"
    )
    argv = [sys.executable, "-I", "-S", str(HELPER), "--read", "/", "--write", str(ws)]
    argv += ["--device", "/dev/null", "--private-tmp", "--", "sh", "-c", script]
    done = subprocess.run(argv, cwd=ws, capture_output=True, text=True, timeout=60)
    assert done.returncode == 7
    assert "Permission denied" in done.stderr
    assert (ws / "inside.txt").read_text() == "in\n"
    assert not (tmp_path / "outside.txt").exists()
    private = Path((ws / "tmpdir.txt").read_text().strip())
    assert private.parent == Path("/tmp") and private.name.startswith("hermes-sandbox-")
    assert not private.exists()  # removed with what the command left in it


@requires_landlock
def test_the_helper_reports_a_missing_program() -> None:
    argv = [sys.executable, "-I", "-S", str(HELPER), "--read", "/", "--", "no-such-program-x"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 127
    assert done.stderr.startswith("hermes landlock helper: no-such-program-x: ")
