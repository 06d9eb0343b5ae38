"""terminal: run a shell command in the workspace, non-interactively, with a time limit.

The command runs as ``bash -c`` in its own session (so its whole process group can be
killed), stdin is ``/dev/null``, stdout and stderr are merged and streamed to
``ctx.on_output`` as they arrive. What the model gets is capped (head + tail; the full
output goes to a file). On timeout or interrupt the group gets SIGINT, then SIGTERM,
then SIGKILL.
"""

from __future__ import annotations

import codecs
import math
import os
import select
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hermes.config import ToolLimits
from hermes.execution.output import OutputCapture, display_path, is_mostly_binary
from hermes.execution.spec import ToolContext, ToolResult, ToolSpec
from hermes.redact import child_environment
from hermes.sandbox.backends import Sandbox, SandboxError, open_sandbox
from hermes.sandbox.blocked import describe_block, find_block

POLL_SECONDS = 0.03
PIPE_GRACE_SECONDS = 0.5
"""After the shell exits, how long background processes may keep the output pipe open."""
KILL_STEPS: tuple[tuple[signal.Signals, float], ...] = (
    (signal.SIGINT, 0.5),
    (signal.SIGTERM, 1.0),
    (signal.SIGKILL, 1.0),
)
LIVE_MAX_BYTES = 2_000_000
"""Live streaming to ``on_output`` stops after this much; the result still has head+tail."""
ENV_OVERRIDES = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "PYTHONUNBUFFERED": "1",
}
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130


def command_environment(passthrough: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment of a command: hermes' own, without its credentials (unless passed
    through by name, ``tools.env_passthrough``), plus :data:`ENV_OVERRIDES`."""
    return {**child_environment(os.environ, passthrough), **ENV_OVERRIDES}


def _fail(message: str) -> ToolResult:
    return ToolResult(ok=False, content=message)


def shell_argv(command: str) -> list[str]:
    """``bash -c command``, or ``/bin/sh -c`` when bash is not installed."""
    bash = shutil.which("bash")
    return [bash or "/bin/sh", "-c", command]


def resolve_timeout(value: Any, limits: ToolLimits) -> tuple[float, str | None]:
    """The timeout to use and, when the request was changed, a note saying so."""
    default, maximum = limits.terminal_timeout, limits.terminal_max_timeout
    if value is None:
        return default, None
    try:
        if isinstance(value, bool):
            raise ValueError
        wanted = float(value)
    except (TypeError, ValueError):
        return default, f"[invalid timeout {value!r}; using {default:g} s]"
    if not math.isfinite(wanted) or wanted <= 0:
        return default, f"[invalid timeout {value!r}; using {default:g} s]"
    if wanted > maximum:
        return (
            maximum,
            f"[timeout {wanted:g} s exceeds the {maximum:g} s maximum; using {maximum:g} s]",
        )
    return wanted, None


class _Reader(threading.Thread):
    """Drains the command's output pipe into an :class:`OutputCapture`, streaming it live."""

    def __init__(
        self, fd: int, capture: OutputCapture, on_output: Callable[[str], None] | None
    ) -> None:
        super().__init__(name="hermes-terminal-reader", daemon=True)
        self.fd = fd
        self.capture = capture
        self.on_output = on_output
        self.stop = threading.Event()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._live = 0
        self._binary_noted = False

    def run(self) -> None:
        poller = select.poll()  # not select.select: fds above 1024 are fine
        poller.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while not self.stop.is_set():
            if not poller.poll(50):
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            self.capture.write(data)
            self._stream(data)
        self._emit(self._decoder.decode(b"", final=True))

    def _stream(self, data: bytes) -> None:
        if self.on_output is None or self._live > LIVE_MAX_BYTES:
            return
        if is_mostly_binary(data):
            if not self._binary_noted:
                self._binary_noted = True
                self._emit("[binary output not shown]\n")
            return
        self._live += len(data)
        self._emit(self._decoder.decode(data))
        if self._live > LIVE_MAX_BYTES:
            self._emit("\n[... live output stopped here; the result shows head and tail ...]\n")

    def _emit(self, text: str) -> None:
        if not text or self.on_output is None:
            return
        try:
            self.on_output(text)
        except Exception:
            self.on_output = None  # a broken sink must not stall the pipe


