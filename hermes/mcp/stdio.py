"""The stdio transport for MCP servers, with the process accounted for.

The SDK's own ``stdio_client`` does not expose the server's process, and it kills the
process group only when the server ignores its closed stdin; a server that exits at once
leaves its children running. This transport speaks the same newline-delimited JSON-RPC
(the SDK's message types and session run on top of it) and adds what hermes needs: the
pid, a bounded tail of stderr for ``/mcp``, an event when the server goes away, and a
stop that always ends the whole process group.
"""

from __future__ import annotations

import atexit
import os
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress

import anyio
import anyio.abc
import mcp_types
from mcp.client._transport import TransportStreams
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.message import SessionMessage

from hermes.redact import child_environment

STDERR_TAIL_BYTES = 16_384
_EXIT_GRACE = 1.0  # seconds a server has to exit on its own after stdin closes
_TERM_GRACE = 1.0  # seconds after SIGTERM to the group before SIGKILL
_FLUSH_TIMEOUT = 0.5
_POLL = 0.01
_EXIT_POLL = 0.1

_live_groups: set[int] = set()


def _kill_leftovers() -> None:
    """Last resort at interpreter exit: no server process group outlives hermes."""
    for pgid in list(_live_groups):
        with suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


atexit.register(_kill_leftovers)


class StdioServerProcess:
    """The live process behind one stdio connection: pid, stderr tail and exit."""

    def __init__(self, on_close: Callable[[], None] | None = None) -> None:
        self.pid: int | None = None
        self.returncode: int | None = None
        self.closed_by_server = False  # stdout ended before hermes began to stop it
        self.stopping = False
        self._on_close = on_close
        self._stderr = bytearray()

    def ended(self) -> None:
        """The server's stdout ended or it exited: it died, or is being stopped."""
        if not self.stopping:
            self.closed_by_server = True
        if self._on_close is not None:
            self._on_close()

    def feed_stderr(self, data: bytes) -> None:
        """Keep the last :data:`STDERR_TAIL_BYTES` of what the server wrote to stderr."""
        self._stderr += data
        if len(self._stderr) > STDERR_TAIL_BYTES:
            del self._stderr[: len(self._stderr) - STDERR_TAIL_BYTES]

    def stderr_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines the server wrote to stderr."""
        text = self._stderr.decode("utf-8", errors="replace")
        return "\n".join(text.rstrip().splitlines()[-lines:])


def _parse(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:  # surfaced by the session like the SDK's transport does
        return exc


@asynccontextmanager
async def stdio_transport(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    proc: StdioServerProcess,
    passthrough: Sequence[str] = (),
) -> AsyncIterator[TransportStreams]:
    """Run ``argv`` in a new process group and connect to it over stdin/stdout.

    ``env`` loses hermes' credentials first (:func:`hermes.redact.child_environment`):
    only the variables named in ``passthrough`` may carry one.

    Raises OSError when the program cannot be started. On exit (normal, error or
    cancellation) stdin is closed, the server gets :data:`_EXIT_GRACE` seconds, and then
    its process group is terminated, whether or not the server itself already left.
    """
    process = await anyio.open_process(
        list(argv), env=child_environment(env, passthrough), cwd=cwd, start_new_session=True
    )
    proc.pid = process.pid
    _live_groups.add(process.pid)
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()

    async def stdout_reader() -> None:
        assert process.stdout is not None
        buffer = b""
        try:
            try:
                async for chunk in process.stdout:
                    lines = (buffer + chunk).split(b"\n")
                    buffer = lines.pop()
                    for line in lines:
                        if line.strip():
                            await read_writer.send(_parse(line))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                pass
            # End of stdout, not a cancellation (that is hermes stopping it). Said before
            # the session sees the stream close, so a failed call finds the server gone.
            proc.ended()
        finally:
            await read_writer.aclose()

    async def stderr_reader() -> None:
        assert process.stderr is not None
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            async for chunk in process.stderr:
                proc.feed_stderr(chunk)

    async def exit_watcher() -> None:
        # A child that inherited stdout keeps it open after the server dies: watch the pid.
        while process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(_EXIT_POLL)
        proc.ended()

    async def stdin_writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send((text + "\n").encode("utf-8"))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_writer.aclose()  # the session sees the end instead of hanging
        finally:
            writer_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdout_reader)
        tg.start_soon(stderr_reader)
        tg.start_soon(stdin_writer)
        tg.start_soon(exit_watcher)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                proc.stopping = True
                write_stream.close()
                with anyio.move_on_after(_FLUSH_TIMEOUT):
                    await writer_done.wait()
                read_stream.close()
                await stop_process(process)
                proc.returncode = process.returncode
                for stream in (process.stdout, process.stderr):
                    if stream is not None:
                        with suppress(OSError, anyio.BrokenResourceError):
                            await stream.aclose()
                for s in (read_stream, write_stream, read_writer, write_reader):
                    await s.aclose()
            tg.cancel_scope.cancel()


async def _wait_exit(process: anyio.abc.Process, within: float) -> bool:
    # Polled, not process.wait(): that also waits for the pipes, which a child may hold.
    with anyio.move_on_after(within):
        while process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(_POLL)
    return process.returncode is not None


async def stop_process(process: anyio.abc.Process) -> None:
    """Close stdin, give the server a moment, then end its whole process group."""
    if process.stdin is not None:
        with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
    if not await _wait_exit(process, _EXIT_GRACE):
        await terminate_posix_process_tree(process, _TERM_GRACE)  # SIGTERM, then SIGKILL
        await _wait_exit(process, _TERM_GRACE)
    # Always: children the server started stay in its group after it exits; end them.
    with suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    _live_groups.discard(process.pid)
