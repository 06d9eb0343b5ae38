"""Copying to the system clipboard from a terminal, and what ``/copy`` copies.

The terminal does the copying: OSC 52 (``ESC ] 52 ; c ; base64 BEL``) works locally,
over SSH and in most terminals. tmux and GNU screen swallow it unless it is wrapped for
them (a DCS passthrough), so inside them the wrapped form is written too, and tmux is
also handed the text as its paste buffer. No textual here.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Mapping, Sequence

from hermes.frontends.common.transcript import AssistantEntry, Entry

_FENCE_RE = re.compile(r"^( {0,3})(`{3,}|~{3,})([^\n]*)\n(.*?)^\1\2[ \t]*$", re.M | re.S)


def osc52(text: str) -> str:
    """The escape sequence that puts ``text`` on the clipboard."""
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{data}\a"


def wrapped_osc52(text: str, env: Mapping[str, str] | None = None) -> str:
    """OSC 52 as tmux (``$TMUX``) or screen (``$STY``) passes it on; "" outside them."""
    env = os.environ if env is None else env
    seq = osc52(text)
    if env.get("TMUX"):
        return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    if env.get("STY"):
        return "\x1bP" + seq + "\x1b\\"
    return ""


def tmux_buffer(text: str, env: Mapping[str, str] | None = None) -> bool:
    """Inside tmux, make ``text`` its paste buffer (and, with ``-w``, the clipboard tmux
    forwards); blocking, so call it off the UI loop. False outside tmux or on failure."""
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return False
    for flags in (["-w"], []):
        try:
            done = subprocess.run(
                ["tmux", "load-buffer", *flags, "-"],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=2,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        if done.returncode == 0:
            return True
    return False


def clean_selection(text: str) -> str:
    """Selected text as it should be pasted: no padding spaces at line ends."""
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def last_answer(entries: Sequence[Entry]) -> str | None:
    """The text of the latest reply that has any (``/copy``)."""
    for entry in reversed(entries):
        if isinstance(entry, AssistantEntry) and entry.text.strip() and not entry.failed:
            return entry.text
    return None


def code_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of ``markdown``, in order, without their fences."""
    return [m.group(4).rstrip("\n") for m in _FENCE_RE.finditer(markdown)]


def last_code_block(entries: Sequence[Entry]) -> str | None:
    """The last code block of the latest reply that has one (``/copy code``)."""
    for entry in reversed(entries):
        if isinstance(entry, AssistantEntry) and not entry.failed:
            blocks = code_blocks(entry.text)
            if blocks:
                return blocks[-1]
    return None


def copy_command(entries: Sequence[Entry], arg: str) -> tuple[str | None, str]:
    """What ``/copy [code]`` copies and what to say: ``(text or None, message)``."""
    what = arg.strip().lower()
    if what in ("", "answer", "last"):
        text = last_answer(entries)
        if text is None:
            return None, "nothing to copy yet: no answer in this session"
        return text, f"copied the last answer ({_size(text)})"
    if what == "code":
        text = last_code_block(entries)
        if text is None:
            return None, "no code block in the answers of this session"
        return text, f"copied the last code block ({_size(text)})"
    return None, "usage: /copy (the last answer) or /copy code (its last code block)"


def _size(text: str) -> str:
    lines = len(text.splitlines()) or 1
    return f"{lines} line{'s' if lines != 1 else ''}, {len(text):,} characters"
