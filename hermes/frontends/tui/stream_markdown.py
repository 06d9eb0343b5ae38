"""The Markdown widget a reply streams into (imported with the first streamed reply).

Textual's ``Markdown`` with two changes that keep each streamed piece cheap:

- a code block that names no language is shown as plain text, as the final reply shows
  it, instead of Textual guessing the language with Pygments on every update of the
  block (20-130 ms each: the screen stalls while a long unnamed block streams);
- :meth:`StreamMarkdown.restart` replaces the document with an appended parse, so the
  next append re-parses from the last block, not from the last line (``update`` starts
  from the last line: a block spanning lines would lose its head).

It counts its parses (``appends``), so tests can tell how much work streaming does
without timing it.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock, MarkdownFence


class PlainUnnamedFence(MarkdownFence):
    """A code block: highlighted in its named language, plain text when it names none."""

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        """Highlight ``code``; no language is plain text, never a guess."""
        return super().highlight(code, language or "text", ansi=ansi, dark=dark)


class StreamMarkdown(Markdown):
    """A Markdown document that grows at its end."""

    BLOCKS: dict[str, type[MarkdownBlock]] = {
        **Markdown.BLOCKS,
        "fence": PlainUnnamedFence,
        "code_block": PlainUnnamedFence,
    }

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(None, classes=classes)
        self.appends = 0

    async def add(self, text: str) -> None:
        """Append ``text`` (one parse of the document's last block and what follows)."""
        if text:
            self.appends += 1
            await self.append(text)

    async def restart(self, text: str) -> None:
        """Show ``text`` instead of the document so far."""
        await self.update("")
        await self.add(text)
