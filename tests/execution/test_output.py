"""Saved full outputs: each file capped (head + tail, the drop said), the folder capped in
total with the oldest files removed first (issue 20, finding 15)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hermes.config import ConfigError, ToolLimits, parse_config
from hermes.execution.output import (
    OutputCapture,
    check_outputs,
    outputs_usage,
    prune_outputs,
)
from hermes.execution.spec import ToolContext
from hermes.redact import register_secret
from hermes.tools.terminal import terminal

NOTE_RE = re.compile(rb"\n\[\.\.\. ([\d,]+) bytes dropped here by hermes: [^\n]*\.\.\.\]\n")


def stream(n: int) -> bytes:
    """``n`` bytes of numbered lines, so any misplaced byte shows."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += f"line {i:07d}\n".encode()
        i += 1
    return bytes(out[:n])


def capture(tmp_path: Path, file_cap: int, total_cap: int = 1 << 30) -> OutputCapture:
    limits = ToolLimits(output_file_max_bytes=file_cap, outputs_total_max_bytes=total_cap)
    return OutputCapture(1000, tmp_path / "outputs", "call_1", limits=limits)


def feed(cap: OutputCapture, data: bytes, sizes: tuple[int, ...]) -> None:
    pos, i = 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        cap.write(data[pos : pos + size])
        pos += size
        i += 1


@pytest.mark.parametrize(
    "sizes",
    [(4096,), (7, 3001, 12_345, 1), (25_000,), (100_000,)],
    ids=["pages", "ragged", "ring-sized", "bigger-than-the-ring"],
)
def test_saved_file_keeps_head_and_tail_and_says_what_was_dropped(
    tmp_path: Path, sizes: tuple[int, ...]
) -> None:
    data = stream(1_000_003)
    cap = capture(tmp_path, file_cap=50_000)
    feed(cap, data, sizes)
    shown = cap.render()
    assert cap.path is not None
    saved = cap.path.read_bytes()
    note = NOTE_RE.search(saved)
    assert note is not None
    dropped = len(data) - 50_000
    assert int(note.group(1).replace(b",", b"")) == dropped == cap.dropped
    assert saved[: note.start()] == data[:25_000]
    assert saved[note.end() :] == data[-25_000:]
    assert f"output saved to {cap.path} without its middle {dropped:,} bytes" in shown
    assert "full output saved" not in shown
    assert shown.startswith("line 0000000\n") and shown.endswith(data[-200:].decode())


def test_output_under_the_file_cap_is_saved_whole(tmp_path: Path) -> None:
    data = stream(40_000)
    cap = capture(tmp_path, file_cap=50_000)
    feed(cap, data, (333,))
    shown = cap.render()
    assert cap.path is not None and cap.path.read_bytes() == data
    assert cap.dropped == 0 and f"full output saved to {cap.path}" in shown


def test_exactly_the_file_cap_is_saved_whole(tmp_path: Path) -> None:
    data = stream(50_000)
    cap = capture(tmp_path, file_cap=50_000)
    feed(cap, data, (50_000,))
    cap.render()
    assert cap.path is not None and cap.path.read_bytes() == data


def old_file(directory: Path, name: str, size: int, age: int) -> Path:
    """A saved output of ``size`` bytes whose mtime is ``age`` seconds in the past."""
    path = directory / name
    path.write_bytes(b"x" * size)
    stamp = 1_700_000_000 - age
    os.utime(path, (stamp, stamp))
    return path


