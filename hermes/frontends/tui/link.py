"""The app's hold on a session: opening it, running its event stream, leaving it.

The first session may be opened after the screen is drawn (the engine and its tools
take a few hundred milliseconds to import), so the input is live at once; what the user
sends meanwhile waits here. ``/new`` and ``/resume`` switch sessions through here too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from hermes import protocol as p
from hermes.engine.startup import Setup, StartupError
from hermes.frontends.common.format import preload_markdown
from hermes.frontends.common.sessions import Launcher, NotReady, discard_if_empty

if TYPE_CHECKING:
    from textual.worker import Worker

    from hermes.engine.engine import Engine


def _preload() -> None:
    """Import what the first replies need (Markdown parsing, highlighting) while the
    screen waits anyway, instead of in the middle of painting them."""
    from textual.widgets import Markdown  # noqa: F401

    preload_markdown()


class LinkOwner(Protocol):
    """What the link needs from the app that owns it."""

    def say(self, text: str, level: str = "info") -> None:
        """Show a notice."""
        ...

    async def handle_event(self, event: p.Event) -> None:
        """Show one engine event."""
        ...

    async def session_opened(self) -> None:
        """The first session is open."""
        ...

    def run_worker(
        self, work: Coroutine[Any, Any, None], *, group: str, exclusive: bool
    ) -> Worker[None]:
        """Run ``work`` as a worker of the app."""
        ...


class EngineLink:
    """Which session is open, and the worker that feeds its events to the app."""

    def __init__(self, app: LinkOwner, setup: Setup | None, launcher: Launcher | None) -> None:
        self.app = app
        self._setup = setup
        self.launcher = launcher
        self.closing = False
        self.failed: StartupError | None = None
        self._consumer: Worker[None] | None = None

    @property
    def ready(self) -> bool:
        """Whether the session is open."""
        return self._setup is not None

    @property
    def setup(self) -> Setup:
        """The open session (NotReady while it is being opened)."""
        if self._setup is None:
            raise NotReady("hermes is still starting")
        return self._setup

    @property
    def engine(self) -> Engine:
        """The open session's engine."""
        return self.setup.engine

    @property
    def busy(self) -> bool:
        """Whether a turn is running."""
        return self._setup is not None and self._setup.engine.busy

    async def submit(self, op: p.Op) -> None:
        """Hand the engine an op (nothing happens before the session is open)."""
        if self._setup is not None:
            await self._setup.engine.submit(op)

    # ------------------------------------------------------------------ lifecycle

    async def open_first(self) -> None:
        """Open the session the flags name, off the UI loop; then start it."""
        assert self.launcher is not None
        try:
            setup = await asyncio.to_thread(self.launcher.first)
            await asyncio.to_thread(_preload)
        except StartupError as exc:
            self.failed = exc
            self.app.say(f"{exc} (press Ctrl+C twice to quit)", "error")
            return
        if self.closing:  # the user left while it was loading
            await asyncio.to_thread(discard_if_empty, setup)
            return
        self._setup = setup
        self.start()
        await self.app.session_opened()

    def start(self) -> None:
        """Run the current engine's event stream as a worker."""
        self._consumer = self.app.run_worker(
            self._consume(self.engine), group="engine", exclusive=True
        )

    async def _consume(self, engine: Engine) -> None:
        app = self.app
        try:
            await engine.start()
            async for event in engine.events():
                try:
                    await app.handle_event(event)
                except Exception as exc:  # a display bug must not take the session down
                    app.say(f"could not show an event: {type(exc).__name__}: {exc}", "error")
        except Exception as exc:
            app.say(f"the session stopped: {type(exc).__name__}: {exc}", "error")

    async def stop(self) -> None:
        """Shut the engine down and close (or discard, when empty) its session."""
        setup = self._setup
        if setup is None:
            return
        try:
            await asyncio.wait_for(setup.engine.submit(p.Shutdown()), 10)
        except Exception as exc:  # a stuck tool must not keep the user from leaving
            self.app.say(f"shutting the session down failed: {exc}", "error")
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                await asyncio.wait_for(consumer.wait(), 5)
            except Exception:
                consumer.cancel()
        await asyncio.to_thread(discard_if_empty, setup)

    async def switch(self, resume: str | None) -> bool:
        """Leave this session for a new one (``None``) or session ``resume``."""
        if self.launcher is None:
            self.app.say("switching sessions is not available here", "warning")
            return False
        try:
            setup = await asyncio.to_thread(self.launcher.open, resume)
        except StartupError as exc:
            self.app.say(str(exc), "error")
            return False
        await self.stop()
        self._setup = setup
        self.start()
        return True

    async def close_quietly(self) -> None:
        """On any way out: end the session without touching the (gone) screen."""
        self.closing = True
        setup, self._setup = self._setup, None
        if setup is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(setup.engine.submit(p.Shutdown()), 5)
        await asyncio.to_thread(discard_if_empty, setup)
