"""The local model client without a model: provider selection, the thread-to-asyncio
bridge, text tool calls, cancellation and errors. The backend here is a stand-in that
emits fixed text token by token (the real model runs in test_local_model_e2e.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from hermes.cli.main import build_parser
from hermes.config import ConfigError, Overrides, load_config, parse_config
from hermes.engine.engine import Engine
from hermes.engine.startup import overrides_from
from hermes.messages import Message, ToolCall, Usage
from hermes.model import make_model_client
from hermes.model.base import ModelError
from hermes.model.endpoint import check_endpoint
from hermes.model.local.client import LocalModelClient
from hermes.model.local.files import ModelFile, ModelFileError
from hermes.model.local.runtime import Cancelled, Generation, LocalBackend, Sampling
from hermes.model.local.steer import ANSWER_NUDGE, MAX_CALLS_PER_TURN, calls_since_user, repeats
from hermes.model.openai import ChatCompletionsClient
from hermes.store.sessions import Store

READ_TOOL = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


class ScriptBackend(LocalBackend):
    """Emits ``pieces`` one per 'token', checking the cancel flag like the real one;
    later requests emit ``then`` if given."""

    def __init__(
        self,
        pieces: Sequence[str],
        gate: threading.Event | None = None,
        then: Sequence[str] | None = None,
    ) -> None:
        super().__init__(self._no_file, n_ctx=4096, threads=1)
        self.pieces = list(pieces)
        self.then = then
        self.gate = gate  # when set, pause after the first piece until released
        self.stopped = threading.Event()
        self.seen: list[Sequence[Message]] = []
        self.tools: list[Sequence[dict[str, Any]]] = []
        self.samplings: list[Sampling] = []

    @staticmethod
    def _no_file() -> ModelFile:
        raise ModelFileError("no model file in this test")

    def generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        sampling: Sampling,
        cancel: threading.Event,
        on_piece: Callable[[str], None],
    ) -> Generation:
        self.seen.append(messages)
        self.tools.append(tools)
        self.samplings.append(sampling)
        pieces = self.pieces if len(self.seen) == 1 or self.then is None else list(self.then)
        try:
            for n, piece in enumerate(pieces):
                if cancel.is_set():
                    raise Cancelled
                on_piece(piece)
                if n == 0 and self.gate is not None:
                    while not cancel.is_set() and not self.gate.wait(0.01):
                        pass
            text = "".join(pieces)
            return Generation(text, "stop", 10, len(pieces), 0, 40, 0.0, 0.0)
        finally:
            self.stopped.set()


def client(backend: LocalBackend, path: str | None = None) -> LocalModelClient:
    cfg = load_config(Path("."), Overrides(local=True), env={}).model
    if path:
        from dataclasses import replace

        cfg = replace(cfg, path=path)
    return LocalModelClient(cfg, backend)


def test_provider_picks_the_client(tmp_path: Path) -> None:
    openai = load_config(tmp_path, Overrides(), env={})
    assert type(make_model_client(openai.model, "k")) is ChatCompletionsClient
    args = build_parser().parse_args(["--local", "-p", "hi"])
    local = load_config(tmp_path, overrides_from(args), env={})
    assert local.model.provider == "local"
    made = make_model_client(local.model, None)
    assert isinstance(made, LocalModelClient)
    assert made.config.name == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert made.config.context_window == 8192 and made.config.text_tool_calls
    named = make_model_client(
        load_config(tmp_path, Overrides(local=True), env={}).model.__class__(
            provider="local", path=str(tmp_path / "my-model.gguf"), context_window=4096
        ),
        None,
    )
    assert named.config.name == "my-model" and named.config.context_window == 4096


def test_local_provider_needs_no_key_but_its_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(tmp_path, Overrides(local=True), env={})
    assert cfg.api_key is None
    monkeypatch.setattr("hermes.model.local.files.backend_installed", lambda: False)
    with pytest.raises(ConfigError, match=r"llama-cpp-python is not installed.*hermes\[local\]"):
        check_endpoint(cfg)
    monkeypatch.setattr("hermes.model.local.files.backend_installed", lambda: True)
    monkeypatch.setattr("hermes.model.local.files.check_local_setup", lambda path: None)
    check_endpoint(cfg)  # no API key asked for
    with pytest.raises(ConfigError, match="no API key"):
        check_endpoint(load_config(tmp_path, Overrides(), env={}))


def test_engine_uses_the_local_client_without_loading_the_model(
    tmp_path: Path, workspace: Path
) -> None:
    cfg = load_config(workspace, Overrides(local=True), env={})
    # A window no other test uses: its backend is new in this process, never loaded.
    cfg = parse_config({"model": {"context_window": 3000}}, "test", cfg)
    store = Store(tmp_path / "db.sqlite")
    try:
        engine = Engine.create(config=cfg, store=store, workspace=workspace, interactive=False)
        assert isinstance(engine.state.model, LocalModelClient)
        assert not engine.state.model.backend.loaded
        assert engine.state.context_window == 3000
        record = store.get_session(engine.state.id)
        assert record.model == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    finally:
        store.close()


async def test_text_streams_and_a_written_call_becomes_a_tool_call() -> None:
    call = '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.txt"}}\n</tool_call>'
    backend = ScriptBackend(["I will read it.\n", call[:30], call[30:]])
    shown: list[str] = []
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def on_text(piece: str) -> None:
        threads.add(threading.get_ident())
        shown.append(piece)

    c = client(backend)
    system = Message("system", "sys")
    reply = await c.complete([system, Message("user", "read a.txt")], [READ_TOOL], on_text=on_text)
    assert threads == {loop_thread}
    assert "".join(shown).strip() == "I will read it."
    assert reply.content == "I will read it."
    assert [(tc.name, tc.arguments) for tc in reply.tool_calls] == [
        ("read_file", '{"path": "a.txt"}')
    ]
    assert reply.finish_reason == "tool_calls"
    assert reply.usage is not None and reply.usage.prompt_tokens == 10
    assert [t["function"]["name"] for t in backend.tools[0]] == ["read_file"]
    assert await c.list_models() == [
        {"id": "qwen2.5-coder-0.5b-instruct-q4_k_m", "context_length": 4096}
    ]


async def test_json_in_prose_stays_text() -> None:
    text = 'Use {"name": "x"} as config.'
    reply = await client(ScriptBackend([text])).complete([Message("user", "?")], [READ_TOOL])
    assert reply.content == text and reply.tool_calls == () and reply.finish_reason == "stop"


async def test_cancelling_stops_generation_and_drops_late_text() -> None:
    gate = threading.Event()
    backend = ScriptBackend(["first ", "second ", "third"], gate=gate)
    shown: list[str] = []
    first = asyncio.Event()

    def on_text(piece: str) -> None:
        shown.append(piece)
        first.set()

    c = client(backend)
    task = asyncio.create_task(c.complete([Message("user", "go")], [], on_text=on_text))
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(backend.stopped.wait, 10)
    gate.set()
    await asyncio.sleep(0.05)
    assert shown == ["first "]  # nothing after the cancel reached the caller


async def test_aclose_cancels_a_running_request() -> None:
    gate = threading.Event()
    backend = ScriptBackend(["a", "b"], gate=gate)
    c = client(backend)
    first = asyncio.Event()
    task = asyncio.create_task(
        c.complete([Message("user", "go")], [], on_text=lambda _: first.set())
    )
    await first.wait()
    await c.aclose()
    with pytest.raises(ModelError, match="cancelled"):
        await task


async def test_backend_failures_become_model_errors(tmp_path: Path) -> None:
    missing = client(LocalBackend(ScriptBackend._no_file, 4096, 1))
    with pytest.raises(ModelError, match="no model file in this test"):
        await missing.complete([Message("user", "hi")], [])


def test_with_model_switches_only_to_a_gguf_path(tmp_path: Path) -> None:
    c = client(ScriptBackend([]))
    assert c.with_model("gpt-4o") is c
    other = c.with_model(str(tmp_path / "other.gguf"))
    assert isinstance(other, LocalModelClient) and other.config.name == "other"


async def test_a_repeated_call_is_answered_in_words_instead() -> None:
    call = ToolCall("c1", "read_file", '{"path": "a.txt"}')
    history = [
        Message("user", "what is in a.txt?"),
        Message("assistant", None, tool_calls=(call,)),
        Message("tool", "1\thello", tool_call_id="c1"),
    ]
    again = '<tool_call>\n{"name": "read_file", "arguments": {"path":"a.txt"}}\n</tool_call>'
    backend = ScriptBackend([again], then=["It says ", "hello."])
    shown: list[str] = []
    reply = await client(backend).complete(history, [READ_TOOL], on_text=shown.append)
    assert reply.content == "It says hello." and reply.tool_calls == ()
    assert "".join(shown).strip() == "It says hello."
    assert [s.allow_calls for s in backend.samplings] == [True, False]
    assert backend.seen[1][-1] == Message("user", ANSWER_NUDGE)
    assert reply.usage == Usage(10, 2 + 1)  # both attempts' output counted


async def test_a_new_call_goes_through_and_the_turn_cap_forces_an_answer() -> None:
    read_b = '<tool_call>\n{"name": "read_file", "arguments": {"path": "b.txt"}}\n</tool_call>'
    history = [
        Message("user", "compare a and b"),
        Message("assistant", None, tool_calls=(ToolCall("c1", "read_file", '{"path": "a.txt"}'),)),
        Message("tool", "a", tool_call_id="c1"),
    ]
    backend = ScriptBackend([read_b])
    reply = await client(backend).complete(history, [READ_TOOL])
    assert [c.name for c in reply.tool_calls] == ["read_file"]
    assert [s.allow_calls for s in backend.samplings] == [True]
    many = [Message("user", "go")]
    for n in range(MAX_CALLS_PER_TURN):
        many.append(
            Message("assistant", None, (ToolCall(f"c{n}", "read_file", f'{{"path": "{n}"}}'),))
        )
        many.append(Message("tool", "x", tool_call_id=f"c{n}"))
    capped = ScriptBackend(["Done."])
    reply = await client(capped).complete(many, [READ_TOOL])
    assert reply.content == "Done." and [s.allow_calls for s in capped.samplings] == [False]


async def test_without_tools_nothing_is_parsed_or_nudged() -> None:
    backend = ScriptBackend(['{"name": "read_file", "arguments": {}}'])
    reply = await client(backend).complete([Message("user", "summarize")], [])
    assert reply.tool_calls == () and backend.seen[0] == [Message("user", "summarize")]
    assert len(backend.samplings) == 1 and backend.tools == [[]]


async def test_calls_are_parsed_without_a_text_sink() -> None:
    call = '{"name": "read_file", "arguments": {"path": "a.txt"}}'
    reply = await client(ScriptBackend([call])).complete([Message("user", "read a")], [READ_TOOL])
    assert [c.name for c in reply.tool_calls] == ["read_file"]


def test_repeats_compares_calls_since_the_user_spoke() -> None:
    a = ToolCall("1", "read_file", '{"path": "a", "limit": 5}')
    same = ToolCall("2", "read_file", '{"limit": 5, "path": "a"}')
    other = ToolCall("3", "read_file", '{"path": "b"}')
    history = [
        Message("user", "x"),
        Message("assistant", None, (a,)),
        Message("tool", "r", None, "1"),
    ]
    assert calls_since_user(history) == [a]
    assert repeats(history, [same]) and not repeats(history, [same, other])
    assert not repeats([*history, Message("user", "again")], [same])
    assert not repeats(history, [])
