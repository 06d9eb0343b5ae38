"""search_files: the pure-Python fallback, a stand-in rg, and the real rg (a dependency)."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import sysconfig
import threading
from pathlib import Path
from typing import Any

import pytest

from hermes.config import ToolLimits
from hermes.execution.spec import ToolContext
from hermes.tools import search
from hermes.tools.search import Glob, expand_braces, search_files


@pytest.fixture
def no_rg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "find_rg", lambda: None)


@pytest.fixture
def tree(workspace: Path) -> Path:
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("import os\n\ndef main():\n    return os.getcwd()\n")
    (workspace / "src" / "util.py").write_text("def helper():\n    return 42\n")
    (workspace / "src" / "view.tsx").write_text("export const main = 1\n")
    (workspace / "README.md").write_text("# main project\n")
    for skipped in (".git", "node_modules/pkg", "__pycache__", ".venv/lib"):
        (workspace / skipped).mkdir(parents=True)
        (workspace / skipped / "hidden.py").write_text("def main(): pass\n")
    (workspace / "src" / "data.bin").write_bytes(b"\x00\x01main\x00" * 50)
    return workspace


def ctx_for(ws: Path, **limits: int) -> ToolContext:
    return ToolContext(workspace=ws, limits=ToolLimits(**limits))  # type: ignore[arg-type]


def test_content_search_format_and_skips(tree: Path, no_rg: None) -> None:
    result = search_files(ctx_for(tree), {"pattern": r"def \w+\("})
    assert result.ok
    assert result.content.splitlines() == [
        "src/app.py:3:def main():",
        "src/util.py:1:def helper():",
    ]


def test_content_search_skips_binary_files(tree: Path, no_rg: None) -> None:
    result = search_files(ctx_for(tree), {"pattern": "main"})
    assert "data.bin" not in result.content
    assert "README.md:1:# main project" in result.content


def test_file_glob_filters_including_braces(tree: Path, no_rg: None) -> None:
    result = search_files(ctx_for(tree), {"pattern": "main", "file_glob": "*.py"})
    assert result.content.splitlines() == ["src/app.py:3:def main():"]
    both = search_files(ctx_for(tree), {"pattern": "main", "file_glob": "*.{py,tsx}"})
    assert both.content.splitlines() == [
        "src/app.py:3:def main():",
        "src/view.tsx:1:export const main = 1",
    ]


def test_path_restricts_search_and_may_be_a_file(tree: Path, no_rg: None) -> None:
    ctx = ctx_for(tree)
    assert search_files(ctx, {"pattern": "return", "path": "src/util.py"}).content == (
        "src/util.py:2:    return 42"
    )
    outside = search_files(ctx, {"pattern": "main", "path": str(tree / "src")})
    assert outside.content.splitlines()[0] == "src/app.py:3:def main():"


def test_explicit_path_into_skipped_dir_is_searched(tree: Path, no_rg: None) -> None:
    result = search_files(ctx_for(tree), {"pattern": "main", "path": "node_modules"})
    assert result.content == "node_modules/pkg/hidden.py:1:def main(): pass"


def test_limit_and_more_note(workspace: Path, no_rg: None) -> None:
    (workspace / "many.txt").write_text("hit\n" * 30)
    result = search_files(ctx_for(workspace), {"pattern": "hit", "limit": 10})
    lines = result.content.splitlines()
    assert len(lines) == 11
    assert lines[9] == "many.txt:10:hit"
    assert lines[10].startswith("[20 more matches not shown")


def test_default_limit_comes_from_limits(workspace: Path, no_rg: None) -> None:
    (workspace / "many.txt").write_text("hit\n" * 30)
    result = search_files(ctx_for(workspace, search_max_results=5), {"pattern": "hit", "limit": 99})
    assert result.content.splitlines()[-1].startswith("[25 more matches not shown")


def test_zero_matches_is_not_ok(tree: Path, no_rg: None) -> None:
    result = search_files(ctx_for(tree), {"pattern": "no_such_identifier"})
    assert not result.ok
    assert "No matches for 'no_such_identifier'" in result.content


def test_invalid_regex(tree: Path, no_rg: None) -> None:
    result = search_files(ctx_for(tree), {"pattern": "foo(bar"})
    assert not result.ok
    assert result.content.startswith("Invalid regex 'foo(bar'")


def test_missing_path(tree: Path, no_rg: None) -> None:
    result = search_files(ctx_for(tree), {"pattern": "x", "path": "nowhere"})
    assert not result.ok and "Path not found: nowhere" in result.content


def test_long_matching_lines_are_cut(workspace: Path, no_rg: None) -> None:
    (workspace / "min.js").write_text("var a=1;" * 1000 + "\n")
    result = search_files(ctx_for(workspace), {"pattern": "var"})
    assert len(result.content) < 600 and result.content.endswith("…")


def test_files_target_glob_and_substring(tree: Path, no_rg: None) -> None:
    ctx = ctx_for(tree)
    by_glob = search_files(ctx, {"pattern": "*.py", "target": "files"})
    assert by_glob.content.splitlines() == ["src/app.py", "src/util.py"]
    by_name = search_files(ctx, {"pattern": "UTIL", "target": "files"})
    assert by_name.content == "src/util.py"
    by_path = search_files(ctx, {"pattern": "src/*.tsx", "target": "files"})
    assert by_path.content == "src/view.tsx"
    none = search_files(ctx, {"pattern": "*.rs", "target": "files"})
    assert not none.ok and "No files matching '*.rs'" in none.content


def test_files_target_limit(workspace: Path, no_rg: None) -> None:
    for i in range(12):
        (workspace / f"f{i:02}.txt").write_text("")
    result = search_files(ctx_for(workspace), {"pattern": "*.txt", "target": "files", "limit": 5})
    lines = result.content.splitlines()
    assert lines[:5] == [f"f{i:02}.txt" for i in range(5)]
    assert lines[5].startswith("[7 more files not shown")


def test_gitignore_is_respected_roughly(workspace: Path, no_rg: None) -> None:
    (workspace / ".gitignore").write_text("# comment\n*.log\nbuild/\n/top.txt\n!keep.log\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "out.txt").write_text("needle\n")
    (workspace / "debug.log").write_text("needle\n")
    (workspace / "keep.log").write_text("needle\n")
    (workspace / "top.txt").write_text("needle\n")
    (workspace / "sub").mkdir()
    (workspace / "sub" / "top.txt").write_text("needle\n")
    (workspace / "sub" / ".gitignore").write_text("local.txt\n")
    (workspace / "sub" / "local.txt").write_text("needle\n")
    result = search_files(ctx_for(workspace), {"pattern": "needle"})
    assert result.content.splitlines() == ["keep.log:1:needle", "sub/top.txt:1:needle"]


def test_virtualenv_without_dot_is_skipped(workspace: Path, no_rg: None) -> None:
    (workspace / "env").mkdir()
    (workspace / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (workspace / "env" / "x.py").write_text("needle\n")
    (workspace / "y.py").write_text("needle\n")
    assert search_files(ctx_for(workspace), {"pattern": "needle"}).content == "y.py:1:needle"


def test_database_is_never_searched(workspace: Path, hermes_home: Path, no_rg: None) -> None:
    (hermes_home / "hermes.db").write_text("needle in the db\n")
    (hermes_home / "notes.txt").write_text("needle in notes\n")
    ctx = ctx_for(workspace)
    result = search_files(ctx, {"pattern": "needle", "path": str(hermes_home)})
    # Everything in hermes' home may hold secrets: its lines are withheld, the file named;
    # the database itself is not even named.
    assert result.content == (
        f"[matches in 1 file(s) that may hold secrets are not shown: {hermes_home}/notes.txt; "
        "read_file asks before showing them]"
    )
    direct = search_files(ctx, {"pattern": "needle", "path": str(hermes_home / "hermes.db")})
    assert not direct.ok and "hermes' own database" in direct.content


def test_cancel_stops_the_search(tree: Path, no_rg: None) -> None:
    ctx = ctx_for(tree)
    ctx.cancel.set()
    result = search_files(ctx, {"pattern": "main"})
    assert not result.ok and "interrupted" in result.content


def test_glob_helpers() -> None:
    assert expand_braces("*.{ts,tsx}") == ["*.ts", "*.tsx"]
    assert Glob("**/tests/*.py").match("tests/a.py", "a.py")
    assert Glob("**/tests/*.py").match("x/tests/a.py", "a.py")
    assert not Glob("!*.py").match("a.py", "a.py")
    assert Glob("!*.py").match("a.js", "a.js")


# --------------------------------------------------------------------------- the rg path


def fake_rg(tmp_path: Path, stdout: bytes, code: int = 0) -> tuple[Path, Path]:
    """A stand-in ``rg`` that records its argv and prints canned output."""
    log = tmp_path / "rg-argv.txt"
    out = tmp_path / "rg-out.bin"
    out.write_bytes(stdout)
    script = tmp_path / "rg"
    script.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do printf "%s\\n" "$a"; done > "{log}"\n'
        f'cat "{out}"\n'
        f"exit {code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_rg_is_used_when_installed(
    tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = str(tree / "src" / "app.py").encode() + b"\x003:def main():\n"
    rg, log = fake_rg(tmp_path, line + b"WARNING: stopped searching binary file\n")
    monkeypatch.setattr(search, "find_rg", lambda: str(rg))
    result = search_files(ctx_for(tree), {"pattern": "-main", "file_glob": "*.py"})
    assert result.ok and result.content == "src/app.py:3:def main():"
    argv = log.read_text().splitlines()
    assert "--no-config" in argv and "--null" in argv
    assert not any(a.startswith("--pre") for a in argv)
    assert argv[argv.index("-e") + 1] == "-main"  # a pattern never parses as a flag
    assert "*.py" in argv and "--hidden" in argv


def test_rg_regex_error_is_reported(
    tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rg, _log = fake_rg(tmp_path, b"", code=2)
    (tmp_path / "rg").write_text(
        "#!/bin/sh\necho 'regex parse error: unclosed group' >&2\nexit 2\n"
    )
    monkeypatch.setattr(search, "find_rg", lambda: str(rg))
    result = search_files(ctx_for(tree), {"pattern": "("})
    assert not result.ok and result.content.startswith("Invalid regex '('")


def test_rg_files_target(tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = b"".join(
        str(tree / p).encode() + b"\n" for p in ("README.md", "src/app.py", "src/util.py")
    )
    rg, log = fake_rg(tmp_path, listing)
    monkeypatch.setattr(search, "find_rg", lambda: str(rg))
    result = search_files(ctx_for(tree), {"pattern": "*.py", "target": "files"})
    assert result.content.splitlines() == ["src/app.py", "src/util.py"]
    assert "--files" in log.read_text().splitlines()


def test_real_rg_matches_fallback(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert search.find_rg() is not None
    with_rg = search_files(ctx_for(tree), {"pattern": r"def \w+\(", "file_glob": "*.py"})
    monkeypatch.setattr(search, "find_rg", lambda: None)
    without = search_files(ctx_for(tree), {"pattern": r"def \w+\(", "file_glob": "*.py"})
    assert with_rg.content == without.content


# --------------------------------------------------------------------------- rg is always there


def test_rg_is_found_beside_python_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``ripgrep`` wheel's rg sits in the environment's bin, which need not be on PATH."""
    monkeypatch.setenv("PATH", "/nonexistent")
    found = search.find_rg()
    assert found is not None and shutil.which("rg") is None
    assert Path(found).parent in {Path(sysconfig.get_path("scripts")), Path(sys.executable).parent}


