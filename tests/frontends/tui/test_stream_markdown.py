"""The Markdown a reply streams into: appended to, never guessing a code block's language."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets.markdown import MarkdownBlock, MarkdownFence

from hermes.frontends.tui.stream_markdown import StreamMarkdown


class Holder(App[None]):
    def compose(self) -> ComposeResult:
        yield StreamMarkdown()


def blocks_of(md: StreamMarkdown) -> list[tuple[str, str]]:
    """Each block: a code block's code, else its kind and source."""
    out = []
    for child in md.children:
        if isinstance(child, MarkdownFence):
            out.append(("fence", child.code))
        elif isinstance(child, MarkdownBlock):
            out.append((type(child).__name__, (child.source or "").strip()))
    return out


async def test_a_code_block_without_a_language_is_plain_text_not_a_guess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import textual.highlight

    def no_guessing(code: str, path: str | None) -> str:
        raise AssertionError("guessed a language")

    monkeypatch.setattr(textual.highlight, "guess_language", no_guessing)
    async with Holder().run_test() as pilot:
        md = pilot.app.query_one(StreamMarkdown)
        await md.add("Run:\n\n```\nmake test\n")
        await md.add("make lint\n```\n")
        await pilot.pause()
        assert blocks_of(md) == [("MarkdownParagraph", "Run:"), ("fence", "make test\nmake lint")]
        assert md.appends == 2


async def test_a_restart_goes_on_from_the_last_block_not_the_last_line() -> None:
    async with Holder().run_test() as pilot:
        md = pilot.app.query_one(StreamMarkdown)
        await md.add("thrown away\n")
        await md.restart("Intro\n\n```python\nline1\nline2\n")
        await md.add("line3\n```\n\nAfter.\n")
        await pilot.pause()
        assert blocks_of(md) == [
            ("MarkdownParagraph", "Intro"),
            ("fence", "line1\nline2\nline3"),
            ("MarkdownParagraph", "After."),
        ]
        assert md.source == "Intro\n\n```python\nline1\nline2\nline3\n```\n\nAfter.\n"
        await md.add("")  # nothing to append: no parse
        assert md.appends == 3
