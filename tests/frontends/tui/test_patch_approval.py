"""Pilot: an edit that cannot apply is never offered for approval, and an approval shows
what will change, never escaped JSON (issue 17, defect 7)."""

from __future__ import annotations

from pathlib import Path

from hermes import protocol as p
from hermes.frontends.tui.approval import ApprovalBar
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, _text_of, call, screen_text, wait_for
from tests.frontends.tui.test_approvals import of, record, send


async def test_a_patch_that_cannot_apply_fails_without_asking(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "app.py").write_text("def add(a, b):\n    return a - b\n")
    wrong = call("patch", "p1", path="app.py", old_string="return a * b", new_string="return a + b")
    server.add(
        ScriptedReply(text="Fixing it.", tool_calls=(wrong,)),
        ScriptedReply(text="That did not match; reading again."),
    )
    app = make_app()  # ask: every edit asks
    events = record(app)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "fix add")
        await wait_for(pilot, lambda: not app.engine.busy and "reading again" in screen_text(app))
    assert of(events, p.ApprovalRequested) == []
    [end] = of(events, p.ToolCallEnd)
    assert end.status == "failed" and end.output.startswith("old_string not found in app.py")
    assert (workspace / "app.py").read_text() == "def add(a, b):\n    return a - b\n"
    tool_result = next(m for m in server.requests[1].messages if m["role"] == "tool")
    assert tool_result["content"] == end.output


async def test_an_approval_shows_the_diff_or_the_arguments_not_json(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "app.py").write_text("def add(a, b):\n    return a - b\n")
    (workspace / "same.txt").write_text("one\ntwo\n")
    fix = call("patch", "p1", path="app.py", old_string="return a - b", new_string="return a + b")
    same = call("write_file", "w1", path="same.txt", content="one\ntwo\n")
    server.add(
        ScriptedReply(text="Fixing it.", tool_calls=(fix,)),
        ScriptedReply(text="Writing it.", tool_calls=(same,)),
        ScriptedReply(text="Done."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "fix add")

        def asking() -> str:
            bars = list(app.screen.query(ApprovalBar))
            return _text_of(bars[0]) if bars else ""

        await wait_for(pilot, lambda: "return a + b" in asking())
        shown = asking()
        assert "-    return a - b" in shown and "+    return a + b" in shown
        assert '"old_string"' not in shown and "\\n" not in shown
        await pilot.press("y")
        await wait_for(pilot, lambda: "same.txt" in asking())
        shown = asking()  # nothing would change: no diff, so the arguments, readable
        assert "path: same.txt" in shown and "content:" in shown and "    two" in shown
        assert '{"' not in shown and "\\n" not in shown
        await pilot.press("n")
        await wait_for(pilot, lambda: not app.engine.busy and "Done." in screen_text(app))
