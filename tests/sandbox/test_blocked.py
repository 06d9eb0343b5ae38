"""Reading what the sandbox refused from a failed command's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.sandbox.backends import NoSandbox, Sandbox
from hermes.sandbox.blocked import Blocked, describe_block, find_block
from hermes.sandbox.bubblewrap import BubblewrapBackend, BwrapFeatures
from hermes.sandbox.landlock import LandlockBackend
from hermes.sandbox.policy import SandboxPolicy

WS = Path("/srv/ws")
POLICY = SandboxPolicy(
    mode="workspace-write",
    workspace=WS,
    writable_roots=(WS, WS / ".git"),
    network="off",
    hidden=(Path("/home/u/.ssh"),),
    protected=(WS / ".git" / "hooks",),
)
BWRAP = Sandbox(POLICY, BubblewrapBackend(BwrapFeatures("/usr/bin/bwrap")))
LANDLOCK = Sandbox(POLICY, LandlockBackend(7))


@pytest.mark.parametrize(
    ("output", "found"),
    [
        ("touch: cannot touch '/etc/x': Read-only file system", Blocked("write", "/etc/x")),
        ("bash: line 1: /etc/passwd: Read-only file system", Blocked("write", "/etc/passwd")),
        (
            "OSError: [Errno 30] Read-only file system: '/usr/lib/x.py'",
            Blocked("write", "/usr/lib/x.py"),
        ),
        ("error: unable to create temporary file: Read-only file system", Blocked("write")),
        ("curl: (6) Could not resolve host: example.com", Blocked("network")),
        ("OSError: [Errno 101] Network is unreachable", Blocked("network")),
        (
            "cat: /home/u/.ssh/id_rsa: No such file or directory",
            Blocked("hidden", "/home/u/.ssh/id_rsa"),
        ),
        ("cat: /srv/ws/missing: No such file or directory", None),
        ("touch: cannot touch '/srv/ws/x': Permission denied", None),  # not the sandbox
        ("FAILED test_x.py::test_y - assert 1 == 2", None),
        (
            "bash: .git/hooks/x: Read-only file system\nfatal: '/srv/ws/.git/hooks/x': "
            "Read-only file system",
            Blocked("write", "/srv/ws/.git/hooks/x"),
        ),
    ],
)
def test_bubblewrap_marks(output: str, found: Blocked | None) -> None:
    assert find_block(BWRAP, output) == found


@pytest.mark.parametrize(
    ("output", "found"),
    [
        ("touch: cannot touch '/etc/x': Permission denied", Blocked("write", "/etc/x")),
        ("PermissionError: [Errno 13] Permission denied", Blocked("network")),
        ("curl: (7) Failed to connect to x port 80: Permission denied", Blocked("network")),
        (
            "cat: /home/u/.ssh/id_rsa: Permission denied",
            Blocked("hidden", "/home/u/.ssh/id_rsa"),
        ),
        ("ls: cannot open directory '/home/u': Permission denied", Blocked("hidden", "/home/u")),
    ],
)
def test_landlock_marks(output: str, found: Blocked | None) -> None:
    assert find_block(LANDLOCK, output) == found


def test_nothing_is_blocked_without_a_sandbox_or_with_the_network_on() -> None:
    unconfined = Sandbox(POLICY, NoSandbox())
    assert find_block(unconfined, "Read-only file system") is None
    networked = Sandbox(SandboxPolicy("workspace-write", WS, (WS,), network="on"), BWRAP.backend)
    assert find_block(networked, "curl: (6) Could not resolve host: x") is None


def test_what_the_model_is_told() -> None:
    assert describe_block(BWRAP, Blocked("network")) == (
        "[sandbox: network blocked — commands run without network (sandbox.network: off); "
        "only the user can allow it]"
    )
    assert describe_block(BWRAP, Blocked("write", "/etc/x")) == (
        "[sandbox: write outside the workspace blocked: /etc/x — only the workspace and a "
        "private /tmp are writable (sandbox.writable_roots adds more); only the user can "
        "allow it]"
    )
    assert describe_block(BWRAP, Blocked("write", "/srv/ws/.git/hooks/pre-commit")) == (
        "[sandbox: write blocked: /srv/ws/.git/hooks/pre-commit — git hooks and config and "
        ".hermes stay read-only in the sandbox (git would run them later, unconfined)]"
    )
    assert describe_block(BWRAP, Blocked("hidden", "/home/u/.ssh/id_rsa"), "/home/u") == (
        "[sandbox: ~/.ssh/id_rsa is hidden from commands (secrets, hermes' own files), or "
        "holds what is]"
    )
