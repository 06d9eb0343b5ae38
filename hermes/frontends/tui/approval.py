"""The inline approval bar, mounted under the call it concerns.

It shows what will run (the whole command, or the diff of an edit), why it asks (the
mode, a rule, a catastrophic pattern), and the keys: ``y`` once, ``a`` always for this
session (with the exact rules it adds), ``n`` deny, ``Esc`` deny and stop the turn.
Enter alone never approves. Only the oldest pending approval takes keys; the others
say they are queued.
"""

from __future__ import annotations

import time

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

PREVIEW_MAX_LINES = 40
_DECISIONS: dict[str, p.ApprovalDecision] = {d: d for d in p.APPROVAL_DECISIONS}


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

    def __init__(self, request: p.ApprovalRequested, arm_seconds: float = 0.0) -> None:
        super().__init__(classes="approval")
        self.request = request
        self.arm_seconds = arm_seconds
        self.answered: p.ApprovalDecision | None = None
        self._armed_at = time.monotonic() + arm_seconds
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
        parts: list[RenderableType] = [self._title()]
        preview = r.preview
        if preview and looks_like_diff(preview):
            parts.append(diff_text(preview, PREVIEW_MAX_LINES))
        elif preview:
            parts.append(Text("$ " + preview, style="bold"))
        elif r.arguments:
            parts.append(Text(r.arguments[:2000], style="dim"))
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
        keys = Text()
        keys.append(" y ", style="reverse bold green")
        keys.append(" once   ")
        if r.always_rules and not r.catastrophic:
            keys.append(" a ", style="reverse bold cyan")
            workspace = str(getattr(self.app, "workspace", ""))
            rules = ", ".join(short_rule(rule, workspace) for rule in r.always_rules)
            keys.append(f" always this session: {rules}   ")
        keys.append(" n ", style="reverse bold red")
        keys.append(" deny   ")
        keys.append(" esc ", style="reverse bold")
        keys.append(" deny + stop turn", style="")
        keys.append("   (Enter does nothing here)", style="dim")
        return keys

    def on_mount(self) -> None:
        self._refresh_keys()

    def watch_active(self, active: bool) -> None:
        self.set_class(active, "active")
        if active:
            self._armed_at = time.monotonic() + self.arm_seconds
        self._refresh_keys()

    def watch_position(self, position: int) -> None:
        self._refresh_keys()

    def _refresh_keys(self) -> None:
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
        if time.monotonic() < self._armed_at:
            return  # keys typed just before the bar appeared must not answer it
        if decision == "always" and (not r.always_rules or r.catastrophic):
            self.app.bell()
            return
        answer = _DECISIONS[decision]
        self.answered = answer
        self._refresh_keys()
        self.post_message(self.Answered(r.call_id, answer))

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter" and self.active:
            event.stop()
            event.prevent_default()
            self.notify("Enter never approves: press y, a or n (Esc stops the turn).")
