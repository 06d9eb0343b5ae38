"""Text a hook adds to the conversation, as the user message the model reads and the store
keeps (marked synthetic), and back (so a resumed transcript shows it as hook context)."""

from __future__ import annotations

import re

_CONTEXT_RE = re.compile(
    r'\A<hook_context event="([A-Za-z]+)">\n(.*)\n</hook_context>\Z', re.DOTALL
)


def context_message(event: str, text: str) -> str:
    """The message content for ``text`` added by a hook of ``event``."""
    return f'<hook_context event="{event}">\n{text.strip()}\n</hook_context>'


def parse_context_message(content: str) -> tuple[str, str] | None:
    """``(event, text)`` of a :func:`context_message`, or None for any other text."""
    match = _CONTEXT_RE.match(content)
    return (match.group(1), match.group(2)) if match else None
