"""The folder-trust question in line mode, asked before the session's engine starts.

It prints exactly what the workspace's ``.hermes/config.yaml`` would change, then waits
for one key: ``y`` trusts the folder for this content, ``n`` or ``Esc`` (or Ctrl+C,
Ctrl+D) runs without those settings; Enter never trusts, and other keys do nothing. A
``y`` typed ahead before the question was shown does not count.
"""

from __future__ import annotations

import time

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.formatted_text import HTML
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.output import Output
from rich.console import Console
from rich.text import Text

from hermes.trust.workspace import TrustQuestion

ENTER_HINT = "Enter never trusts: press y to trust the folder, n or Esc to run without."


def show_question(console: Console, question: TrustQuestion) -> None:
    """Print the question: what would change, and the keys."""
    console.print(Text(question.headline(), style="bold yellow"))
    for line in question.lines():
        console.print(Text(f"  • {line}"))
    console.print(Text(f"Folder: {question.folder}", style="dim"))
    console.print(
        Text(
            "y trusts this folder (until these files change) · n or Esc runs without "
            "these settings · Enter does nothing",
            style="dim",
        )
    )


async def ask_trust(
    question: TrustQuestion,
    console: Console,
    *,
    input: Input | None = None,
    output: Output | None = None,
    arm_seconds: float = 0.25,
) -> bool:
    """Show the question and wait for ``y`` (True) or ``n``/Esc (False)."""
    show_question(console, question)
    armed_at = time.monotonic() + arm_seconds
    kb = KeyBindings()

    @kb.add("y", eager=True)
    def _yes(event: KeyPressEvent) -> None:
        if time.monotonic() >= armed_at:  # not typed ahead of the question
            event.app.exit(result=True)

    @kb.add("n", eager=True)
    @kb.add("escape", eager=True)
    @kb.add("c-c", eager=True)
    @kb.add("c-d", eager=True)
    def _no(event: KeyPressEvent) -> None:
        event.app.exit(result=False)

    @kb.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        run_in_terminal(lambda: console.print(Text(ENTER_HINT, style="yellow")))

    @kb.add(Keys.Any)
    def _other(event: KeyPressEvent) -> None:
        pass  # nothing is typed into this question

    session: PromptSession[bool] = PromptSession(key_bindings=kb, input=input, output=output)
    message = HTML("<b><style fg='ansiyellow'>trust this folder? [y/n/Esc]</style></b> ")
    return bool(await session.prompt_async(message))
