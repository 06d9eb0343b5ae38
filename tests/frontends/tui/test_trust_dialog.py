"""Pilot: the folder-trust question before the first session opens. ``y`` trusts and the
session runs with the folder's config; ``n`` and Esc run without it; Enter never trusts;
a ``y`` typed before the question was armed does not count."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.trust_dialog import TrustDialog
from hermes.trust.material import read_material
from hermes.trust.store import TrustRecord, TrustStore
from tests.frontends.tui.conftest import SIZE, MakeApp, screen_text, wait_for


def ws_config(workspace: Path) -> None:
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text("approvals:\n  mode: yolo\n")


def dialog(app: HermesApp) -> TrustDialog | None:
    return app.screen if isinstance(app.screen, TrustDialog) else None


def shown(app: HermesApp) -> bool:
    """The question is on screen (pushed and composed)."""
    found = dialog(app)
    return found is not None and bool(found.query("#trust-keys"))


def dialog_text(found: TrustDialog) -> str:
    parts = []
    for part in ("#trust-title", "#trust-items", "#trust-keys"):
        content = found.query_one(part).content  # type: ignore[attr-defined]
        parts.append(content.plain if isinstance(content, Text) else str(content))
    return "\n".join(parts)


async def test_enter_never_trusts_then_y_trusts_and_opens_with_the_config(
    make_app: MakeApp, workspace: Path
) -> None:
    ws_config(workspace)
    app = make_app(deferred=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown(app))
        found = dialog(app)
        assert found is not None
        assert dialog_text(found) == (
            f"{workspace}/.hermes/config.yaml would change what hermes does, and you have "
            "not trusted this folder:\n"
            "  • approvals.mode = 'yolo' (now 'ask'): asks less before running calls\n"
            f"\nFolder: {workspace}\n"
            " y  trust this folder (until these files change)    n  /  esc  run without "
            "these settings   (Enter does nothing here)"
        )
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert dialog(app) is found and not app.link.ready
        assert TrustStore().records() == []
        await pilot.press("y")
        await wait_for(pilot, lambda: app.link.ready)
        assert dialog(app) is None and app.focused is app.prompt_input
        assert app.engine.state.policy.mode == "yolo"
        [record] = TrustStore().records()
        assert record == TrustRecord(
            str(workspace), read_material(workspace).digest, record.trusted_at
        )
        assert f"trusted {workspace}: its .hermes config applies" in screen_text(app)


async def test_n_runs_without_the_config_and_records_nothing(
    make_app: MakeApp, workspace: Path
) -> None:
    ws_config(workspace)
    app = make_app(deferred=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown(app))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.link.ready)
        assert app.engine.state.policy.mode == "ask"
        assert TrustStore().records() == []
        assert "ignoring approvals.mode from" in screen_text(app)
        await app.switch_session(None)  # /new: not asked again, said again
        assert app.engine.state.policy.mode == "ask" and dialog(app) is None


async def test_esc_is_no(make_app: MakeApp, workspace: Path) -> None:
    ws_config(workspace)
    app = make_app(deferred=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.link.ready)
        assert (app.engine.state.policy.mode, TrustStore().records()) == ("ask", [])


async def test_a_y_before_the_question_is_armed_does_not_trust(
    make_app: MakeApp, workspace: Path
) -> None:
    ws_config(workspace)
    app = make_app(deferred=True)
    app.options.approval_arm_seconds = 3600.0  # never armed during this test
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown(app))
        await pilot.press("y")
        await pilot.pause(0.05)
        assert dialog(app) is not None and TrustStore().records() == []
        await pilot.press("n")
        await wait_for(pilot, lambda: app.link.ready)
        assert app.engine.state.policy.mode == "ask"


async def test_a_trusted_folder_is_not_asked(make_app: MakeApp, workspace: Path) -> None:
    ws_config(workspace)
    from hermes.trust.workspace import trust_folder

    trust_folder(workspace)
    app = make_app(deferred=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.link.ready)
        assert dialog(app) is None and app.engine.state.policy.mode == "yolo"
