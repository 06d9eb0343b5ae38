"""A model for one turn only (a custom command's ``model:``), then the session's again."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from hermes.engine.state import SessionState


@contextlib.asynccontextmanager
async def model_for_turn(state: SessionState, name: str) -> AsyncIterator[None]:
    """Use model ``name`` inside the block ("" or the current one: no change). A switch
    made meanwhile (``/model``) is kept; otherwise the session's model comes back."""
    if not name or name == state.model.config.name:
        yield
        return
    previous = state.model
    turn_client = state.model = previous.with_model(name)
    try:
        yield
    finally:
        if state.model is turn_client:
            state.model = previous
        if turn_client is not previous:
            await turn_client.aclose()
