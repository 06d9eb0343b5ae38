"""search_files: regex search in file contents, or find files by name.

Uses ripgrep (the ``ripgrep`` wheel, a dependency, puts ``rg`` beside the Python that
runs hermes); otherwise a pure-Python walker that produces the same ``path:line:text``
lines, skips VCS/cache/virtualenv directories, binary files and anything that is not a
regular file (a FIFO would block it forever), and honours ``.gitignore`` files roughly
(basename, anchored and directory patterns, negation).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import IO, Any

from hermes.execution.output import (
    BINARY_SAMPLE_BYTES,
    decode,
    display_path,
    is_protected,
    looks_binary_file,
    protected_path_error,
)
from hermes.execution.spec import ToolContext, ToolResult, ToolSpec
from hermes.safety.sensitive import sensitive_reason

SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".mypy_cache",
     ".pytest_cache", ".ruff_cache", ".tox"}
)  # fmt: skip
MAX_LINE_CHARS = 500
WHOLE_READ_BYTES = 32 << 20
_GLOB_META = re.compile(r"[*?\[{]")


def _fail(message: str) -> ToolResult:
    return ToolResult(ok=False, content=message)


# --------------------------------------------------------------------------- globs


def expand_braces(glob: str) -> list[str]:
    """``*.{ts,tsx}`` -> ``["*.ts", "*.tsx"]`` (nested braces expanded innermost first)."""
    m = re.search(r"\{([^{}]*)\}", glob)
    if not m:
        return [glob]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out.extend(expand_braces(glob[: m.start()] + alt + glob[m.end() :]))
    return out


class Glob:
    """A ripgrep-like glob: without ``/`` it matches the file name, else the relative path.

    A leading ``!`` negates it.
    """

    def __init__(self, spec: str) -> None:
        self.negate = spec.startswith("!")
        self.patterns = expand_braces(spec[1:] if self.negate else spec)

    def _hit(self, rel: str, name: str) -> bool:
        for pat in self.patterns:
            if "/" in pat.rstrip("/"):
                pat = pat.lstrip("/")
                bare = pat[3:] if pat.startswith("**/") else pat
                if fnmatchcase(rel, pat) or fnmatchcase(rel, bare):
                    return True
            elif fnmatchcase(name, pat.rstrip("/")):
                return True
        return False

    def match(self, rel: str, name: str) -> bool:
        """Whether a file (``rel`` path from the search root, ``name``) passes this glob."""
        return self._hit(rel, name) != self.negate


def name_predicate(pattern: str) -> Callable[[str, str], bool]:
    """files target: ``(rel, name) -> bool``; a glob if ``pattern`` has glob characters,
    else a case-insensitive substring of the file name."""
    if _GLOB_META.search(pattern):
        return Glob(pattern).match
    needle = pattern.lower()
    return lambda rel, name: needle in name.lower()


# --------------------------------------------------------------------------- fallback walk


@dataclass(frozen=True)
class _Rule:
    base: str
    pattern: str
    negate: bool
    dir_only: bool
    anchored: bool


def open_regular(path: Path | str) -> IO[bytes] | None:
    """``path`` opened for reading if it is a regular file (symlinks followed), else None.

    FIFOs, sockets and devices are never opened: opening a FIFO blocks until a writer
    comes, and opening some devices has effects. The type is checked again on the open
    descriptor, in case the file was swapped in between.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
    except OSError:
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


def _read_gitignore(directory: str, base: str) -> list[_Rule]:
    f = open_regular(os.path.join(directory, ".gitignore"))
    if f is None:
        return []
    try:
        with f:
            lines = decode(f.read()).splitlines()
    except OSError:
        return []
    rules = []
    for line in lines:
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/")
        if line.startswith("**/"):
            line, anchored = line[3:], "/" in line[3:]
        if line:
            rules.append(_Rule(base, line, negate, dir_only, anchored))
    return rules


def _ignored(rules: list[_Rule], rel: str, name: str, is_dir: bool) -> bool:
    ignored = False
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        if rule.base:
            if not rel.startswith(rule.base + "/"):
                continue
            sub = rel[len(rule.base) + 1 :]
        else:
            sub = rel
        if fnmatchcase(sub if rule.anchored else name, rule.pattern):
            ignored = not rule.negate
    return ignored


def walk_files(root: Path, stop: threading.Event | None = None) -> Iterator[tuple[Path, str]]:
    """Files under ``root`` as ``(path, path relative to root)``, sorted, ignores applied."""
    top = root
    for candidate in (root, *root.parents):
        if (candidate / ".git").exists():
            top = candidate
            break
    rules: list[_Rule] = []
    chain = [root, *root.parents]
    for level in reversed(chain[: chain.index(top) + 1]):
        rel_level = "" if level == top else level.relative_to(top).as_posix()
        rules += _read_gitignore(str(level), rel_level)
    for dirpath, dirnames, filenames in os.walk(root):
        if stop is not None and stop.is_set():
            return
        here = Path(dirpath)
        base = here.relative_to(top).as_posix() if here != top else ""
        if here != root:
            rules = rules + _read_gitignore(dirpath, base)
        prefix = f"{base}/" if base else ""
        keep = []
        for d in sorted(dirnames):
            if d in SKIP_DIRS or _ignored(rules, prefix + d, d, True):
                continue
            if os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg")):
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if not _ignored(rules, prefix + name, name, False):
                full = here / name
                yield full, full.relative_to(root).as_posix()


