"""terminal: real processes. Timeouts here are hang guards, never speed assertions."""

from __future__ import annotations

import os
import re
import secrets
import signal
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hermes.config import ToolLimits, parse_config
from hermes.execution.output import OutputCapture
from hermes.execution.spec import ToolContext, ToolResult
from hermes.redact import register_credentials
from hermes.tools.terminal import terminal

GUARD = 60.0


def make_ctx(ws: Path, tmp_path: Path, **kw: Any) -> ToolContext:
    limits = kw.pop("limits", ToolLimits())
    return ToolContext(
        workspace=ws, limits=limits, output_dir=tmp_path / "outputs", call_id="call_1", **kw
    )


def run(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    """Run in a worker thread (as the engine does) with a hang guard."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(terminal, ctx, args).result(timeout=GUARD)


def alive(pid: int) -> bool:
    """Exists and is not a zombie (an unreaped zombie is dead for our purposes)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def gone_soon(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def first_pid(text: str) -> int:
    match = re.search(r"PID=(\d+)", text)
    assert match, text
    return int(match.group(1))


def test_exit_codes(workspace: Path, tmp_path: Path) -> None:
    ctx = make_ctx(workspace, tmp_path)
    ok = run(ctx, {"command": "echo hello"})
    assert ok.ok and ok.exit_code == 0
    assert ok.content == "hello\n[exit code 0]"
    bad = run(ctx, {"command": "echo nope; exit 3"})
    assert not bad.ok and bad.exit_code == 3
    assert bad.content == "nope\n[exit code 3]"
    quiet = run(ctx, {"command": "true"})
    assert quiet.content == "(no output)\n[exit code 0]"


def test_stdout_and_stderr_are_merged_in_order(workspace: Path, tmp_path: Path) -> None:
    result = run(make_ctx(workspace, tmp_path), {"command": "echo out; echo err >&2; echo out2"})
    assert result.content.startswith("out\nerr\nout2\n")


def test_stdin_is_dev_null(workspace: Path, tmp_path: Path) -> None:
    ctx = make_ctx(workspace, tmp_path)
    result = run(ctx, {"command": 'read x; echo "read=$?"; cat; echo "cat done"', "timeout": 30})
    assert result.content.startswith("read=1\ncat done\n")
    assert result.ok


def test_environment_disables_pagers_and_colour(workspace: Path, tmp_path: Path) -> None:
    result = run(
        make_ctx(workspace, tmp_path), {"command": 'echo "$PAGER $GIT_PAGER $TERM $NO_COLOR"'}
    )
    assert result.content.startswith("cat cat dumb 1\n")


def test_workdir(workspace: Path, tmp_path: Path) -> None:
    (workspace / "sub").mkdir()
    ctx = make_ctx(workspace, tmp_path)
    assert run(ctx, {"command": "pwd", "workdir": "sub"}).content.startswith(
        f"{workspace / 'sub'}\n"
    )
    assert run(ctx, {"command": "pwd"}).content.startswith(f"{workspace}\n")
    missing = run(ctx, {"command": "pwd", "workdir": "nope"})
    assert not missing.ok and missing.content == "workdir nope does not exist"
    (workspace / "file").write_text("")
    assert "not a directory" in run(ctx, {"command": "pwd", "workdir": "file"}).content


def test_timeout_kills_the_whole_group(workspace: Path, tmp_path: Path) -> None:
    ctx = make_ctx(workspace, tmp_path)
    result = run(ctx, {"command": "sleep 300 & echo PID=$!; sleep 300", "timeout": 1})
    assert not result.ok and result.exit_code == 124
    assert "timed out after 1 s" in result.content
    pid = first_pid(result.content)  # output so far is kept
    assert gone_soon(pid)


def test_timeout_escalates_past_ignored_signals(workspace: Path, tmp_path: Path) -> None:
    command = "trap '' INT TERM; sleep 300 & echo PID=$!; wait"
    result = run(make_ctx(workspace, tmp_path), {"command": command, "timeout": 1})
    assert "timed out" in result.content
    assert gone_soon(first_pid(result.content))


def test_timeout_is_clamped_to_the_maximum(workspace: Path, tmp_path: Path) -> None:
    limits = ToolLimits(terminal_max_timeout=5)
    result = run(
        make_ctx(workspace, tmp_path, limits=limits), {"command": "echo hi", "timeout": 9999}
    )
    assert result.ok
    assert result.content.startswith("[timeout 9999 s exceeds the 5 s maximum; using 5 s]\nhi\n")


def test_cancel_interrupts_promptly_and_kills_the_group(workspace: Path, tmp_path: Path) -> None:
    seen = threading.Event()
    chunks: list[str] = []

    def on_output(text: str) -> None:
        chunks.append(text)
        if "PID=" in "".join(chunks):
            seen.set()

    ctx = make_ctx(workspace, tmp_path, on_output=on_output)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(terminal, ctx, {"command": "sleep 300 & echo PID=$!; sleep 300"})
        assert seen.wait(GUARD)
        ctx.cancel.set()
        result = future.result(timeout=GUARD)  # well under the 120 s command timeout
    assert not result.ok and result.exit_code == 130
    assert "interrupted by user" in result.content
    assert gone_soon(first_pid(result.content))


def test_cancel_already_set_does_not_start(workspace: Path, tmp_path: Path) -> None:
    ctx = make_ctx(workspace, tmp_path)
    ctx.cancel.set()
    result = run(ctx, {"command": f"touch {workspace / 'ran'}"})
    assert not result.ok and "interrupted" in result.content
    assert not (workspace / "ran").exists()


def test_on_output_streams_everything(workspace: Path, tmp_path: Path) -> None:
    chunks: list[str] = []
    ctx = make_ctx(workspace, tmp_path, on_output=chunks.append)
    result = run(ctx, {"command": "echo first; sleep 0.2; echo second >&2"})
    assert "".join(chunks) == "first\nsecond\n"
    assert result.ok


def test_broken_on_output_sink_does_not_stall(workspace: Path, tmp_path: Path) -> None:
    def boom(text: str) -> None:
        raise RuntimeError("ui bug")

    result = run(
        make_ctx(workspace, tmp_path, on_output=boom), {"command": "seq 1 50000 | tail -1"}
    )
    assert result.ok and result.content.startswith("50000\n")


def test_output_cap_keeps_head_and_tail_and_saves_everything(
    workspace: Path, tmp_path: Path
) -> None:
    limits = ToolLimits(max_output_bytes=2000)
    result = run(make_ctx(workspace, tmp_path, limits=limits), {"command": "seq 1 200000"})
    assert result.ok and result.exit_code == 0
    assert result.content.startswith("1\n2\n3\n")
    assert result.content.endswith("199999\n200000\n[exit code 0]")
    assert len(result.content.encode()) < 2300
    match = re.search(
        r"\[\.\.\. ([\d,]+) bytes omitted; full output saved to (\S+) \.\.\.\]", result.content
    )
    assert match, result.content
    assert result.full_output_path == match.group(2)
    saved = Path(match.group(2))
    assert saved.parent == tmp_path / "outputs" and "call_1" in saved.name
    expected = "".join(f"{i}\n" for i in range(1, 200001))
    assert saved.read_text() == expected
    shown = result.content.replace(match.group(0) + "\n", "").removesuffix("\n[exit code 0]")
    assert int(match.group(1).replace(",", "")) == len(expected) - len(shown) - 1


def test_small_output_is_not_saved(workspace: Path, tmp_path: Path) -> None:
    result = run(make_ctx(workspace, tmp_path), {"command": "echo small"})
    assert result.full_output_path is None


def test_capture_memory_is_bounded() -> None:
    capture = OutputCapture(1000, None, "bounded-test")
    chunk = b"y\n" * 32768
    for _ in range(200):  # 12.5 MB through a 1,000-byte cap
        capture.write(chunk)
        assert len(capture.sample()) <= 1000
    capture.close()
    assert capture.path is not None and capture.path.stat().st_size == 200 * len(chunk)
    capture.path.unlink()


def test_binary_output_is_summarised(workspace: Path, tmp_path: Path) -> None:
    result = run(make_ctx(workspace, tmp_path), {"command": "head -c 4096 /dev/urandom"})
    assert result.ok
    assert result.content.startswith("[binary 4,096 bytes")
    assert result.full_output_path and Path(result.full_output_path).stat().st_size == 4096


def test_invalid_utf8_is_decoded_lossily(workspace: Path, tmp_path: Path) -> None:
    result = run(make_ctx(workspace, tmp_path), {"command": r"printf 'caf\351 au lait\n'"})
    assert result.content.startswith("caf\ufffd au lait\n")


def test_ansi_and_carriage_returns_are_cleaned(workspace: Path, tmp_path: Path) -> None:
    result = run(
        make_ctx(workspace, tmp_path), {"command": r"printf '10%%\r100%%\n\033[31mred\033[0m\n'"}
    )
    assert result.content.startswith("100%\nred\n")


def test_background_process_holding_the_pipe_does_not_hang(workspace: Path, tmp_path: Path) -> None:
    result = run(make_ctx(workspace, tmp_path), {"command": "sleep 300 & echo PID=$!"})
    assert result.ok and result.exit_code == 0
    assert "background processes" in result.content
    assert gone_soon(first_pid(result.content))


def test_background_process_with_redirected_output_is_left_running(
    workspace: Path, tmp_path: Path
) -> None:
    result = run(
        make_ctx(workspace, tmp_path), {"command": "sleep 300 >/dev/null 2>&1 & echo PID=$!"}
    )
    pid = first_pid(result.content)
    try:
        assert result.ok and "background" not in result.content
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_death_by_signal_is_reported(workspace: Path, tmp_path: Path) -> None:
    result = run(make_ctx(workspace, tmp_path), {"command": "kill -KILL $$"})
    assert not result.ok and result.exit_code == 137
    assert "SIGKILL" in result.content


def test_empty_command(workspace: Path, tmp_path: Path) -> None:
    assert not run(make_ctx(workspace, tmp_path), {"command": "  "}).ok


@pytest.mark.parametrize("timeout", [0, -5, "soon"])
def test_invalid_timeout_uses_default(workspace: Path, tmp_path: Path, timeout: object) -> None:
    result = run(make_ctx(workspace, tmp_path), {"command": "echo ok", "timeout": timeout})
    assert result.ok and result.content.startswith("[invalid timeout")


# --------------------------------------------------------------------------- credentials


def test_commands_never_see_hermes_credentials(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "gsk_" + secrets.token_hex(20)  # a shape no redaction pattern knows
    monkeypatch.setenv("HERMES_API_KEY", key)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other-" + secrets.token_hex(12))
    monkeypatch.setenv("GROQ_API_KEY", key)
    monkeypatch.setenv("SPARE_COPY", key)
    register_credentials(key, "GROQ_API_KEY", os.environ)
    result = run(make_ctx(workspace, tmp_path), {"command": "printenv"})
    assert result.ok
    names = {line.split("=", 1)[0] for line in result.content.splitlines() if "=" in line}
    assert not names & {"HERMES_API_KEY", "OPENAI_API_KEY", "GROQ_API_KEY", "SPARE_COPY"}
    assert key not in result.content and "PATH" in names


def test_a_credential_passed_through_by_name_reaches_the_command(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "gsk_" + secrets.token_hex(20)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    register_credentials(key, "OPENAI_API_KEY", os.environ)
    limits = ToolLimits(env_passthrough=("OPENAI_API_KEY",))
    result = run(
        make_ctx(workspace, tmp_path, limits=limits), {"command": "printenv OPENAI_API_KEY"}
    )
    assert result.ok and key in result.content


def test_the_config_key_carries_the_passthrough_to_the_tools(workspace: Path) -> None:
    cfg = parse_config({"tools": {"env_passthrough": ["OPENAI_API_KEY"]}}, "test")
    assert cfg.tools.limits().env_passthrough == ("OPENAI_API_KEY",)


# --------------------------------------------------------------------------- what is claimed


def test_a_setsid_child_holding_the_output_is_said_to_maybe_run_on(
    workspace: Path, tmp_path: Path
) -> None:
    result = run(
        make_ctx(workspace, tmp_path), {"command": "setsid sleep 300 & echo PID=$!; sleep 0.2"}
    )
    pid = first_pid(result.content)
    try:
        assert alive(pid)  # it left the process group: hermes could not stop it
        assert "were stopped" not in result.content
        assert "may still be running" in result.content and f"pid {pid} (sleep)" in result.content
    finally:
        os.kill(pid, signal.SIGKILL)


def test_an_interrupt_names_a_setsid_child_it_could_not_stop(
    workspace: Path, tmp_path: Path
) -> None:
    seen = threading.Event()
    chunks: list[str] = []

    def on_output(text: str) -> None:
        chunks.append(text)
        if "PID=" in "".join(chunks):
            seen.set()

    ctx = make_ctx(workspace, tmp_path, on_output=on_output)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(
            terminal, ctx, {"command": "setsid sleep 300 & echo PID=$!; sleep 300"}
        )
        assert seen.wait(GUARD)
        ctx.cancel.set()
        result = future.result(timeout=GUARD)
    pid = first_pid(result.content)
    try:
        assert result.exit_code == 130 and "process group killed" in result.content
        assert f"may still be running: pid {pid} (sleep)" in result.content
    finally:
        os.kill(pid, signal.SIGKILL)