def _group_has_live_members(pgid: int) -> bool:
    """Whether any non-zombie process is still in the group (zombies may linger unreaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


def _group_members(pgid: int) -> list[int]:
    """The live (non-zombie) processes of group ``pgid``."""
    if not _group_has_live_members(pgid):
        return []
    found = []
    for pid, fields in _proc_stats():
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            found.append(pid)
    return found


def _proc_stats() -> list[tuple[int, list[bytes]]]:
    """``(pid, fields after the command name)`` of every process in /proc."""
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                out.append((int(entry), f.read().rsplit(b")", 1)[1].split()))
        except (OSError, IndexError):
            continue
    return out


def pipe_holders(fd: int) -> list[str]:
    """Other processes holding the pipe behind ``fd`` open, as ``pid N (name)``: after the
    command's group is gone, these left it (``setsid``, a daemon) and may still run."""
    try:
        target = f"pipe:[{os.fstat(fd).st_ino}]"
    except OSError:
        return []
    me = os.getpid()
    found = []
    for pid, _ in _proc_stats():
        if pid == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for name in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{name}") == target:
                    found.append(pid)
                    break
            except OSError:
                continue
    return describe_pids(found)


def describe_pids(pids: list[int]) -> list[str]:
    """``pid N (name)`` for each pid, its command name read from /proc when possible."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
                out.append(f"pid {pid} ({f.read().strip()})")
        except OSError:
            out.append(f"pid {pid}")
    return out


def _leftover_lines(background: bool, survivors: list[str], escaped: list[str]) -> list[str]:
    """What the result says about processes the command left: only what was verified."""
    lines = []
    if background and not survivors:
        lines.append(
            "[background processes of the command that still held the output were stopped; "
            "redirect their output (cmd > file 2>&1 &) to keep them running]"
        )
    if survivors:
        lines.append(
            f"[still alive after SIGKILL to the command's process group, may still be "
            f"running: {', '.join(survivors)}]"
        )
    if escaped:
        lines.append(
            "[a process the command started outside its process group (e.g. with setsid) "
            f"still holds the output and may still be running: {', '.join(escaped)}; "
            "hermes could not stop it and stopped reading its output]"
        )
    return lines


def kill_group(proc: subprocess.Popen[bytes], pgid: int) -> None:
    """SIGINT, then SIGTERM, then SIGKILL to the process group, stopping once it is gone."""
    for sig, wait in KILL_STEPS:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            break
        end = time.monotonic() + wait
        while time.monotonic() < end:
            proc.poll()
            if not _group_has_live_members(pgid):
                return
            time.sleep(0.02)
    proc.poll()


def _status_line(
    reason: str | None, returncode: int, elapsed: float, timeout: float, killed: bool = True
) -> tuple[str, int]:
    group = "process group killed" if killed else "process group signalled, not all of it gone"
    if reason == "timeout":
        return f"[timed out after {timeout:g} s; {group}]", EXIT_TIMEOUT
    if reason == "interrupted":
        return f"[interrupted by user after {elapsed:.1f} s; {group}]", EXIT_INTERRUPTED
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"[killed by {name}; exit code {128 - returncode}]", 128 - returncode
    return f"[exit code {returncode}]", returncode


def terminal(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    """Run ``command`` with ``bash -c``; output merged, capped, exit code reported."""
    command = args.get("command")
    if not isinstance(command, str) or not command.strip():
        return _fail("command is required")
    timeout, note = resolve_timeout(args.get("timeout"), ctx.limits)
    raw_workdir = args.get("workdir")
    cwd: Path = ctx.workspace
    if isinstance(raw_workdir, str) and raw_workdir.strip():
        cwd = ctx.resolve(raw_workdir)
        if not cwd.is_dir():
            what = "is not a directory" if cwd.exists() else "does not exist"
            return _fail(f"workdir {display_path(ctx, cwd)} {what}")
    if ctx.cancel.is_set():
        return _fail("[interrupted by user before the command started]")
    try:
        sandbox = _sandbox(ctx)
    except SandboxError as exc:
        return _fail(str(exc))
    argv = shell_argv(command)
    if sandbox is not None:
        argv = sandbox.command(argv, cwd)
    capture = OutputCapture(
        ctx.limits.max_output_bytes,
        ctx.output_dir,
        ctx.call_id or uuid.uuid4().hex,
        limits=ctx.limits,
    )
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=command_environment(ctx.limits.env_passthrough),
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        return _fail(f"could not start the shell: {exc}")
    assert proc.stdout is not None
    reader = _Reader(proc.stdout.fileno(), capture, ctx.on_output)
    reader.start()
    started = time.monotonic()
    reason: str | None = None
    background = False
    escaped: list[str] = []  # outside the group, still holding the output: maybe running
    try:
        while not _exited(proc, POLL_SECONDS):  # noticed at once, not at the next poll
            if ctx.cancel.is_set():
                reason = "interrupted"
                break
            if time.monotonic() - started >= timeout:
                reason = "timeout"
                break
        if reason is not None:
            kill_group(proc, proc.pid)
        else:
            reader.join(PIPE_GRACE_SECONDS)
            if reader.is_alive():
                background = _group_has_live_members(proc.pid)  # else only escaped ones
                kill_group(proc, proc.pid)
    finally:
        reader.join(2.0)
        if reader.is_alive():  # something outside the group still holds the pipe
            escaped = pipe_holders(proc.stdout.fileno())
            reader.stop.set()
            reader.join(1.0)
        # Said only when verified: a killed group may keep an unkillable member.
        survivors = describe_pids(_group_members(proc.pid)) if reason or background else []
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        capture.close()
    elapsed = time.monotonic() - started
    text = capture.render().rstrip("\n")
    status, exit_code = _status_line(reason, proc.returncode, elapsed, timeout, not survivors)
    parts = [note] if note else []
    parts.append(text or "(no output)")
    parts.extend(_leftover_lines(background, survivors, escaped))
    blocked = ""
    if sandbox is not None:
        line, blocked = _sandbox_line(sandbox, text, exit_code)
        parts.append(line)
    parts.append(status)
    return ToolResult(
        ok=reason is None and exit_code == 0,
        content="\n".join(parts),
        exit_code=exit_code,
        full_output_path=str(capture.path) if capture.path else None,
        sandbox_blocked=blocked,
    )


def _exited(proc: subprocess.Popen[bytes], within: float) -> bool:
    """Whether ``proc`` exits within ``within`` seconds, woken by the exit itself (a pidfd)
    rather than a timer, so a quick command costs no polling delay."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfds here, or already reaped
        try:
            proc.wait(within)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.poll(within * 1000)
    finally:
        os.close(pidfd)
    return proc.poll() is not None


def _sandbox(ctx: ToolContext) -> Sandbox | None:
    """The sandbox the command runs in (None: the caller asked for none)."""
    if ctx.sandbox is None:
        return None
    return open_sandbox(ctx.sandbox, ctx.workspace)


def _sandbox_line(sandbox: Sandbox, output: str, exit_code: int) -> tuple[str, str]:
    """The result's sandbox line, and what was blocked ("network", "write" or "")."""
    found = find_block(sandbox, output) if exit_code != 0 else None
    if found is None:
        return f"[{sandbox.summary()}]", ""
    line = describe_block(sandbox, found, os.environ.get("HOME", ""))
    return line, found.kind if found.kind != "hidden" else ""


TERMINAL = ToolSpec(
    name="terminal",
    description=(
        "Run a non-interactive shell command (bash -c) in the workspace; returns merged "
        "stdout/stderr and the exit code."
    ),
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string"},
            "timeout": {"type": "number", "description": "seconds"},
            "workdir": {"type": "string"},
        },
        "required": ["command"],
        "additionalProperties": False,
    },
    tool_class="exec",
    handler=terminal,
)