# --------------------------------------------------------------------------- non-regular files


def run_bounded(ctx: ToolContext, args: dict[str, Any]) -> Any:
    """search_files in a thread; a hang shows as None after a generous wait (the test
    does not depend on speed: a correct search returns at once, a hung one never)."""
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(search_files(ctx, args)), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        ctx.cancel.set()
        return None
    return box[0]


@pytest.fixture
def fifo_tree(workspace: Path) -> Path:
    (workspace / "a.txt").write_text("needle here\n")
    os.mkfifo(workspace / "pipe")
    (workspace / "sub").mkdir()
    os.mkfifo(workspace / "sub" / "needle.fifo")
    return workspace


@pytest.mark.parametrize("with_rg", [False, True], ids=["fallback", "rg"])
def test_search_skips_fifos(
    fifo_tree: Path, monkeypatch: pytest.MonkeyPatch, with_rg: bool
) -> None:
    if not with_rg:
        monkeypatch.setattr(search, "find_rg", lambda: None)
    result = run_bounded(ctx_for(fifo_tree), {"pattern": "needle"})
    assert result is not None, "search_files hung on a FIFO"
    assert result.ok and result.content == "a.txt:1:needle here"
    names = run_bounded(ctx_for(fifo_tree), {"pattern": "needle", "target": "files"})
    assert names is not None  # a name search never opens a file (rg does not list FIFOs)


