"""Choosing a backend and wrapping commands: bubblewrap where it runs, else Landlock,
else none (and then every front end says so).

:func:`open_sandbox` is what the terminal tool and the MCP stdio transport call: a
:class:`Sandbox` (policy + backend) whose :meth:`Sandbox.command` wraps an argv.
:func:`sandbox_status` is what the front ends and ``hermes doctor`` show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from hermes.config import NetworkAccess, SandboxConfig
from hermes.sandbox.policy import SandboxPolicy, build_policy

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt install bubblewrap)"


class SandboxError(Exception):
    """The sandbox asked for cannot be set up; nothing runs (the message says why)."""


class Backend(Protocol):
    """Turns a command into one that runs confined by a policy."""

    name: str

    def command(self, policy: SandboxPolicy, argv: Sequence[str], cwd: Path) -> list[str]:
        """``argv`` wrapped so that it runs under ``policy``, starting in ``cwd``."""
        ...

    def limits(self, policy: SandboxPolicy) -> tuple[str, ...]:
        """What of ``policy`` this backend cannot enforce, for the user to read."""
        ...


class NoSandbox:
    """Runs commands as they are."""

    name = "none"

    def command(self, policy: SandboxPolicy, argv: Sequence[str], cwd: Path) -> list[str]:
        """``argv`` unchanged."""
        del policy, cwd
        return list(argv)

    def limits(self, policy: SandboxPolicy) -> tuple[str, ...]:
        """Everything: nothing is confined."""
        del policy
        return ("nothing is confined",)


def _bubblewrap() -> tuple[Backend | None, str]:
    from hermes.sandbox.bubblewrap import BubblewrapBackend, probe

    found = probe()
    if found.features is None:
        return None, found.reason
    return BubblewrapBackend(found.features), ""


def _landlock() -> tuple[Backend | None, str]:
    from hermes.sandbox.landlock import LandlockBackend, abi

    version = abi()
    if version < 1:
        return None, "this kernel has no Landlock (Linux 5.13+ with Landlock enabled)"
    return LandlockBackend(version), ""


def select_backend(preferred: str = "auto") -> tuple[Backend | None, str]:
    """The backend to use (``auto``: bubblewrap, else Landlock), or None and why not."""
    if preferred == "bubblewrap":
        return _bubblewrap()
    if preferred == "landlock":
        return _landlock()
    backend, bwrap_why = _bubblewrap()
    if backend is not None:
        return backend, ""
    backend, landlock_why = _landlock()
    if backend is not None:
        return backend, ""
    return None, f"{bwrap_why}; {landlock_why}"


@dataclass(frozen=True)
class Sandbox:
    """A policy and the backend enforcing it; ``unavailable`` says why there is none."""

    policy: SandboxPolicy
    backend: Backend
    unavailable: str = ""

    @property
    def confined(self) -> bool:
        """Whether commands run confined at all."""
        return self.policy.enforced and not isinstance(self.backend, NoSandbox)

    def command(self, argv: Sequence[str], cwd: Path) -> list[str]:
        """``argv`` wrapped to run in this sandbox, starting in ``cwd``."""
        return self.backend.command(self.policy, argv, cwd)

    def summary(self) -> str:
        """One line for a tool result: what confined the command."""
        if not self.policy.enforced:
            return "sandbox off"
        if not self.confined:
            return "no sandbox available: the command ran unconfined"
        net = "network on" if self.policy.network == "on" else "network off"
        via = "" if self.backend.name == "bubblewrap" else f" ({self.backend.name})"
        return f"sandbox: {self.policy.mode}, {net}{via}"


def open_sandbox(
    config: SandboxConfig,
    workspace: Path,
    *,
    network: NetworkAccess | None = None,
    environ: Mapping[str, str] | None = None,
) -> Sandbox:
    """The sandbox for commands in ``workspace``. Raises SandboxError when
    ``sandbox.backend`` names a backend that cannot run here (never a silent fallback)."""
    policy = build_policy(config, workspace, network=network, environ=environ)
    if not policy.enforced:
        return Sandbox(policy, NoSandbox())
    backend, why = select_backend(config.backend)
    if backend is not None:
        return Sandbox(policy, backend)
    if config.backend != "auto":
        raise SandboxError(
            f"sandbox.backend is {config.backend}, which cannot run here: {why}. "
            "Set sandbox.backend: auto, or sandbox.mode: off to run commands unconfined."
        )
    return Sandbox(policy, NoSandbox(), why)


Level = Literal["ok", "warn"]


@dataclass(frozen=True)
class SandboxStatus:
    """What the status bar (``label``), the banners and ``hermes doctor`` (``detail``)
    say about the sandbox."""

    label: str  # "sandboxed", "sandboxed +net", "sandbox off", "NO SANDBOX", ...
    detail: str
    confined: bool
    level: Level = "ok"


def sandbox_status(config: SandboxConfig, workspace: Path) -> SandboxStatus:
    """How commands in ``workspace`` will run, in words."""
    if config.mode == "off":
        return SandboxStatus(
            "sandbox off",
            "sandbox off (--no-sandbox or sandbox.mode: off): commands and MCP servers run "
            "with your full permissions",
            False,
            "warn",
        )
    try:
        box = open_sandbox(config, workspace)
    except SandboxError as exc:
        return SandboxStatus("NO SANDBOX", f"{exc} Commands will not run.", False, "warn")
    if not box.confined:
        return SandboxStatus(
            "NO SANDBOX",
            f"no sandbox: {box.unavailable}. Commands and MCP servers run with your full "
            f"permissions; {INSTALL_HINT}",
            False,
            "warn",
        )
    label = "sandboxed" if config.mode == "workspace-write" else "sandboxed read-only"
    if config.network == "on":
        label += " +net"
    backend = box.backend.name
    if backend != "bubblewrap":
        label += f" ({backend})"
    writable = "the workspace" if config.mode == "workspace-write" else "nothing"
    if config.writable_roots and config.mode == "workspace-write":
        writable += " and " + ", ".join(config.writable_roots)
    net = "network on" if config.network == "on" else "no network but its own loopback"
    detail = (
        f"{backend} sandbox, {config.mode}: {writable} writable (and a private /tmp), "
        f"the rest read-only, secrets and hermes' home hidden, {net}"
    )
    limits = box.backend.limits(box.policy)
    if limits:
        detail += f"; limits of {backend}: " + "; ".join(limits) + f" ({INSTALL_HINT})"
    return SandboxStatus(label, detail, True, "warn" if limits else "ok")
