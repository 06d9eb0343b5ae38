"""Finished Markdown as one rich renderable (no textual here).

A reply that is still streaming is a Textual ``Markdown`` widget fed by
``MarkdownStream``; once it is final it becomes one ``Static`` showing this renderable,
so the thousands of replies in a long session cost one widget each, not dozens.
Headings are left-aligned and code blocks highlighted, like the streaming view.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markdown import Heading, JustifyMethod, MarkdownElement
from rich.markdown import Markdown as RichMarkdown

CODE_THEME = "monokai"


class _LeftHeading(Heading):
    LEVEL_ALIGN: ClassVar[dict[str, JustifyMethod]] = {f"h{n}": "left" for n in range(1, 7)}


class Markdown(RichMarkdown):
    """rich's Markdown with left-aligned headings."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **RichMarkdown.elements,
        "heading_open": _LeftHeading,
    }


def render_markdown(text: str) -> Markdown:
    """``text`` as a renderable: highlighted code, plain links."""
    return Markdown(text, code_theme=CODE_THEME, hyperlinks=False)