def test_fifo_gitignore_is_not_opened(workspace: Path, no_rg: None) -> None:
    (workspace / "a.txt").write_text("needle\n")
    os.mkfifo(workspace / ".gitignore")
    result = run_bounded(ctx_for(workspace), {"pattern": "needle"})
    assert result is not None and result.content == "a.txt:1:needle"


def test_fifo_as_the_search_path_is_an_error(fifo_tree: Path) -> None:
    result = run_bounded(ctx_for(fifo_tree), {"pattern": "x", "path": "pipe"})
    assert result is not None and not result.ok
    assert result.content.startswith("pipe is not a regular file or a directory")


def test_open_regular_refuses_what_is_not_a_file(fifo_tree: Path) -> None:
    assert search.open_regular(fifo_tree / "pipe") is None
    assert search.open_regular(fifo_tree / "sub") is None
    assert search.open_regular("/dev/null") is None
    assert search.open_regular(fifo_tree / "missing") is None
    f = search.open_regular(fifo_tree / "a.txt")
    assert f is not None
    with f:
        assert f.read() == b"needle here\n"


def test_huge_file_is_streamed_from_the_descriptor_it_checked(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, no_rg: None
) -> None:
    monkeypatch.setattr(search, "WHOLE_READ_BYTES", 10)
    (workspace / "big.txt").write_text("one\ntwo needle\nthree\n")
    assert search_files(ctx_for(workspace), {"pattern": "needle"}).content == "big.txt:2:two needle"


