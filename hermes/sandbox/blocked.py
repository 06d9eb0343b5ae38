"""What the sandbox did to a command, in one line the model (and the user) can read.

A failed command's output is looked at for the marks the kernel leaves when the sandbox
refuses something: ENETUNREACH or a failed name lookup with the network off
("network blocked"); EROFS, or under Landlock EACCES, on a path outside the writable
roots ("write outside the workspace blocked"); a hidden path that is not there. A
network or write block is what the interactive front ends offer to run again outside
the sandbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hermes.sandbox.backends import Sandbox

BlockKind = Literal["network", "write"]

_NETWORK = re.compile(
    r"network is unreachable|ENETUNREACH|\[Errno 101\]|could not resolve host|"
    r"temporary failure in name resolution|name or service not known|EAI_AGAIN|"
    r"\[Errno -[235]\]|failed to resolve|unable to resolve|no address associated with hostname|"
    r"getaddrinfo|couldn't connect to server|failed to connect to|"
    # The host's own loopback services are out of reach with the network off.
    r"connection refused|\[Errno 111\]",
    re.IGNORECASE,
)
_LANDLOCK_NETWORK = re.compile(r"connect.*permission denied|permission denied.*connect", re.I)
_READ_ONLY = re.compile(r"read-only file system|EROFS|\[Errno 30\]", re.IGNORECASE)
_DENIED = re.compile(r"permission denied|EACCES|\[Errno 13\]|operation not permitted", re.I)
_EACCES = re.compile(r"permission denied|EACCES|\[Errno 13\]", re.IGNORECASE)
# git pushing to a path: the receiving side cannot write, and says so in its own words
_GIT_REMOTE = re.compile(r"unable to create temporary object directory|unpacker error", re.I)
_GIT_TO = re.compile(r"^To (/\S+)", re.MULTILINE)
_MISSING = re.compile(r"no such file or directory|ENOENT|\[Errno 2\]", re.IGNORECASE)
_QUOTED = re.compile(r"""['"‘`](/[^'"’`\n]*)['"’`]""")
_BARE = re.compile(r"""(?:^|[\s(])(/[^\s:'"()]+)""")
_LINES_MAX = 400


@dataclass(frozen=True)
class Blocked:
    """A refusal found in a command's output."""

    kind: BlockKind | Literal["hidden"]
    path: str = ""


def _paths(line: str) -> list[Path]:
    """Absolute paths named in an error line, the one nearest the error first
    (``bash: line 1: /x: Read-only file system`` names the shell too)."""
    found = _QUOTED.findall(line) or _BARE.findall(line)
    return [Path(p.rstrip(".,;")) for p in reversed(found)]


def find_block(sandbox: Sandbox, output: str) -> Blocked | None:
    """The first sign in ``output`` that the sandbox refused the command something."""
    if not sandbox.confined:
        return None
    policy = sandbox.policy
    landlock = sandbox.backend.name == "landlock"
    hidden: Blocked | None = None
    vague: Blocked | None = None
    if _GIT_REMOTE.search(output):
        remote = [Path(m) for m in _GIT_TO.findall(output) if not policy.writable(Path(m))]
        if remote:
            return Blocked("write", str(remote[0]))
    for line in output.splitlines()[-_LINES_MAX:]:
        named = _paths(line)
        denied = landlock and _DENIED.search(line) is not None
        if policy.network == "off" and (
            _NETWORK.search(line)
            or (landlock and _LANDLOCK_NETWORK.search(line))
            # Landlock refuses a TCP connect with EACCES; a refused file names its path.
            or (denied and not named and _EACCES.search(line))
        ):
            return Blocked("network")
        if hidden is None and (_MISSING.search(line) or denied):
            # Under bubblewrap a hidden path is missing; under Landlock it, and a folder
            # holding one, cannot be opened.
            gone = [p for p in named if policy.is_hidden(p) or policy.holds_hidden(p)]
            if gone:
                hidden = Blocked("hidden", str(gone[0]))
                continue
        if _READ_ONLY.search(line) or denied:
            outside = [p for p in named if not policy.writable(p)]
            if not _READ_ONLY.search(line):  # EACCES on a hidden path is a refused read
                outside = [p for p in outside if not policy.is_hidden(p)]
                outside = [p for p in outside if not policy.holds_hidden(p)]
            if outside:
                return Blocked("write", str(outside[0]))
            if _READ_ONLY.search(line) and not named:
                vague = vague or Blocked("write")  # a later line may name the path
    return vague or hidden


def _show(path: str, home: str) -> str:
    return "~" + path[len(home) :] if home and path.startswith(home + "/") else path


def describe_block(sandbox: Sandbox, blocked: Blocked, home: str = "") -> str:
    """One line for the tool result: what was blocked, and what the user can change."""
    policy = sandbox.policy
    if blocked.kind == "network":
        return (
            "[sandbox: network blocked — commands run without network (sandbox.network: "
            "off); only the user can allow it]"
        )
    if blocked.kind == "hidden":
        return (
            f"[sandbox: {_show(blocked.path, home)} is hidden from commands (secrets, "
            "hermes' own files), or holds what is]"
        )
    where = f": {_show(blocked.path, home)}" if blocked.path else ""
    target = Path(blocked.path)
    if blocked.path and any(p == target or p in target.parents for p in policy.protected):
        return (
            f"[sandbox: write blocked{where} — git hooks and config and .hermes stay "
            "read-only in the sandbox (git would run them later, unconfined)]"
        )
    if policy.mode == "read-only":
        return f"[sandbox: write blocked{where} — sandbox.mode is read-only]"
    return (
        f"[sandbox: write outside the workspace blocked{where} — only the workspace and "
        "a private /tmp are writable (sandbox.writable_roots adds more); only the user "
        "can allow it]"
    )