def test_folder_total_is_capped_oldest_first(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    oldest = old_file(outputs, "a.log", 40_000, age=300)
    older = old_file(outputs, "b.log", 40_000, age=200)
    newer = old_file(outputs, "c.log", 40_000, age=100)
    cap = capture(tmp_path, file_cap=50_000, total_cap=100_000)
    feed(cap, stream(200_000), (8192,))
    cap.render()
    assert cap.path is not None and cap.path.exists()
    # Room for a whole new file is made before it grows: 40 KB + at most 50 KB stay.
    assert not oldest.exists() and not older.exists() and newer.exists()
    assert outputs_usage(outputs)[1] <= 100_000


def test_pruning_spares_files_still_being_written(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    first = capture(tmp_path, file_cap=50_000, total_cap=60_000)
    first.write(stream(30_000))  # spilled, still open
    assert first.path is not None
    os.utime(first.path, (1_600_000_000, 1_600_000_000))  # the oldest file there
    second = capture(tmp_path, file_cap=50_000, total_cap=60_000)
    second.write(stream(40_000))
    second.render()
    assert first.path.exists()  # open: spared, though it is the oldest
    first.render()  # finished: the file just written is kept, the other makes room
    assert first.path.exists() and second.path is not None and not second.path.exists()
    assert outputs_usage(outputs)[1] <= 60_000


def test_prune_outputs_ignores_directories_and_missing_folders(tmp_path: Path) -> None:
    assert prune_outputs(tmp_path / "nowhere", 0) == 0
    (tmp_path / "sub").mkdir()
    old_file(tmp_path, "a.log", 10, age=10)
    assert prune_outputs(tmp_path, 0) == 10
    assert (tmp_path / "sub").is_dir()


def test_doctor_line_reports_count_and_size(tmp_path: Path) -> None:
    old_file(tmp_path, "a.log", 3 << 20, age=1)
    ok = check_outputs(tmp_path, 1 << 30)
    assert ok.level == "ok" and ok.detail.startswith(f"1 saved in {tmp_path}, 3.0 MiB of 1.0 GiB")
    assert check_outputs(tmp_path, 1 << 20).level == "warn"


def test_config_keys_reach_the_tool_limits() -> None:
    cfg = parse_config(
        {"tools": {"output_file_max_bytes": 65_536, "outputs_total_max_bytes": 1_048_576}}, "t"
    )
    limits = cfg.tools.limits()
    assert (limits.output_file_max_bytes, limits.outputs_total_max_bytes) == (65_536, 1_048_576)
    with pytest.raises(ConfigError, match="outputs_total_max_bytes"):
        parse_config(
            {"tools": {"output_file_max_bytes": 2 << 20, "outputs_total_max_bytes": 1}}, "t"
        )
    with pytest.raises(ConfigError, match="output_file_max_bytes"):
        parse_config({"tools": {"output_file_max_bytes": 10}}, "t")


def test_a_flooding_command_leaves_a_capped_file(workspace: Path, tmp_path: Path) -> None:
    limits = ToolLimits(
        max_output_bytes=2000, output_file_max_bytes=65_536, outputs_total_max_bytes=1 << 20
    )
    ctx = ToolContext(
        workspace=workspace, limits=limits, output_dir=tmp_path / "outputs", call_id="flood"
    )
    result = terminal(ctx, {"command": "seq 1 400000"})  # 2.7 MB
    assert result.full_output_path is not None
    saved = Path(result.full_output_path).read_bytes()
    assert len(saved) < 65_536 + 200
    assert saved.startswith(b"1\n2\n3\n") and saved.endswith(b"399999\n400000\n")
    assert NOTE_RE.search(saved) is not None
    assert "without its middle" in result.content


PLANTED = {
    "openai": "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2,
    "anthropic": "sk-ant-api03-" + "x7Yz" * 20,
    "github": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "slack": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
    "url": "s3cr3t-pass-for-url",
    "bearer": "abc.def-ghi_jkl123456",
    "groq": "gsk_" + "7f" * 24,  # a shape no pattern knows: registered as hermes' key
}


def test_a_spilled_output_is_redacted_and_the_model_still_sees_it_all(
    workspace: Path, tmp_path: Path
) -> None:
    register_secret(PLANTED["groq"])
    lines = [
        f"export OPENAI_API_KEY={PLANTED['openai']}",
        f"key: {PLANTED['anthropic']}",
        f"token {PLANTED['github']}",
        f"aws_access_key_id = {PLANTED['aws']}",
        f"SLACK={PLANTED['slack']}",
        f"https://alice:{PLANTED['url']}@example.com/repo.git",
        f"Authorization: Bearer {PLANTED['bearer']}",
        f"GROQ_API_KEY={PLANTED['groq']}",
    ]
    script = workspace / "leak.sh"
    # Padding first and between, in odd pieces, so the file is spilled and secrets meet
    # the pipe's chunk boundaries anywhere.
    script.write_text(
        "for i in $(seq 1 3000); do printf 'padding line %05d\\n' $i; done\n"
        + "".join(f"printf '%s' '{line[:7]}'; printf '%s\\n' '{line[7:]}'\n" for line in lines)
        + "seq 1 3000\n"
    )
    limits = ToolLimits(max_output_bytes=2000)
    ctx = ToolContext(
        workspace=workspace, limits=limits, output_dir=tmp_path / "outputs", call_id="leak"
    )
    result = terminal(ctx, {"command": "bash leak.sh"})
    assert result.ok and result.full_output_path is not None
    saved = Path(result.full_output_path).read_text()
    assert [name for name, secret in PLANTED.items() if secret in saved] == []
    assert saved.count("[REDACTED:") == len(PLANTED)
    assert "padding line 03000\n" in saved and saved.endswith("2999\n3000\n")


def test_the_capture_redacts_across_any_piece_size(tmp_path: Path) -> None:
    data = stream(5000) + f"\nkey={PLANTED['openai']}\n".encode() + stream(5000)
    for sizes in [(1,), (7, 3001), (4096,)]:
        cap = OutputCapture(1000, tmp_path / f"out-{sizes[0]}", "call_1")
        feed(cap, data, sizes)
        cap.close()
        assert cap.path is not None
        saved = cap.path.read_bytes()
        assert saved == data.replace(PLANTED["openai"].encode(), b"[REDACTED:api-key]")
