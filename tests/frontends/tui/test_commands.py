"""Pilot: slash commands, resume and the session picker."""

from __future__ import annotations

from pathlib import Path

from hermes import protocol as p
from hermes.cli.main import build_parser
from hermes.engine.startup import prepare_session
from hermes.frontends.tui.dialogs import ListDialog
from hermes.frontends.tui.input_box import PromptInput
from hermes.frontends.tui.picker import SessionPicker
from hermes.frontends.tui.status import StatusBar
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, call, screen_text, type_text, wait_for
from tests.frontends.tui.test_approvals import send


async def seed(server: ScriptedServer, workspace: Path, prompt: str, answer: str) -> str:
    """A finished session made the way headless mode makes one; returns its id."""
    server.add(ScriptedReply(text=answer))
    args = build_parser().parse_args(
        ["--base-url", server.base_url, "-C", str(workspace), "-p", prompt]
    )
    setup = prepare_session(args, interactive=False)
    engine = setup.engine
    await engine.start()
    await engine.submit(p.UserTurn(prompt))
    async for ev in engine.events():
        if isinstance(ev, p.TurnComplete | p.TurnAborted):
            break
    await engine.submit(p.Shutdown())
    setup.close()
    return engine.state.id


def status_text(app) -> str:  # type: ignore[no-untyped-def]
    from tests.frontends.tui.conftest import _text_of

    return _text_of(app.query_one(StatusBar))


async def test_help_model_approvals_and_unknown(server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(ScriptedReply(text="answer from the new model"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/help")
        await wait_for(pilot, lambda: "/resume" in screen_text(app) and "Esc" in screen_text(app))
        await send(pilot, "/nope")
        await wait_for(pilot, lambda: "unknown command /nope" in screen_text(app))
        await send(pilot, "/model other-model")
        await wait_for(pilot, lambda: "other-model" in status_text(app))
        await send(pilot, "hello")
        await wait_for(pilot, lambda: "answer from the new model" in screen_text(app))
        assert server.requests[-1].body["model"] == "other-model"
        await send(pilot, "/approvals yolo")
        await wait_for(pilot, lambda: "yolo" in status_text(app))
        assert app.engine.state.policy.mode == "yolo"
        await send(pilot, "/facts")
        await wait_for(pilot, lambda: "no facts yet" in screen_text(app) or "[" in screen_text(app))


async def test_approvals_dialog_lists_and_revokes_a_grant(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch a.txt"),)),
        ScriptedReply(text="done"),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "touch it")
        await wait_for(pilot, lambda: "always this session" in screen_text(app))
        await pilot.press("a")
        await wait_for(pilot, lambda: not app.engine.busy and "done" in screen_text(app))
        assert [str(r) for r in app.engine.state.policy.grants] == ["terminal:touch"]
        await send(pilot, "/approvals")
        await wait_for(pilot, lambda: isinstance(app.screen, ListDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "revoked 'terminal:touch'" in screen_text(app))
        assert app.engine.state.policy.grants == []
        assert app.setup.store.session_grants(app.engine.state.id) == []
        assert isinstance(app.focused, PromptInput)


async def test_skills_dialog_sends_the_skill_request(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(text="using the skill"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/skills")
        await wait_for(pilot, lambda: isinstance(app.screen, ListDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "using the skill" in screen_text(app))
    first = server.requests[0].messages[-1]["content"]
    assert "skill" in first and "skill_view" in first


async def test_new_and_clear_and_quit(server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(ScriptedReply(text="first session answer"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        await wait_for(pilot, lambda: "first session answer" in screen_text(app))
        first_id = app.engine.state.id
        await send(pilot, "/clear")
        await wait_for(pilot, lambda: "first session answer" not in screen_text(app))
        await send(pilot, "/new")
        await wait_for(pilot, lambda: app.engine.state.id != first_id)
        shown = screen_text(app)
        assert "› hello" not in shown and "first session answer" not in shown
        assert "workspace" in shown  # the first screen again, for the new session
        store = app.setup.store
        assert store.get_session(first_id).message_count == 2
        await send(pilot, "/quit")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0


async def test_resume_paints_history_and_continues(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    sid = await seed(server, workspace, "what is two plus two", "It is four.")
    server.add(ScriptedReply(text="And five after that."))
    app = make_app("--resume", sid)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "It is four." in screen_text(app))
        assert "› what is two plus two" in screen_text(app)
        await send(pilot, "and then?")
        await wait_for(pilot, lambda: "And five after that." in screen_text(app))
    sent = [(m["role"], m["content"]) for m in server.requests[-1].messages[1:]]
    assert sent == [
        ("user", "what is two plus two"),
        ("assistant", "It is four."),
        ("user", "and then?"),
    ]


async def test_picker_search_and_resume(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    await seed(server, workspace, "tell me about alpha particles", "Alpha answer.")
    beta = await seed(server, workspace, "tell me about beta decay", "Beta answer.")
    app = make_app("--resume")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, SessionPicker) and len(app.screen.rows) == 2
        )
        await type_text(pilot, "beta")
        picker = app.screen
        assert isinstance(picker, SessionPicker)
        await wait_for(pilot, lambda: [r.record.id for r in picker.rows] == [beta])
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: app.engine.state.id == beta and "Beta answer." in screen_text(app)
        )
        assert isinstance(app.focused, PromptInput)


async def test_resume_offers_a_pending_approval_again(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    """Killed while a write waited for approval: resumed, the bar is back with its diff."""
    import json

    from hermes.messages import Message, ToolCall
    from hermes.store.sessions import open_store

    store = open_store()
    rec = store.create_session(str(workspace), "scripted-model", "ask", title="write it")
    call_ = ToolCall("w1", "write_file", json.dumps({"path": "out.txt", "content": "hi\n"}))
    store.append_message(rec.id, Message("user", "write it"))
    store.append_message(rec.id, Message("assistant", None, (call_,)))
    store.set_call_status(rec.id, "w1", "pending_approval")
    store.close()
    server.add(ScriptedReply(text="Written."))
    app = make_app("--resume", rec.id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: app.focused is not None and type(app.focused).__name__ == "ApprovalBar"
        )
        assert "out.txt" in screen_text(app) and "+hi" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: (workspace / "out.txt").exists() and not app.engine.busy)
        assert server.requests == []  # the call ran as asked, without asking the model again
        await send(pilot, "thanks")
        await wait_for(pilot, lambda: "Written." in screen_text(app))
    assert (workspace / "out.txt").read_text() == "hi\n"
    roles = [m["role"] for m in server.requests[0].messages]
    assert roles == ["system", "user", "assistant", "tool", "user"]


async def test_facts_lists_and_forgets(make_app: MakeApp, workspace: Path) -> None:
    from hermes.memory.facts.store import FactStore
    from hermes.store.sessions import open_store

    store = open_store()
    added = FactStore(store).add(
        "tests run with make check", workspace=str(workspace), category="project"
    )
    store.close()
    fact_id = added.added[0].id
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/facts")
        await wait_for(
            pilot, lambda: f"#{fact_id} [project] tests run with make check" in screen_text(app)
        )
        await send(pilot, f"/facts forget {fact_id}")
        await wait_for(pilot, lambda: f"forgot fact #{fact_id}" in screen_text(app))
        await send(pilot, "/facts")
        await wait_for(pilot, lambda: "no facts yet" in screen_text(app))
