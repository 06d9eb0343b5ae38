"""Run a real hermes process with a pause point, so a kill -9 lands where a test wants.

    python tests/kill_probe.py [--pause POINT] [--interactive] -- HERMES_ARGS...

``--pause dispatch``: block forever when the first call of a batch is about to be claimed
(marked running), i.e. after the assistant message with the calls was committed and before any
tool is dispatched. ``--pause result:ID``: block forever instead of committing the result
of call ID (the tool ran; the other calls of the batch go on). On reaching the point the
probe writes the file named by ``$KILL_PROBE_MARKER`` and never returns: the test sees
the marker, then kills the process group.

``--pause hold-claim``: once a call is claimed (its start committed), write the marker
and wait until ``$KILL_PROBE_MARKER.go`` exists, then run it: another process can try to
take the same call meanwhile.

``--interactive``: a minimal interactive front end for the real engine (approvals are
asked, not decided by policy): each event is printed as one JSON line on stdout, and
each stdin line is an op as JSON (``hermes.protocol.from_json``). Without it the probe
runs ``hermes.cli.main.main`` unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.messages import Message
from hermes.store.sessions import CallState, Store, StoredMessage


def _reached(what: str) -> None:
    marker = os.environ.get("KILL_PROBE_MARKER")
    if marker:
        tmp = Path(marker + ".tmp")
        tmp.write_text(what)
        tmp.replace(marker)
    while True:  # wait for the kill
        time.sleep(3600)


def _hold(what: str) -> None:
    """Like :func:`_reached`, but go on once the file ``$KILL_PROBE_MARKER.go`` exists."""
    marker = os.environ["KILL_PROBE_MARKER"]
    tmp = Path(marker + ".tmp")
    tmp.write_text(what)
    tmp.replace(marker)
    go = Path(marker + ".go")
    while not go.exists():
        time.sleep(0.01)


def install(point: str) -> None:
    """Patch the store so the process blocks at ``point``."""
    if point == "dispatch":
        original_claim = Store.claim_call

        def claim_call(
            self: Store, session_id: str, call_id: str, owner: str, status: str = "running"
        ) -> CallState | None:
            if status == "running":
                _reached(f"dispatch {call_id}")
            return original_claim(self, session_id, call_id, owner, status)

        Store.claim_call = claim_call  # type: ignore[method-assign]
    elif point == "hold-claim":
        original_claim = Store.claim_call

        def claim_and_hold(
            self: Store, session_id: str, call_id: str, owner: str, status: str = "running"
        ) -> CallState | None:
            holder = original_claim(self, session_id, call_id, owner, status)
            if holder is None and status == "running":
                _hold(f"claimed {call_id}")
            return holder

        Store.claim_call = claim_and_hold  # type: ignore[method-assign]
    elif point.startswith("result:"):
        call_id = point.removeprefix("result:")
        original_append = Store.append_message

        def append_message(
            self: Store, session_id: str, message: Message, **flags: Any
        ) -> StoredMessage:
            if message.role == "tool" and message.tool_call_id == call_id:
                _reached(f"result {call_id}")
            return original_append(self, session_id, message, **flags)

        Store.append_message = append_message  # type: ignore[method-assign]
    else:
        raise SystemExit(f"kill_probe: unknown pause point {point!r}")


async def drive(argv: list[str]) -> int:
    """The interactive front end: events out as JSON lines, ops in as JSON lines."""
    from hermes.cli.main import build_parser
    from hermes.engine.startup import StartupError, prepare_session

    args = build_parser().parse_args(argv)
    try:
        setup = prepare_session(args, interactive=True)
    except StartupError as exc:
        print(f"hermes: error: {exc}", file=sys.stderr)
        return exc.exit_code
    engine = setup.engine
    loop = asyncio.get_running_loop()
    ops: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(ops.put_nowait, line)
        loop.call_soon_threadsafe(ops.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()

    async def feed() -> None:
        while (line := await ops.get()) is not None:
            if line.strip():
                await engine.submit(p.from_json(line))  # type: ignore[arg-type]
        await engine.submit(p.Shutdown())

    feeder = asyncio.create_task(feed())
    await engine.start()
    async for event in engine.events():
        sys.stdout.write(p.to_json(event) + "\n")
        sys.stdout.flush()
    feeder.cancel()
    setup.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="kill_probe")
    parser.add_argument("--pause", action="append", default=[])
    parser.add_argument("--interactive", action="store_true")
    parser.add_argument("hermes_args", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    argv = opts.hermes_args[1:] if opts.hermes_args[:1] == ["--"] else opts.hermes_args
    for point in opts.pause:
        install(point)
    if opts.interactive:
        return asyncio.run(drive(argv))
    from hermes.cli.main import main as hermes_main

    return hermes_main(argv)


if __name__ == "__main__":
    sys.exit(main())