def file_text(path: Path) -> str | Iterator[str] | None:
    """A regular file's text (a line iterator when it is huge); None when binary,
    unreadable or not a regular file."""
    f = open_regular(path)
    if f is None:
        return None
    try:
        sample = f.read(BINARY_SAMPLE_BYTES)
        if looks_binary_file(sample):
            f.close()
            return None
        if os.fstat(f.fileno()).st_size <= WHOLE_READ_BYTES:
            with f:
                return decode(sample + f.read())
        f.seek(0)
    except OSError:
        f.close()
        return None
    return _stream_lines(f)


def _stream_lines(f: IO[bytes]) -> Iterator[str]:
    with f:
        for raw in f:
            yield decode(raw.rstrip(b"\n"))


# --------------------------------------------------------------------------- results


@dataclass
class _Results:
    limit: int
    budget: int
    lines: list[str] = field(default_factory=list)
    used: int = 0
    more: int = 0
    withheld: set[str] = field(default_factory=set)

    def may_show(self, path: Path, shown: str) -> bool:
        """False for a file that may hold secrets: its lines are never shown by a search
        (read_file asks first); the file is named at the end instead."""
        if sensitive_reason(path) is None:
            return True
        self.withheld.add(shown)
        return False

    def add(self, line: str) -> None:
        if len(self.lines) < self.limit and self.used + len(line) <= self.budget:
            self.lines.append(line)
            self.used += len(line) + 1
        else:
            self.more += 1


def _match_line(shown: str, number: int, text: str) -> str:
    text = text.rstrip("\r")
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + "…"
    return f"{shown}:{number}:{text}"


def _fallback_content(
    ctx: ToolContext, root: Path, regex: re.Pattern[str], globs: list[Glob], out: _Results,
    deadline: float,
) -> bool:  # fmt: skip
    """Search file contents in Python; False when stopped early (timeout/cancel)."""
    whole = None
    if "\\A" not in regex.pattern and "\\Z" not in regex.pattern:
        whole = re.compile(regex.pattern, regex.flags | re.MULTILINE)
    files = [(root, root.name)] if root.is_file() else walk_files(root, ctx.cancel)
    for path, rel in files:
        if ctx.cancel.is_set() or time.monotonic() > deadline:
            return False
        if any(not g.match(rel, path.name) for g in globs) or is_protected(path):
            continue
        text = file_text(path)
        if text is None:
            continue
        lines: Iterator[str] | list[str] = text if not isinstance(text, str) else []
        if isinstance(text, str):
            if whole is not None and not whole.search(text):
                continue
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
        shown = display_path(ctx, path)
        if not out.may_show(path, shown):
            continue
        for number, line in enumerate(lines, 1):
            if regex.search(line):
                out.add(_match_line(shown, number, line))
    return not ctx.cancel.is_set()


# --------------------------------------------------------------------------- ripgrep


def find_rg() -> str | None:
    """ripgrep's ``rg``: the one installed beside the running Python (the ``ripgrep``
    wheel's, found even when that environment's bin is not on PATH), else on PATH."""
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(directory, "rg")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("rg")


