"""The real default model (Qwen2.5-Coder-0.5B-Instruct) on the CPU, end to end.

Skipped when the ``local`` extra is not installed; under CI (``CI`` set) a missing extra
is a failure instead, because ``.ci/run`` installs it. The model is assembled and
verified once per run into a temporary directory, then hard-linked into each test's
``HERMES_HOME`` (same inode, so its verification record holds), so the tests use the
default-model path exactly as ``hermes --local`` does.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from hermes import protocol as p
from hermes.config import Overrides, load_config, parse_config
from hermes.messages import Message
from hermes.model.endpoint import check_endpoint
from hermes.model.local.client import LocalModelClient
from hermes.model.local.files import DEFAULT_PACK, ModelFileError, backend_installed, ensure_pack
from hermes.store.sessions import Store
from tests.support import make_engine, of_type, run_prompt

pytestmark = pytest.mark.local_model


def _require_local_extra() -> None:
    reason = ""
    if not backend_installed():
        reason = "llama-cpp-python is not installed (pip install 'hermes[local]')"
    if os.environ.get("CI") and reason:
        pytest.fail(f".ci/run installs the local extra, yet: {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def verified_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_local_extra()
    directory = tmp_path_factory.mktemp("models")
    try:
        ensure_pack(DEFAULT_PACK, directory)
    except ModelFileError as exc:
        if os.environ.get("CI"):
            pytest.fail(f".ci/run installs the local extra, yet: {exc}")
        pytest.skip(str(exc))
    return directory


@pytest.fixture
def local_home(verified_model: Path, hermes_home: Path) -> Path:
    models = hermes_home / "models"
    models.mkdir()
    for f in verified_model.iterdir():
        os.link(f, models / f.name)
    return hermes_home


async def test_the_model_reads_a_file_and_uses_what_it_found(
    local_home: Path, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "notes.txt").write_text("The secret code word is: PINEAPPLE\n")
    cfg = load_config(workspace, Overrides(local=True), env={})
    cfg = parse_config({"model": {"temperature": 0.0}}, "test", cfg)
    check_endpoint(cfg)  # no key, no URL: only the backend and the model
    store = Store(tmp_path / "db" / "hermes.db")
    try:
        engine = make_engine(cfg, workspace, store, system_prompt="")
        events = await run_prompt(
            engine, "Read the file notes.txt and tell me the secret code word.", wait_s=600
        )
        ends = [e for e in of_type(events, p.ToolCallEnd) if e.name == "read_file"]
        assert ends, [type(e).__name__ for e in events]
        assert ends[0].status == "done" and "PINEAPPLE" in ends[0].output
        done = of_type(events, p.TurnComplete)
        assert done, of_type(events, p.Error)
        # The result reached the model: it made a second request, and said the word.
        assert done[0].model_calls >= 2
        assert "PINEAPPLE" in done[0].text.upper()
        roles = [m.message.role for m in store.load_messages(engine.state.id)]
        assert roles[:4] == ["user", "assistant", "tool", "assistant"]
    finally:
        store.close()


async def test_a_cancelled_request_stops_and_the_next_one_runs(
    local_home: Path, workspace: Path
) -> None:
    cfg = load_config(workspace, Overrides(local=True), env={})
    client = LocalModelClient(cfg.model)
    pieces: list[str] = []
    first = asyncio.Event()

    def on_text(piece: str) -> None:
        pieces.append(piece)
        first.set()

    task = asyncio.create_task(
        client.complete(
            [Message("user", "Count from 1 to 300, one number per line.")], [], on_text=on_text
        )
    )
    await asyncio.wait([task, asyncio.create_task(first.wait())], return_when="FIRST_COMPLETED")
    assert not task.done(), task.result()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    seen = len(pieces)
    reply = await client.complete([Message("user", "Say hello.")], [])
    assert reply.content.strip() and reply.finish_reason in ("stop", "length")
    assert len(pieces) == seen  # the cancelled request sent nothing more
    assert client.last is not None and client.last.completion_tokens > 0
