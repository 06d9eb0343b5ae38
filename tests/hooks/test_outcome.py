"""Reading what a hook run decided: exit codes, plain stdout, JSON output."""

from __future__ import annotations

import json

import pytest

from hermes.hooks.outcome import Combined, Verdict, combine, interpret
from hermes.hooks.runner import HookResult
from hermes.hooks.table import HookSpec


def result(
    event: str, code: int | None = 0, stdout: str = "", stderr: str = "", **kw: object
) -> HookResult:
    spec = HookSpec(event, "", "./hook", 5.0, "/home/me/.hermes/config.yaml")
    return HookResult(spec, code, stdout, stderr, 1.0, 0.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event", "verdict"),
    [
        ("PreToolUse", Verdict("blocked", "deny", "no")),
        ("PostToolUse", Verdict("blocked", "block", "no")),
        ("Stop", Verdict("blocked", "block", "no")),
        ("UserPromptSubmit", Verdict("blocked", "block", "no")),
        ("SessionStart", Verdict("blocked", warning="hook './hook': no")),
        ("Notification", Verdict("blocked", warning="hook './hook': no")),
    ],
)
def test_exit_2_blocks_where_the_event_can_be_blocked(event: str, verdict: Verdict) -> None:
    assert interpret(event, result(event, 2, "ignored stdout", "no\n"), user_level=True) == verdict


def test_plain_stdout_is_context_only_for_prompts_and_session_start() -> None:
    assert interpret("UserPromptSubmit", result("x", 0, "ctx\n"), user_level=False) == Verdict(
        "ok", context="ctx"
    )
    assert interpret("SessionStart", result("x", 0, "ctx"), user_level=False).context == "ctx"
    assert interpret("PostToolUse", result("x", 0, "ctx"), user_level=False) == Verdict("ok")


def test_failures_are_warnings() -> None:
    assert interpret("Stop", result("Stop", 1, "", "boom\n"), user_level=True) == Verdict(
        "error", warning="hook './hook' failed (exit 1): boom"
    )
    assert interpret("Stop", result("Stop", -9), user_level=True) == Verdict(
        "error", warning="hook './hook' failed (killed)"
    )
    timed = result("Stop", None, timed_out=True)
    assert interpret("Stop", timed, user_level=True) == Verdict(
        "timeout", warning="hook './hook' was killed after its timeout of 5 s"
    )
    missing = result("Stop", None, error="No such file or directory")
    assert interpret("Stop", missing, user_level=True) == Verdict(
        "error", warning="hook './hook' could not start: No such file or directory"
    )


def _json(event: str, data: object, *, user_level: bool = True) -> Verdict:
    return interpret(event, result(event, 0, json.dumps(data)), user_level=user_level)


def test_json_permission_decisions() -> None:
    out = {"hookSpecificOutput": {"permissionDecision": "deny", "permissionDecisionReason": "r"}}
    assert _json("PreToolUse", out) == Verdict("ok", "deny", "r")
    assert _json("PreToolUse", {"decision": "block", "reason": "old style"}) == Verdict(
        "ok", "deny", "old style"
    )
    assert _json("PreToolUse", {"decision": "approve"}) == Verdict("ok", "allow")
    allow = {"hookSpecificOutput": {"permissionDecision": "allow"}}
    assert _json("PreToolUse", allow, user_level=False) == Verdict(
        "ok",
        warning="hook './hook' allowed a call; ignored: only hooks in your own config may "
        "skip an approval",
    )
    assert _json("PreToolUse", {"permissionDecision": "maybe"}) == Verdict(
        "ok", warning="hook './hook': unknown permissionDecision 'maybe' ignored"
    )


def test_json_block_context_stop_and_system_message() -> None:
    assert _json("Stop", {"decision": "block", "reason": "tests fail"}) == Verdict(
        "ok", "block", "tests fail"
    )
    ctx = {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "lint ok"}}
    assert _json("PostToolUse", ctx) == Verdict("ok", context="lint ok")
    assert _json("Notification", ctx) == Verdict("ok")  # nowhere to add it
    stop = {"continue": False, "stopReason": "done for today", "systemMessage": "bye"}
    assert _json("PostToolUse", stop) == Verdict(
        "ok", "stop", "done for today", warning="bye", stop_reason="done for today"
    )


def test_the_strictest_verdict_wins() -> None:
    verdicts = [
        Verdict("ok", "allow", "fine"),
        Verdict("ok", "ask", "check"),
        Verdict("ok", context="c1"),
        Verdict("ok", "ask", "again"),
    ]
    assert combine(verdicts) == Combined(
        "ask", False, ("check", "again"), ("c1",), "", tuple(verdicts)
    )
    denied = combine([*verdicts, Verdict("blocked", "deny", "no")])
    assert (denied.permission, denied.reason) == ("deny", "no")
    assert combine([Verdict("ok", "block", "b"), Verdict("ok")]).blocked
    assert combine([Verdict("ok", "stop", "s", stop_reason="s")]).stop_reason == "s"