@pytest.mark.parametrize("arg", ["path", "pattern", "file_glob"])
def test_nul_byte_in_an_argument_is_a_tool_error(workspace: Path, arg: str) -> None:
    args = {"pattern": "x", arg: "a\x00b"}
    result = search_files(ctx_for(workspace), args)
    assert not result.ok and result.content.startswith(f"{arg} contains a NUL byte")


@pytest.mark.parametrize("with_rg", [False, True], ids=["python", "rg"])
def test_content_search_never_shows_lines_of_secret_files(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, with_rg: bool
) -> None:
    if with_rg:
        assert search.find_rg() is not None, "the ripgrep package ships rg"
    else:
        monkeypatch.setattr(search, "find_rg", lambda: None)
    (workspace / ".env").write_text("API_KEY=sk-live-do-not-show\n")
    (workspace / "deploy").mkdir()
    (workspace / "deploy" / "server.key").write_text("API_KEY inside a key file\n")
    (workspace / "settings.py").write_text("API_KEY = os.environ['API_KEY']\n")
    result = search_files(ctx_for(workspace), {"pattern": "API_KEY"})
    assert result.ok
    assert result.content.splitlines() == [
        "settings.py:1:API_KEY = os.environ['API_KEY']",
        "[matches in 2 file(s) that may hold secrets are not shown: .env, deploy/server.key; "
        "read_file asks before showing them]",
    ]
