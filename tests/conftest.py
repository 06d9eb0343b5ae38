"""Shared fixtures: every test gets its own HERMES_HOME and no API-key leakage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer


@pytest.fixture(autouse=True)
def hermes_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "hermes-home"
    home.mkdir()
    monkeypatch.setenv("HERMES_HOME", str(home))
    for var in (
        "OPENAI_API_KEY",
        "HERMES_API_KEY",
        "OPENAI_BASE_URL",
        "HERMES_BASE_URL",
        "HERMES_MODEL",
        "HERMES_APPROVAL_MODE",
    ):
        monkeypatch.delenv(var, raising=False)
    yield home


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """The scripted model server (real HTTP on 127.0.0.1), stopped after the test."""
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real session database in the test's temp dir."""
    s = Store(tmp_path / "db" / "hermes.db")
    yield s
    s.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws
