"""Copying through the terminal, and what /copy takes."""

from __future__ import annotations

import base64

from hermes.frontends.common.clipboard import (
    clean_selection,
    code_blocks,
    copy_command,
    last_code_block,
    osc52,
    wrapped_osc52,
)
from hermes.frontends.common.transcript import AssistantEntry, UserEntry


def test_osc52_and_its_tmux_and_screen_forms() -> None:
    data = base64.b64encode("héllo".encode()).decode()
    assert osc52("héllo") == f"\x1b]52;c;{data}\a"
    assert wrapped_osc52("héllo", {}) == ""
    assert wrapped_osc52("héllo", {"TMUX": "/tmp/t,1,0"}) == (
        f"\x1bPtmux;\x1b\x1b]52;c;{data}\a\x1b\\"
    )
    assert wrapped_osc52("héllo", {"STY": "1.pts"}) == f"\x1bP\x1b]52;c;{data}\a\x1b\\"


def test_a_selection_loses_its_padding() -> None:
    assert clean_selection("\ndef f():   \n    return 1   \n\n") == "def f():\n    return 1"


def test_code_blocks_and_the_last_one() -> None:
    text = "a\n```python\nx = 1\n```\nb\n~~~\ny = 2\n~~~\n"
    assert code_blocks(text) == ["x = 1", "y = 2"]
    entries = [AssistantEntry(text=text), UserEntry(text="```\nnot this\n```")]
    assert last_code_block(entries) == "y = 2"


def test_copy_command() -> None:
    entries = [UserEntry(text="q"), AssistantEntry(text="The answer.\n")]
    assert copy_command(entries, "") == (
        "The answer.\n",
        "copied the last answer (1 line, 12 characters)",
    )
    assert copy_command(entries, "code") == (None, "no code block in the answers of this session")
    assert copy_command([], "") == (None, "nothing to copy yet: no answer in this session")
    assert copy_command(entries, "all")[0] is None
