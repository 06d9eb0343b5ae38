"""Hook events folded into the transcript: running hooks count in the status, each run
ends as one line, added context as a notice."""

from __future__ import annotations

from hermes import protocol as p
from hermes.frontends.common.format import lanes_label
from hermes.frontends.common.transcript import NoticeEntry, Transcript


def test_hook_runs_and_context() -> None:
    t = Transcript(lambda: 0.0)
    t.apply(p.HookStarted("hook-1", "PreToolUse", "./guard.sh", "c1"))
    t.apply(p.HookStarted("hook-2", "PreToolUse", "./audit.sh", "c1"))
    assert lanes_label(*t.lanes()) == "2 hooks running"

    change = t.apply(
        p.HookFinished(
            "hook-1", "PreToolUse", "./guard.sh", 2, 1500.0, "blocked", "deny", "no", "c1"
        )
    )
    assert change.status and lanes_label(*t.lanes()) == "1 hook running"
    t.apply(p.HookFinished("hook-2", "PreToolUse", "./audit.sh", None, 60000.0, "timeout"))
    t.apply(p.HookFinished("hook-3", "PostToolUse", "./fmt.sh", 0, 12.0, "ok"))
    t.apply(p.HookContext("UserPromptSubmit", "on call: alice"))

    assert lanes_label(*t.lanes()) == ""
    # The timeout is not a line here: it comes as a Warning event of its own.
    assert [(e.level, e.text) for e in t.entries if isinstance(e, NoticeEntry)] == [
        ("warning", "hook PreToolUse './guard.sh': denied the call (1.5 s, slow): no"),
        ("info", "hook PostToolUse './fmt.sh': ok (0.0 s)"),
        ("info", "UserPromptSubmit hook added context:\non call: alice"),
    ]
