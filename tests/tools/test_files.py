"""read_file, write_file and patch against real files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hermes import protocol as p
from hermes.config import ToolLimits
from hermes.execution.spec import ToolContext
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from hermes.tools import builtin_tools
from hermes.tools.files import patch, preview_edit, read_file, write_file
from tests.support import make_config, make_engine, of_type, run_prompt


@pytest.fixture
def home(hermes_home: Path) -> Path:
    return hermes_home  # conftest gives every test its own HERMES_HOME


@pytest.fixture
def ws(workspace: Path) -> Path:
    return workspace


def make_ctx(ws: Path, **limits: int) -> ToolContext:
    return ToolContext(workspace=ws, limits=ToolLimits(**limits))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- registry


def test_builtin_tools_order_classes_and_schemas() -> None:
    tools = builtin_tools()
    assert [t.name for t in tools] == [
        "read_file",
        "search_files",
        "write_file",
        "patch",
        "terminal",
        "todo_write",
        "todo_read",
    ]
    classes = ["read", "read", "write", "write", "exec", "read", "read"]
    assert [t.tool_class for t in tools] == classes
    for tool in tools:
        params = tool.parameters
        assert params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])
        assert len(tool.description) < 200
    assert tools[0].parameters["required"] == ["path"]
    assert tools[3].parameters["required"] == ["path", "old_string", "new_string"]
    assert tools[4].parameters["required"] == ["command"]


# --------------------------------------------------------------------------- read_file


def test_read_numbers_lines_like_cat_n(ws: Path) -> None:
    (ws / "a.txt").write_text("alpha\nbeta\n")
    result = read_file(make_ctx(ws), {"path": "a.txt"})
    assert result.ok
    assert result.content == "     1\talpha\n     2\tbeta"


def test_read_absolute_path_and_crlf(ws: Path) -> None:
    (ws / "w.txt").write_bytes(b"one\r\ntwo\r\n")
    result = read_file(make_ctx(ws), {"path": str(ws / "w.txt")})
    assert result.content == "     1\tone\n     2\ttwo"


def test_read_offset_and_limit_with_continuation(ws: Path) -> None:
    (ws / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    result = read_file(make_ctx(ws), {"path": "n.txt", "offset": 10, "limit": 5})
    lines = result.content.splitlines()
    assert lines[0] == "    10\tline 10"
    assert lines[4] == "    14\tline 14"
    assert lines[5] == "... 86 more lines; call read_file with offset=15 to continue"


def test_read_default_limit_truncates_and_says_how_to_continue(ws: Path) -> None:
    (ws / "big.txt").write_text("".join(f"{i}\n" for i in range(1, 3001)))
    result = read_file(make_ctx(ws, read_max_lines=2000), {"path": "big.txt"})
    lines = result.content.splitlines()
    assert len(lines) == 2001
    assert lines[-2] == "  2000\t2000"
    assert lines[-1] == "... 1,000 more lines; call read_file with offset=2001 to continue"
    again = read_file(make_ctx(ws), {"path": "big.txt", "offset": 2001})
    assert again.content.splitlines()[-1] == "  3000\t3000"
    assert "more lines" not in again.content


def test_read_limit_is_clamped_to_the_maximum(ws: Path) -> None:
    (ws / "big.txt").write_text("x\n" * 50)
    result = read_file(make_ctx(ws, read_max_lines=10), {"path": "big.txt", "limit": 1000})
    assert result.content.splitlines()[-1].endswith("call read_file with offset=11 to continue")


def test_read_last_line_without_newline_counts(ws: Path) -> None:
    (ws / "t.txt").write_text("a\nb\nc")
    result = read_file(make_ctx(ws), {"path": "t.txt", "limit": 1})
    assert result.content.endswith("... 2 more lines; call read_file with offset=2 to continue")
    last = read_file(make_ctx(ws), {"path": "t.txt", "limit": 2})
    assert last.content.endswith("... 1 more line; call read_file with offset=3 to continue")


def test_read_long_lines_are_cut_with_marker(ws: Path) -> None:
    (ws / "long.txt").write_text("x" * 50_000 + "\nshort\n")
    result = read_file(make_ctx(ws, read_max_line_chars=100), {"path": "long.txt"})
    first, second = result.content.splitlines()
    assert first.startswith("     1\t" + "x" * 100 + "…")
    assert "line truncated, 50,001 bytes" in first
    assert "x" * 101 not in first
    assert second == "     2\tshort"


def test_read_stops_at_the_size_budget(ws: Path) -> None:
    (ws / "wide.txt").write_text(("w" * 1500 + "\n") * 300)
    result = read_file(make_ctx(ws), {"path": "wide.txt"})
    lines = result.content.splitlines()
    assert 50 < len(lines) < 100  # ~100,000 characters, not 2,000 lines
    shown = len(lines) - 1
    assert lines[-1] == (
        f"... {300 - shown} more lines; call read_file with offset={shown + 1} to continue"
    )


def test_read_offset_past_end(ws: Path) -> None:
    (ws / "s.txt").write_text("a\nb\n")
    result = read_file(make_ctx(ws), {"path": "s.txt", "offset": 5})
    assert not result.ok
    assert "has 2 lines" in result.content and "offset=5" in result.content


def test_read_empty_file(ws: Path) -> None:
    (ws / "e.txt").write_text("")
    result = read_file(make_ctx(ws), {"path": "e.txt"})
    assert result.ok and "empty" in result.content


def test_read_binary_file(ws: Path) -> None:
    (ws / "b.bin").write_bytes(b"\x00\x01\x02binary" * 100)
    result = read_file(make_ctx(ws), {"path": "b.bin"})
    assert result.ok
    assert result.content == "[binary file, 900 bytes]"


def test_read_invalid_utf8_is_decoded_lossily(ws: Path) -> None:
    (ws / "l.txt").write_bytes(b"caf\xe9 ok\n")
    result = read_file(make_ctx(ws), {"path": "l.txt"})
    assert result.ok
    assert result.content == "     1\tcaf\ufffd ok"


def test_read_missing_file_suggests_close_names(ws: Path) -> None:
    (ws / "config.py").write_text("x\n")
    result = read_file(make_ctx(ws), {"path": "confg.py"})
    assert not result.ok
    assert "File not found: confg.py" in result.content
    assert "config.py" in result.content


def test_read_missing_directory(ws: Path) -> None:
    result = read_file(make_ctx(ws), {"path": "nope/x.py"})
    assert not result.ok
    assert "File not found" in result.content and "does not exist" in result.content


def test_read_directory_suggests_search_files(ws: Path) -> None:
    (ws / "pkg").mkdir()
    result = read_file(make_ctx(ws), {"path": "pkg"})
    assert not result.ok
    assert "is a directory" in result.content and "search_files" in result.content


def test_read_fifo_is_refused_without_blocking(ws: Path) -> None:
    os.mkfifo(ws / "pipe")
    result = read_file(make_ctx(ws), {"path": "pipe"})
    assert not result.ok and "not a regular file" in result.content


# --------------------------------------------------------------------------- database refusal


@pytest.mark.parametrize("name", ["hermes.db", "hermes.db-wal", "hermes.db-shm"])
def test_database_files_are_refused(ws: Path, home: Path, name: str) -> None:
    db = home / name
    db.write_bytes(b"SQLite format 3\x00")
    ctx = make_ctx(ws)
    for result in (
        read_file(ctx, {"path": str(db)}),
        write_file(ctx, {"path": str(db), "content": "x"}),
        patch(ctx, {"path": str(db), "old_string": "SQLite", "new_string": "x"}),
    ):
        assert not result.ok
        assert "hermes' own database is not accessible through tools" in result.content
    assert db.read_bytes() == b"SQLite format 3\x00"


def test_database_refused_through_a_symlink(ws: Path, home: Path) -> None:
    (home / "hermes.db").write_text("secret")
    (ws / "innocent.txt").symlink_to(home / "hermes.db")
    result = read_file(make_ctx(ws), {"path": "innocent.txt"})
    assert not result.ok and "database" in result.content


def test_other_files_in_hermes_home_are_readable(ws: Path, home: Path) -> None:
    (home / "config.yaml").write_text("model: x\n")
    assert read_file(make_ctx(ws), {"path": str(home / "config.yaml")}).ok


# --------------------------------------------------------------------------- write_file


def test_write_creates_parents_and_reports(ws: Path) -> None:
    result = write_file(make_ctx(ws), {"path": "a/b/c.txt", "content": "one\ntwo\n"})
    assert result.ok
    assert (ws / "a/b/c.txt").read_text() == "one\ntwo\n"
    assert result.content == "Created a/b/c.txt (8 bytes, 2 lines)"
    assert result.diff.startswith("--- /dev/null\n+++ b/a/b/c.txt\n")
    assert "+one\n+two\n" in result.diff


def test_write_overwrite_diff_against_previous(ws: Path) -> None:
    (ws / "f.txt").write_text("keep\nold\n")
    result = write_file(make_ctx(ws), {"path": "f.txt", "content": "keep\nnew\n"})
    assert result.ok and result.content.startswith("Wrote f.txt")
    assert "-old\n+new\n" in result.diff
    assert result.diff.startswith("--- a/f.txt\n+++ b/f.txt\n")


def test_write_keeps_mode(ws: Path) -> None:
    script = ws / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o751)
    assert write_file(make_ctx(ws), {"path": "run.sh", "content": "#!/bin/sh\necho hi\n"}).ok
    assert stat.S_IMODE(script.stat().st_mode) == 0o751


def test_write_new_file_mode_follows_umask(ws: Path) -> None:
    old = os.umask(0o022)
    try:
        assert write_file(make_ctx(ws), {"path": "n.txt", "content": "x"}).ok
    finally:
        os.umask(old)
    assert stat.S_IMODE((ws / "n.txt").stat().st_mode) == 0o644


def test_write_is_atomic_replace(ws: Path) -> None:
    target = ws / "f.txt"
    target.write_text("before")
    inode = target.stat().st_ino
    assert write_file(make_ctx(ws), {"path": "f.txt", "content": "after"}).ok
    assert target.read_text() == "after"
    assert target.stat().st_ino != inode  # a new file was renamed into place
    assert sorted(p.name for p in ws.iterdir()) == ["f.txt"]  # no temp file left behind


def test_write_through_symlink_keeps_the_link(ws: Path) -> None:
    (ws / "real.txt").write_text("a")
    (ws / "link.txt").symlink_to(ws / "real.txt")
    assert write_file(make_ctx(ws), {"path": "link.txt", "content": "b"}).ok
    assert (ws / "link.txt").is_symlink()
    assert (ws / "real.txt").read_text() == "b"


def test_write_to_directory_or_under_a_file_fails(ws: Path) -> None:
    (ws / "d").mkdir()
    (ws / "file").write_text("x")
    ctx = make_ctx(ws)
    assert "is a directory" in write_file(ctx, {"path": "d", "content": "x"}).content
    result = write_file(ctx, {"path": "file/sub.txt", "content": "x"})
    assert not result.ok and "not a directory" in result.content


def test_write_unchanged_content_is_said(ws: Path) -> None:
    (ws / "f.txt").write_text("same\n")
    result = write_file(make_ctx(ws), {"path": "f.txt", "content": "same\n"})
    assert result.ok and "unchanged" in result.content and result.diff == ""


# --------------------------------------------------------------------------- patch


SOURCE = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"


def test_patch_unique_match(ws: Path) -> None:
    (ws / "m.py").write_text(SOURCE)
    args = {
        "path": "m.py",
        "old_string": "def f():\n    return 1",
        "new_string": "def f():\n    return 2",
    }
    result = patch(make_ctx(ws), args)
    assert result.ok
    assert (ws / "m.py").read_text() == SOURCE.replace("return 1", "return 2", 1)
    assert result.content.startswith(
        "Patched m.py: replaced 1 occurrence\n--- a/m.py\n+++ b/m.py\n"
    )
    assert "-    return 1\n+    return 2\n" in result.diff
    assert result.diff in result.content


def test_patch_several_matches_needs_replace_all(ws: Path) -> None:
    (ws / "m.py").write_text(SOURCE + "x = 1\n")
    result = patch(make_ctx(ws), {"path": "m.py", "old_string": "1", "new_string": "3"})
    assert not result.ok
    assert result.content.startswith("old_string matches 3 places in m.py (lines 2, 6, 7)")
    assert "add surrounding lines to make it unique or set replace_all" in result.content
    assert (ws / "m.py").read_text() == SOURCE + "x = 1\n"


def test_patch_replace_all(ws: Path) -> None:
    (ws / "m.py").write_text(SOURCE)
    args = {"path": "m.py", "old_string": "return 1", "new_string": "return 0", "replace_all": True}
    result = patch(make_ctx(ws), args)
    assert result.ok and "replaced 2 occurrences" in result.content
    assert (ws / "m.py").read_text().count("return 0") == 2


def test_patch_zero_matches(ws: Path) -> None:
    (ws / "m.py").write_text(SOURCE)
    result = patch(make_ctx(ws), {"path": "m.py", "old_string": "return 99", "new_string": "x"})
    assert not result.ok
    assert result.content.startswith("old_string not found in m.py")
    assert "whitespace" not in result.content


def test_patch_whitespace_hint(ws: Path) -> None:
    (ws / "m.py").write_text(SOURCE)
    args = {
        "path": "m.py",
        "old_string": "def g():\n  return 1",
        "new_string": "def g():\n  return 5",
    }
    result = patch(make_ctx(ws), args)
    assert not result.ok
    assert "old_string not found in m.py" in result.content
    assert "line 5" in result.content and "indentation/whitespace differs" in result.content


def test_patch_same_string_is_an_error(ws: Path) -> None:
    (ws / "m.py").write_text(SOURCE)
    result = patch(make_ctx(ws), {"path": "m.py", "old_string": "f", "new_string": "f"})
    assert not result.ok and "identical" in result.content


def test_patch_empty_old_string_and_missing_file(ws: Path) -> None:
    (ws / "m.py").write_text(SOURCE)
    ctx = make_ctx(ws)
    assert "write_file" in patch(ctx, {"path": "m.py", "old_string": "", "new_string": "x"}).content
    missing = patch(ctx, {"path": "nope.py", "old_string": "a", "new_string": "b"})
    assert (
        not missing.ok and "File not found" in missing.content and "write_file" in missing.content
    )


def test_patch_keeps_mode_and_crlf(ws: Path) -> None:
    target = ws / "w.bat"
    target.write_bytes(b"echo one\r\necho two\r\n")
    target.chmod(0o700)
    args = {"path": "w.bat", "old_string": "echo one\necho two", "new_string": "echo 1\necho 2"}
    result = patch(make_ctx(ws), args)
    assert result.ok
    assert target.read_bytes() == b"echo 1\r\necho 2\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_patch_preserves_undecodable_bytes(ws: Path) -> None:
    target = ws / "latin.txt"
    target.write_bytes(b"caf\xe9\nname = old\n")
    result = patch(make_ctx(ws), {"path": "latin.txt", "old_string": "old", "new_string": "new"})
    assert result.ok
    assert target.read_bytes() == b"caf\xe9\nname = new\n"


def test_patch_binary_file_refused(ws: Path) -> None:
    (ws / "b.bin").write_bytes(b"\x00abc")
    result = patch(make_ctx(ws), {"path": "b.bin", "old_string": "abc", "new_string": "x"})
    assert not result.ok and "binary" in result.content


# --------------------------------------------------------------------------- preview_edit


def test_preview_edit_patch_shows_the_replacement(ws: Path) -> None:
    target = ws / "a.txt"
    target.write_text("one\ntwo\ntwo\n")
    once = preview_edit("patch", {"old_string": "two", "new_string": "2"}, target, ws)
    assert "--- a/a.txt" in once and once.count("-two") == 1 and once.count("+2") == 1
    every = {"old_string": "two", "new_string": "2", "replace_all": True}
    assert preview_edit("patch", every, target, ws).count("+2") == 2
    assert target.read_text() == "one\ntwo\ntwo\n"  # a preview never writes


def test_preview_edit_write_file_new_and_unchanged(ws: Path) -> None:
    target = ws / "sub" / "new.txt"
    created = preview_edit("write_file", {"content": "hello\n"}, target, ws)
    assert "sub/new.txt" in created and "+hello" in created
    (ws / "same.txt").write_text("x\n")
    assert preview_edit("write_file", {"content": "x\n"}, ws / "same.txt", ws) == ""


def test_preview_edit_cannot_tell(ws: Path) -> None:
    target = ws / "a.txt"
    target.write_text("one\n")
    assert preview_edit("patch", {"old_string": "zzz", "new_string": "y"}, target, ws) == ""
    assert preview_edit("patch", {"old_string": "one", "new_string": "1"}, ws / "no.txt", ws) == ""
    assert preview_edit("patch", {"old_string": "", "new_string": "1"}, target, ws) == ""
    assert preview_edit("read_file", {"content": "x"}, target, ws) == ""


# --------------------------------------------------------------------------- NUL bytes in paths

NUL_CALLS = [
    ("read_file", {"path": "a\x00b.txt"}),
    ("write_file", {"path": "a\x00b.txt", "content": "x"}),
    ("patch", {"path": "a\x00b.txt", "old_string": "x", "new_string": "y"}),
    ("search_files", {"pattern": "x", "path": "a\x00b"}),
]


@pytest.mark.parametrize(("name", "args"), NUL_CALLS, ids=[n for n, _ in NUL_CALLS])
def test_nul_byte_in_a_path_is_a_tool_error(ws: Path, name: str, args: dict[str, str]) -> None:
    spec = next(t for t in builtin_tools() if t.name == name)
    result = spec.handler(make_ctx(ws), args)
    assert not result.ok and result.content.startswith("path contains a NUL byte")
    assert os.listdir(ws) == []


@pytest.mark.parametrize(("name", "args"), NUL_CALLS, ids=[n for n, _ in NUL_CALLS])
async def test_nul_byte_in_a_path_does_not_stop_the_turn(
    server: ScriptedServer, ws: Path, store: Store, name: str, args: dict[str, str]
) -> None:
    """Issue 20, finding 16: the model is told, and the turn goes on to its answer."""
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall(name, json.dumps(args)),)),
        ScriptedReply(text="done"),
    )
    config = make_config(server.base_url, ws, approval_mode="yolo")
    events = await run_prompt(make_engine(config, ws, store), "go")
    (end,) = of_type(events, p.ToolCallEnd)
    assert end.status == "failed" and "path contains a NUL byte" in end.output
    assert of_type(events, p.TurnComplete) and not of_type(events, p.Error)
    tool_message = server.requests[1].messages[-1]
    assert tool_message["role"] == "tool" and "path contains a NUL byte" in tool_message["content"]


def test_edit_problem_says_why_a_patch_would_fail_without_writing(tmp_path: Path) -> None:
    from hermes.tools.files import edit_problem

    target = tmp_path / "a.py"
    target.write_text("x = 1\nx = 1\n")
    args = {"path": "a.py", "old_string": "x = 1", "new_string": "x = 2"}
    assert edit_problem("patch", args, tmp_path).startswith("old_string matches 2 places in a.py")
    assert edit_problem("patch", {**args, "replace_all": True}, tmp_path) == ""
    assert edit_problem("patch", {**args, "old_string": "y"}, tmp_path).startswith(
        "old_string not found in a.py"
    )
    assert edit_problem("patch", {**args, "path": "b.py"}, tmp_path).startswith(
        "File not found: b.py"
    )
    assert edit_problem("write_file", {"path": "a.py", "content": ""}, tmp_path) == ""
    assert target.read_text() == "x = 1\nx = 1\n"
