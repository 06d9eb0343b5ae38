"""SIGTERM, SIGHUP and SIGQUIT, handled like an interrupt by every front end.

The default action of these signals ends hermes at once: a running command's process
group lives on and its call stays ``running`` in the database. Each front end instead
turns them into what Esc or Ctrl+C would do: interrupt the turn (the command's process
group gets SIGINT, SIGTERM, then SIGKILL and the call's status is recorded), shut the
session down, and exit with ``128 + signal``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

_Handler = Callable[[int, FrameType | None], Any] | int | None


def exit_code(signum: int) -> int:
    """The exit code of a process stopped by ``signum``, as a shell reports it."""
    return 128 + signum


class SignalStop:
    """While installed, the stop signals call ``on_signal(signum)`` on the event loop.

    Only the first signal is passed on (the stop is already under way); ``received``
    keeps it. Installing is a no-op where the loop cannot take signals (not the main
    thread, or no such signal on this platform), so callers need no special case.
    """

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self._on_signal = on_signal
        self.received: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[signal.Signals, _Handler] = {}

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> SignalStop:
        """Take the stop signals on ``loop`` (the running loop by default)."""
        loop = loop or asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            try:
                previous = signal.getsignal(sig)
                loop.add_signal_handler(sig, self._handle, int(sig))
            except (ValueError, RuntimeError, NotImplementedError, OSError):
                continue  # not the main thread, or not on this platform
            self._previous[sig] = previous
        self._loop = loop
        return self

    def uninstall(self) -> None:
        """Give the signals back to whatever handled them before."""
        loop, self._loop = self._loop, None
        for sig, previous in self._previous.items():
            if loop is not None and not loop.is_closed():
                loop.remove_signal_handler(sig)
            if previous is not None:
                signal.signal(sig, previous)
        self._previous.clear()

    @property
    def exit_code(self) -> int | None:
        """``128 + signal`` once a stop signal arrived, else None."""
        return None if self.received is None else exit_code(self.received)

    def _handle(self, signum: int) -> None:
        if self.received is not None:
            return
        self.received = signum
        self._on_signal(signum)

    def __enter__(self) -> SignalStop:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
