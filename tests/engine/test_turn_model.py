"""A custom command's model runs its turn only; the session's model comes back after."""

from __future__ import annotations

from pathlib import Path

from hermes import protocol as p
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.support import make_config, make_engine


async def test_a_turn_with_its_own_model(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(ScriptedReply(text="one"), ScriptedReply(text="two"))
    engine = make_engine(make_config(server.base_url, workspace), workspace, store)
    await engine.start()
    for op in (p.UserTurn("quick", model="small-model"), p.UserTurn("normal")):
        await engine.submit(op)
        async for ev in engine.events():
            if isinstance(ev, p.TurnComplete):
                break
    await engine.submit(p.Shutdown())

    assert [r.body["model"] for r in server.requests] == ["small-model", "gpt-4o-mini"]
    assert engine.state.model.config.name == "gpt-4o-mini"
    assert store.get_session(engine.state.id).model == "gpt-4o-mini"
