"""Running one hook as a real process: stdin, exit code, output, timeout."""

from __future__ import annotations

import os
from pathlib import Path

from hermes.hooks.runner import HookResult, run_hook
from hermes.hooks.table import HookSpec


def spec(command: str, timeout: float = 30.0) -> HookSpec:
    return HookSpec("Stop", "", command, timeout, "test")


async def test_stdin_exit_code_and_output(tmp_path: Path) -> None:
    command = 'read -r line; echo "got $line"; echo oops >&2; echo "$PWD $MARK"; exit 3'
    result = await run_hook(
        spec(command), b'{"a": 1}\n', cwd=tmp_path, env={**os.environ, "MARK": "m"}
    )
    assert (result.exit_code, result.stdout, result.stderr, result.timed_out) == (
        3,
        f'got {{"a": 1}}\n{tmp_path} m\n',
        "oops\n",
        False,
    )


async def test_a_hook_that_ignores_its_input_and_leaves_a_child_behind_does_not_stall(
    tmp_path: Path,
) -> None:
    # The payload is larger than a pipe buffer and never read; a background child keeps
    # the hook's stdout open. The run still ends when the hook's own process exits.
    command = "sleep 30 & echo $!"
    result = await run_hook(spec(command), b"x" * 1_000_000, cwd=tmp_path, env=dict(os.environ))
    child = int(result.stdout)
    try:
        os.kill(child, 0)  # still running: the run did not wait for it
        assert (result.exit_code, result.timed_out) == (0, False)
    finally:
        os.kill(child, 9)


async def test_a_timeout_kills_the_hook(tmp_path: Path) -> None:
    result = await run_hook(spec("sleep 60", timeout=0.2), b"", cwd=tmp_path, env=dict(os.environ))
    assert (result.exit_code, result.timed_out) == (None, True)


async def test_a_missing_working_directory_is_reported_not_raised(tmp_path: Path) -> None:
    result = await run_hook(spec("true"), b"", cwd=tmp_path / "gone", env=dict(os.environ))
    assert isinstance(result, HookResult)
    assert result.exit_code is None and "gone" in result.error
