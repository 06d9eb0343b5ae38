"""The inline approval bar, mounted under the call it concerns.

It shows what will run (the whole command, or the diff of an edit), why it asks (the
mode, a rule, a catastrophic pattern), and the keys: ``y`` once, ``a`` always for this
session (with the exact rules it adds), ``n`` deny, ``Esc`` deny and stop the turn.
Enter alone never approves. Only the oldest pending approval takes keys; the others
say they are queued.

Keys typed as text never answer: a key counts only once the bar has been on screen for
the arming delay AND no key was pressed for as long (:class:`KeyGuard`). Until then the
bar does not take the keys (the app leaves them with the input, where they land as
text) and says it waits for a deliberate key; a key that is not an answer, pressed at
an armed bar, goes to the input too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from hermes import protocol as p
from hermes.frontends.common.format import diff_text, key_argument, looks_like_diff, short_rule
from hermes.frontends.common.search import pretty_arguments

PREVIEW_MAX_LINES = 40
_DECISIONS: dict[str, p.ApprovalDecision] = {d: d for d in p.APPROVAL_DECISIONS}
ANSWER_KEYS = ("y", "a", "n")
_EDIT_KEYS = {"backspace": "delete_left", "delete": "delete_right"}


@dataclass
class KeyGuard:
    """When a key may answer an approval: ``arm_seconds`` after the bar began taking keys
    AND ``arm_seconds`` after the last keystroke anywhere (ongoing typing is text).

    ``clock`` is injectable so tests move time by hand.
    """

    clock: Callable[[], float] = time.monotonic
    arm_seconds: float = 0.0
    last_key: float = float("-inf")

    def keystroke(self) -> None:
        """A key was pressed (or text pasted): typing is going on."""
        self.last_key = self.clock()

    def wait(self, shown_at: float) -> float:
        """Seconds until a key may answer a bar active since ``shown_at`` (0: now)."""
        now = self.clock()
        return max(0.0, shown_at + self.arm_seconds - now, self.last_key + self.arm_seconds - now)


class ApprovalBar(Vertical):
    """Asks the user about one call."""

    can_focus = True
    BINDINGS = [
        Binding("y", "answer('once')", "once", show=False),
        Binding("a", "answer('always')", "always", show=False),
        Binding("n", "answer('deny')", "deny", show=False),
        Binding("escape", "answer('abort')", "deny + stop", show=False),
    ]

    active: reactive[bool] = reactive(False)
    position: reactive[int] = reactive(0)

    class Answered(Message):
        """The user answered: the app sends ``ApprovalReply(call_id, decision)``."""

        def __init__(self, call_id: str, decision: p.ApprovalDecision) -> None:
            super().__init__()
            self.call_id = call_id
            self.decision = decision

    class Typed(Message):
        """A key that is not an answer reached the bar: it belongs in the input."""

        def __init__(self, key: str, character: str | None) -> None:
            super().__init__()
            self.key = key
            self.character = character

    def __init__(self, request: p.ApprovalRequested, guard: KeyGuard | None = None) -> None:
        super().__init__(classes="approval")
        self.request = request
        self.guard = guard or KeyGuard()
        self.answered: p.ApprovalDecision | None = None
        self.shown_at = self.guard.clock()
        self._shown_armed: bool | None = None
        self._keys_view = Static(classes="approval-keys")

    def compose(self) -> ComposeResult:
        yield Static(self._body(), classes="approval-body")
        yield self._keys_view

    def _title(self) -> Text:
        r = self.request
        target = key_argument(r.name, r.arguments, 70)
        verb = "run" if r.name == "terminal" else "call"
        if looks_like_diff(r.preview) or r.name in ("write_file", "patch"):
            verb = "change"
        title = Text("Allow ", style="bold")
        title.append(r.name, style="bold yellow")
        title.append(f" to {verb}", style="bold")
        if target and r.name != "terminal":
            title.append(f" {target}", style="bold")
        title.append("?", style="bold")
        return title

    def _body(self) -> RenderableType:
        r = self.request
        if r.name == "exit_plan_mode":  # hermes.engine.plan: the plan, to accept or not
            from rich.markdown import Markdown

            return Group(
                Text("The plan is ready. Accept it and leave plan mode?", style="bold"),
                Markdown(r.preview),
            )
        parts: list[RenderableType] = [self._title()]
        preview = r.preview
        if preview and looks_like_diff(preview):
            parts.append(diff_text(preview, PREVIEW_MAX_LINES))
        elif preview:
            parts.append(Text("$ " + preview, style="bold"))
        elif r.arguments:  # one "name: value" a line, never escaped JSON
            parts.append(Text(pretty_arguments(r.arguments)[:4000], style="dim"))
        if r.catastrophic:
            parts.append(Text(f"⚠ {r.reason}", style="bold red"))
        else:
            parts.append(Text(f"why: {r.reason}", style="dim"))
        return Group(*parts)

    def _keys(self) -> Text:
        r = self.request
        if self.answered is not None:
            return Text(f"answered: {self.answered} …", style="dim italic")
        if not self.active:
            where = f" ({self.position} in line)" if self.position else ""
            return Text(f"queued{where}: answer the approval above first", style="dim italic")
        choices = "y / a / n" if r.always_rules and not r.catastrophic else "y / n"
        if not self.armed:
            return Text(
                f"waiting for a deliberate key: press {choices} once you stop typing "
                "(what you type goes to the input)",
                style="italic yellow",
            )
        plan = r.name == "exit_plan_mode"  # hermes.engine.plan: accept, or keep planning
        keys = Text(f"press {choices}: ", style="bold")
        keys.append(" y ", style="reverse bold green")
        keys.append(" accept   " if plan else " once   ")
        if r.always_rules and not r.catastrophic:
            keys.append(" a ", style="reverse bold cyan")
            workspace = str(getattr(self.app, "workspace", ""))
            rules = ", ".join(short_rule(rule, workspace) for rule in r.always_rules)
            keys.append(f" always this session: {rules}   ")
        keys.append(" n ", style="reverse bold red")
        keys.append(" keep planning (or type feedback)   " if plan else " deny   ")
        keys.append(" esc ", style="reverse bold")
        keys.append(" deny + stop turn", style="")
        keys.append("   (Enter does nothing here)", style="dim")
        return keys

    def on_mount(self) -> None:
        self._refresh_keys()

    def watch_active(self, active: bool) -> None:
        self.set_class(active, "active")
        if active:
            self.shown_at = self.guard.clock()
        self._refresh_keys()

    def watch_position(self, position: int) -> None:
        self._refresh_keys()

    @property
    def armed(self) -> bool:
        """Whether a key would answer now (see :class:`KeyGuard`)."""
        return self.active and self.answered is None and self.guard.wait(self.shown_at) <= 0

    def wait(self) -> float:
        """Seconds until this bar is armed (0: it is)."""
        return self.guard.wait(self.shown_at)

    def refresh_arming(self) -> None:
        """Redraw the keys line when the bar armed (or disarmed) since it was drawn."""
        if self.armed != self._shown_armed:
            self._refresh_keys()

    def _refresh_keys(self) -> None:
        self._shown_armed = self.armed
        self._keys_view.update(self._keys())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer":
            return self.active and self.answered is None
        return True

    def action_answer(self, decision: str) -> None:
        """Answer with a key; ``always`` only when the call may be granted."""
        r = self.request
        if not self.active or self.answered is not None:
            return
        if decision != "abort" and not self.armed:
            return  # on_key gave a key of ongoing typing to the input already
        if decision == "always" and (not r.always_rules or r.catastrophic):
            self.app.bell()
            return
        answer = _DECISIONS[decision]
        self.answered = answer
        self._refresh_keys()
        self.post_message(self.Answered(r.call_id, answer))

    def on_key(self, event: events.Key) -> None:
        """Answer keys of an armed bar go on to the bindings; Esc always does (it denies).
        Any other key is typing: it goes to the input and the bar waits again."""
        if not self.active or event.key == "escape":
            return
        if event.key in ANSWER_KEYS and self.armed:
            return
        event.stop()
        event.prevent_default()
        if event.key == "enter" and not self.typed_text():
            self.notify("Enter never approves: press y, a or n (Esc stops the turn).")
            return
        self.guard.keystroke()
        self._refresh_keys()
        self.post_message(self.Typed(event.key, event.character if event.is_printable else None))

    def typed_text(self) -> str:
        """What the input holds (Enter at the bar sends it, as it would from the input)."""
        prompt = getattr(self.app, "prompt_input", None)
        return str(getattr(prompt, "text", ""))


def edit_action(key: str) -> str | None:
    """The input's action for an editing key typed at the bar (``backspace``, ...)."""
    return _EDIT_KEYS.get(key)
