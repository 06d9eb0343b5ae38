"""A scrollbar for the whole session, not just the mounted window.

The conversation mounts ~20-60 entries of a session that may hold 10,000; its own
scrollbar would say the view is near the top of those few. This one draws where the
view is among all entries (:meth:`Conversation.position`) and jumps there on a click or
a drag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget

TRACK = Style(bgcolor="grey19")
THUMB = Style(bgcolor="grey58")


class SessionScrollbar(Widget):
    """One column: a thumb at ``top`` of the session, ``size`` of it tall."""

    DEFAULT_CSS = """
    SessionScrollbar {
        width: 1;
        height: 1fr;
    }
    """

    def __init__(
        self,
        position: Callable[[], tuple[float, float]],
        jump: Callable[[float], Awaitable[None]],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._position = position
        self._jump = jump
        self._dragging = False
        self._shown: tuple[int, int] = (-1, -1)

    def thumb(self) -> tuple[int, int]:
        """``(first row, rows)`` of the thumb."""
        height = self.size.height
        if height <= 0:
            return 0, 0
        top, size = self._position()
        rows = max(1, min(height, round(size * height)))
        first = min(height - rows, max(0, round(top * height)))
        return first, rows

    def update_position(self) -> None:
        """Redraw if the thumb moved."""
        thumb = self.thumb()
        if thumb != self._shown:
            self._shown = thumb
            self.refresh()

    def render_line(self, y: int) -> Strip:
        first, rows = self._shown if self._shown[1] > 0 else self.thumb()
        style = THUMB if first <= y < first + rows else TRACK
        return Strip([Segment(" ", style)], 1)

    def _go(self, y: int) -> None:
        height = max(1, self.size.height)
        # A worker: showing an entry waits for the conversation's layout.
        self.run_worker(self._jump(min(1.0, max(0.0, y / height))), group="jump", exclusive=True)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._dragging = True
        self.capture_mouse()
        self._go(event.y)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self._go(event.y)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._dragging = False
        self.release_mouse()
