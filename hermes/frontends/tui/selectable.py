"""A rich renderable (rendered Markdown, a coloured diff, a code block) as text you can
select with the mouse.

Textual selects text only in widgets whose content is text (``Content``): a ``Static``
holding rich Markdown can be seen but not selected. :class:`SelectableRich` renders the
renderable once per width into styled lines, keeps them as ``Content`` (selection and
copy work, and a search highlights its matches), and renders again only when the width
changes.
"""

from __future__ import annotations

import re

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

HIGHLIGHT = Style(reverse=True, bold=True)


def rendered_text(renderable: RenderableType, width: int, options_source: Widget) -> Text:
    """``renderable`` laid out ``width`` cells wide, as one styled ``Text`` of lines."""
    app = options_source.app
    console = app.console
    options = app.console_options.update(highlight=False, width=width, height=None)
    options = options.update_width(width)
    lines = Segment.split_and_crop_lines(
        console.render(renderable, options), width, include_new_lines=False, pad=False
    )
    text = Text(no_wrap=True, overflow="crop", end="")
    first = True
    for line in lines:
        if not first:
            text.append("\n")
        first = False
        for segment in line:
            if not segment.control:
                text.append(segment.text, segment.style)
    return text


def highlight(text: Text, query: str) -> Text:
    """A copy of ``text`` with every case-insensitive match of ``query`` highlighted."""
    if not query:
        return text
    out = text.copy()
    out.highlight_regex(re.compile(re.escape(query), re.IGNORECASE), HIGHLIGHT)
    return out


class SelectableRich(Widget):
    """Shows ``renderable`` as selectable text; ``query`` highlights search matches."""

    DEFAULT_CSS = """
    SelectableRich {
        height: auto;
    }
    """

    def __init__(
        self,
        renderable: RenderableType,
        *,
        query: str = "",
        classes: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(classes=classes, id=id)
        self._renderable = renderable
        self._query = query
        self._width = -1
        self._text = Text()
        self._content: Content | None = None

    @property
    def renderable(self) -> RenderableType:
        """What is shown."""
        return self._renderable

    def update(self, renderable: RenderableType) -> None:
        """Show ``renderable`` instead."""
        self._renderable = renderable
        self._width = -1
        self._content = None
        self.refresh(layout=True)

    def set_query(self, query: str) -> None:
        """Highlight the matches of ``query`` ("" clears)."""
        if query != self._query:
            self._query = query
            self._content = None
            self.refresh()

    def _text_at(self, width: int) -> Text:
        width = max(1, width)
        if width != self._width:
            self._text = rendered_text(self._renderable, width, self)
            self._width = width
            self._content = None
        return self._text

    @property
    def plain(self) -> str:
        """The text as laid out now (for tests and copying)."""
        return self._text_at(self.content_size.width or 80).plain

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        text = self._text_at(width)
        return text.plain.count("\n") + 1 if text.plain else 0

    def render(self) -> Content:
        if self._content is None or self._width != max(1, self.content_size.width):
            text = highlight(self._text_at(self.content_size.width), self._query)
            self._content = Content.from_rich_text(text, self.app.console)
        return self._content
