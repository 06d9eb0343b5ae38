"""hermes against a real OpenAI-compatible server nobody here wrote (issue 20).

Real ``hermes -p`` processes talk to llama-cpp-python's ``llama_cpp.server`` serving the
shipped Qwen2.5-Coder-0.5B model (see ``conftest.py``): a full tool round trip (the
model calls read_file on a file holding a code word, gets the result, answers), stored
as call -> result -> answer, then ``--resume`` of that session; streaming and not, with
text tool calls switched on and left to detection; and a prompt larger than the
server's context window. Greedy decoding (temperature 0) keeps the model's choices
stable; the assertions are on the protocol (a call was made, answered and accepted),
never on the prose of a 0.5B model.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hermes.store.sessions import CallState, ModelCallRecord, Store, StoredMessage
from tests.e2e.conftest import N_CTX, RealServer
from tests.support import run_hermes

pytestmark = pytest.mark.real_server

CODE_WORD = "PELICAN-42"
PROMPT = "Use the read_file tool to read notes.txt, then tell me the code word it contains."
FOLLOW_UP = "In one short sentence: what was the code word?"
RUN_TIMEOUT_S = 600.0  # a bound for a hung run only; a healthy one takes seconds


def setup_run(
    tmp_path: Path,
    server: RealServer,
    *,
    stream: bool = True,
    text_tool_calls: bool | None = None,
) -> tuple[Path, Path]:
    """A HERMES_HOME configured for ``server`` and a workspace with the notes file."""
    home, workspace = tmp_path / "home", tmp_path / "ws"
    home.mkdir(exist_ok=True)
    workspace.mkdir(exist_ok=True)
    (workspace / "notes.txt").write_text(f"Meeting notes.\nThe code word is {CODE_WORD}.\n")
    model: dict[str, Any] = {
        "base_url": server.base_url,
        "name": "qwen2.5-coder-0.5b-instruct",
        "temperature": 0.0,
        # A 0.5B model can ramble until the window is full (minutes on 2 cores); a call
        # or a short answer takes well under this.
        "max_output_tokens": 160,
        # A busy 2-core machine can take a minute on a long prompt before the first token.
        "stream_idle_timeout": 300.0,
        "request_timeout": 300.0,
    }
    if not stream:
        model["stream"] = False
    if text_tool_calls is not None:
        model["text_tool_calls"] = text_tool_calls
    (home / "config.yaml").write_text(yaml.safe_dump({"model": model}))
    return home, workspace


def hermes(home: Path, workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_hermes(*args, cwd=workspace, home=home, timeout=RUN_TIMEOUT_S)


def explain(run: subprocess.CompletedProcess[str], server: RealServer, mark: int) -> str:
    """Everything needed to see why a run went wrong, for an assertion message."""
    return (
        f"exit {run.returncode}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n"
        f"{run.stderr[-3000:]}\n--- server log\n{server.log_tail(mark)}"
    )


def stored(
    home: Path, session_id: str
) -> tuple[list[StoredMessage], list[ModelCallRecord], dict[str, CallState]]:
    store = Store(home / "hermes.db")
    try:
        return (
            store.load_messages(session_id),
            store.model_calls(session_id),
            store.call_states(session_id),
        )
    finally:
        store.close()


def assert_round_trip(messages: list[StoredMessage], states: dict[str, CallState]) -> None:
    """The user's prompt; an assistant message calling read_file; that call's result,
    run to completion; then the model's next reply (the request carrying the call and its
    result was accepted). What the 0.5B model says is not judged."""
    shape = [(m.message.role, [c.name for c in m.message.tool_calls or ()]) for m in messages]
    assert messages[0].message.role == "user", shape
    reads = [
        (i, call)
        for i, m in enumerate(messages)
        for call in m.message.tool_calls or ()
        if call.name == "read_file"
    ]
    assert reads, f"the model made no read_file call: {shape}"
    i, call = reads[0]
    after = messages[i + 1 :]
    results = [m for m in after if m.message.role == "tool" and m.message.tool_call_id == call.id]
    assert results, f"the call {call.id} has no stored result: {shape}"
    content = results[0].message.content or ""
    assert states[call.id].status == "done", (states[call.id], content)
    assert "Meeting notes." in content or CODE_WORD in content, content  # a line of the file
    replies = [m for m in after if m.message.role == "assistant"]
    assert replies, f"the model never answered the tool result: {shape}"
    assert messages[-1].message.role == "assistant", shape


@pytest.mark.parametrize("text_tool_calls", [True, None], ids=["text-calls-on", "detected"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_tool_round_trip_then_resume(
    llama_server: RealServer, tmp_path: Path, stream: bool, text_tool_calls: bool | None
) -> None:
    """Findings 1 (content null), 2 (the /models race), 5 (usage) and 7 (text calls)."""
    home, workspace = setup_run(
        tmp_path, llama_server, stream=stream, text_tool_calls=text_tool_calls
    )
    mark = llama_server.log_mark()
    run = hermes(home, workspace, "-p", PROMPT, "--output-format", "json", "--max-turns", "3")
    assert run.returncode == 0, explain(run, llama_server, mark)
    out = json.loads(run.stdout)
    assert out["is_error"] is False, explain(run, llama_server, mark)
    messages, calls, states = stored(home, out["session_id"])
    assert_round_trip(messages, states)
    assert {"name": "read_file", "ok": True} in out["tool_calls"]
    # Every request was accepted the first time: no 500 for the stored call, no stream
    # cut short by a concurrent /models lookup, nothing retried.
    assert set(llama_server.chat_statuses(mark)) == {200}, explain(run, llama_server, mark)
    assert [c.retries for c in calls] == [0] * len(calls), explain(run, llama_server, mark)
    assert out["usage"]["prompt_tokens"] > 0, "usage is 0: neither reported nor estimated"

    mark = llama_server.log_mark()
    resumed = hermes(
        home,
        workspace,
        "--resume",
        out["session_id"],
        "-p",
        FOLLOW_UP,
        "--output-format",
        "json",
        "--max-turns",
        "2",
    )
    assert resumed.returncode == 0, explain(resumed, llama_server, mark)
    assert json.loads(resumed.stdout)["session_id"] == out["session_id"]
    assert set(llama_server.chat_statuses(mark)) == {200}, explain(resumed, llama_server, mark)
    after, _, _ = stored(home, out["session_id"])
    assert [m.message for m in after[: len(messages)]] == [m.message for m in messages]
    follow_up = [m for m in after[len(messages) :] if m.message.role == "user"]
    assert [m.message.content for m in follow_up] == [FOLLOW_UP]
    last = after[-1].message
    assert last.role == "assistant" and (last.content or "").strip()


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_a_prompt_larger_than_the_window_fails_clearly(
    llama_server: RealServer, tmp_path: Path, stream: bool
) -> None:
    """Finding 4: the server answers an empty stream (streaming) or a 400
    context_length_exceeded; hermes says what does not fit, without five retries."""
    home, workspace = setup_run(tmp_path, llama_server, stream=stream, text_tool_calls=True)
    words = " ".join(f"w{i}" for i in range(2 * N_CTX))  # > 2 tokens a word
    mark = llama_server.log_mark()
    run = hermes(home, workspace, "-p", f"Summarise this: {words}", "--output-format", "json")
    assert run.returncode == 1, explain(run, llama_server, mark)
    out = json.loads(run.stdout)  # a JSON error object, not a traceback
    error = str(out.get("error") or out.get("result"))
    assert out["is_error"] is True, explain(run, llama_server, mark)
    assert re.search(r"context|does not fit|too long|too large|exceed", error, re.I), error
    assert "Traceback" not in run.stderr
    # One request, or one more after folding the history: never the five retries.
    assert len(llama_server.chat_statuses(mark)) <= 2, explain(run, llama_server, mark)