def _run_rg(
    ctx: ToolContext, argv: list[str], deadline: float, on_line: Callable[[bytes], None]
) -> tuple[int, str]:
    """Run rg, feeding stdout lines to ``on_line``; killed on cancel or at the deadline.

    Returns (exit code, stderr).
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, cwd=ctx.workspace
        )
        done = threading.Event()

        def watchdog() -> None:
            while not done.wait(0.05):
                if ctx.cancel.is_set() or time.monotonic() > deadline:
                    proc.kill()
                    return

        threading.Thread(target=watchdog, daemon=True).start()
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                on_line(raw.rstrip(b"\n"))
            rc = proc.wait()
        finally:
            done.set()
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        return rc, decode(err.read(64_000))


def _rg_common(rg: str, globs: list[str]) -> list[str]:
    argv = [rg, "--no-config", "--hidden", "--sort=path", "--color=never"]
    for d in sorted(SKIP_DIRS):
        argv += ["--glob", f"!{d}"]
    for g in globs:
        argv += ["--glob", g]
    return argv


def _rg_content(
    ctx: ToolContext, rg: str, root: Path, pattern: str, globs: list[str], out: _Results,
    deadline: float,
) -> bool | ToolResult:  # fmt: skip
    argv = [
        *_rg_common(rg, globs),
        "--line-number", "--with-filename", "--no-heading", "--null",
        "--max-columns", str(MAX_LINE_CHARS), "--max-columns-preview",
        "-e", pattern, "--", str(root),
    ]  # fmt: skip
    seen = 0

    def on_line(raw: bytes) -> None:
        nonlocal seen
        name, sep, rest = raw.partition(b"\0")
        number, colon, text = rest.partition(b":")
        if not sep or not colon or not number.isdigit():
            return  # e.g. rg's "binary file matches" notice
        seen += 1
        path = Path(os.fsdecode(name))
        shown = display_path(ctx, path)
        if not is_protected(path) and out.may_show(path, shown):
            out.add(_match_line(shown, int(number), decode(text)))

    rc, err = _run_rg(ctx, argv, deadline, on_line)
    if rc == 2 and not seen:
        if "regex" in err.lower():
            return _fail(f"Invalid regex {pattern!r}: {err.strip()}")
        return _fail(f"search failed: {err.strip() or 'rg exited with status 2'}")
    return rc in (0, 1, 2) and not ctx.cancel.is_set() and time.monotonic() <= deadline


def _find_files(
    ctx: ToolContext, root: Path, pattern: str, globs: list[str], out: _Results,
    deadline: float, rg: str | None,
) -> bool:  # fmt: skip
    matches = name_predicate(pattern)

    def consider(path: Path, rel: str) -> None:
        if matches(rel, path.name) and not is_protected(path):
            out.add(display_path(ctx, path))

    if root.is_file():
        consider(root, root.name)
        return True
    if rg:

        def on_line(raw: bytes) -> None:
            path = Path(os.fsdecode(raw))
            consider(
                path, path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
            )

        _run_rg(ctx, [*_rg_common(rg, globs), "--files", "--", str(root)], deadline, on_line)
    else:
        checks = [Glob(g) for g in globs]
        for path, rel in walk_files(root, ctx.cancel):
            if ctx.cancel.is_set() or time.monotonic() > deadline:
                break
            if all(g.match(rel, path.name) for g in checks):
                consider(path, rel)
    return not ctx.cancel.is_set() and time.monotonic() <= deadline


# --------------------------------------------------------------------------- the tool


def search_files(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    """Content search (``path:line:text``) or file-name search, capped at ``limit`` results."""
    pattern = args.get("pattern")
    if not isinstance(pattern, str):
        return _fail("pattern must be a string")
    target = args.get("target") or "content"
    if target not in ("content", "files"):
        return _fail("target must be 'content' or 'files'")
    for name in ("path", "pattern", "file_glob"):
        if "\0" in str(args.get(name) or ""):
            return _fail(f"{name} contains a NUL byte; no file name or search can hold one")
    root = Path(os.path.abspath(ctx.resolve(str(args.get("path") or "."))))
    shown_root = display_path(ctx, root)
    refused = protected_path_error(root)
    if refused:
        return _fail(refused)
    try:
        mode = root.stat().st_mode
    except (OSError, ValueError):
        return _fail(f"Path not found: {shown_root}")
    if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
        return _fail(
            f"{shown_root} is not a regular file or a directory (a FIFO, socket or device); "
            "it cannot be searched"
        )
    file_glob = args.get("file_glob")
    globs = [file_glob] if isinstance(file_glob, str) and file_glob.strip() else []
    max_results = max(1, ctx.limits.search_max_results)
    limit = args.get("limit")
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        limit = max_results
    out = _Results(min(limit, max_results), max(1000, ctx.limits.max_output_bytes))
    deadline = time.monotonic() + max(1.0, ctx.limits.terminal_timeout)
    rg = find_rg()
    if target == "files":
        complete = _find_files(ctx, root, pattern, globs, out, deadline, rg)
        what, none = "files", f"No files matching {pattern!r} under {shown_root}"
    else:
        if rg:
            result = _rg_content(ctx, rg, root, pattern, globs, out, deadline)
            if isinstance(result, ToolResult):
                return result
            complete = result
        else:
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                return _fail(
                    f"Invalid regex {pattern!r}: {exc}. Escape special characters "
                    "(\\( \\[ \\. \\* ...) to search for them literally."
                )
            complete = _fallback_content(ctx, root, regex, [Glob(g) for g in globs], out, deadline)
        what, none = "matches", f"No matches for {pattern!r} in {shown_root}"
    if not complete and ctx.cancel.is_set():
        return _fail("[search interrupted by user]\n" + "\n".join(out.lines))
    if not out.lines and not out.withheld and complete:
        return _fail(none + (f" (file_glob {globs[0]!r})" if globs else ""))
    lines = list(out.lines)
    if out.more:
        lines.append(f"[{out.more:,} more {what} not shown; narrow the pattern, path or file_glob]")
    if out.withheld:
        lines.append(
            f"[matches in {len(out.withheld):,} file(s) that may hold secrets are not shown: "
            f"{', '.join(sorted(out.withheld)[:10])}; read_file asks before showing them]"
        )
    if not complete:
        lines.append("[search stopped at the time limit; results are partial]")
    return ToolResult(ok=True, content="\n".join(lines))


SEARCH_FILES = ToolSpec(
    name="search_files",
    description=(
        "Regex search in file contents (target='content', returns path:line:text) or find "
        "files by name glob (target='files'). Skips ignored and binary files."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string"},
            "target": {"type": "string", "enum": ["content", "files"]},
            "path": {"type": "string"},
            "file_glob": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    tool_class="read",
    handler=search_files,
)
