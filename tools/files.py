"""File tools: read_file, write_file and patch.

Reads stream line by line (a huge file or a huge line never lands in memory whole);
writes are atomic (temp file in the same directory + ``os.replace``) and keep the
file's mode; both edits hand back a unified diff, and :func:`preview_edit` computes it
beforehand for an approval request.
"""

from __future__ import annotations

import difflib
import os
import stat
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from hermes.durable import write_atomic
from hermes.execution.output import (
    BINARY_SAMPLE_BYTES,
    DB_REFUSAL,
    cap_text,
    decode,
    display_path,
    looks_binary_file,
    protected_path_error,
    unified_diff,
)
from hermes.execution.spec import ToolContext, ToolResult, ToolSpec
from hermes.paths import hermes_home

READ_MAX_CHARS = 100_000
"""Budget for one read_file result; past it the read stops early and says how to go on."""


def _fail(message: str) -> ToolResult:
    return ToolResult(ok=False, content=message)


def _int_arg(value: Any, default: int) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


_DB_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


def _is_own_database(path: Path) -> bool:
    """hermes' SQLite files however the path spells them: on a case-insensitive or
    normalising file system ``HERMES.DB`` or a decomposed name is the same file, so the
    folder is compared by identity and the name in a normal form."""
    for p in (path, Path(os.path.realpath(path))):
        name = unicodedata.normalize("NFC", p.name).casefold().rstrip(". ")
        if not name.endswith(_DB_SUFFIXES):
            continue
        try:
            if os.path.samefile(p.parent, hermes_home()):
                return True
        except (OSError, ValueError):
            continue
    return False


def _path_arg(ctx: ToolContext, args: Mapping[str, Any]) -> tuple[Path, str] | ToolResult:
    raw = args.get("path")
    if not isinstance(raw, str) or not raw.strip():
        return _fail("path is required (a file path relative to the workspace, or absolute)")
    if "\0" in raw:
        return _fail("path contains a NUL byte; no file name can hold one")
    path = ctx.resolve(raw)
    refused = protected_path_error(path)
    if refused:
        return _fail(refused)
    if _is_own_database(path):
        return _fail(f"Refused: {DB_REFUSAL} ({path})")
    return path, display_path(ctx, path)


def _not_found(ctx: ToolContext, path: Path, shown: str) -> str:
    message = f"File not found: {shown}"
    parent = path.parent
    if not parent.is_dir():
        return f"{message} (directory {display_path(ctx, parent)} does not exist)"
    try:
        names = sorted(os.listdir(parent))[:5000]
    except OSError:
        return message
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    if close:
        message += "; did you mean " + ", ".join(display_path(ctx, parent / n) for n in close) + "?"
    return message


def _check_existing_file(ctx: ToolContext, path: Path, shown: str) -> str | None:
    """An error message unless ``path`` is an existing regular file."""
    if path.is_dir():
        return (
            f"{shown} is a directory, not a file; "
            "use search_files with target='files' to list the files in it"
        )
    try:
        st = path.stat()
    except FileNotFoundError:
        return _not_found(ctx, path, shown)
    except OSError as exc:
        return f"Cannot access {shown}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"{shown} is not a regular file (device, socket or pipe); it cannot be read as text"
    return None


# --------------------------------------------------------------------------- read_file


def _iter_lines(f: IO[bytes], max_bytes: int) -> Iterator[tuple[bytes, int]]:
    """Yield ``(first max_bytes of the line, full byte length)`` without loading long lines."""
    while True:
        chunk = f.readline(max_bytes)
        if not chunk:
            return
        if chunk.endswith(b"\n") or len(chunk) < max_bytes:
            yield chunk, len(chunk)
            continue
        total = len(chunk)
        while more := f.readline(1 << 20):
            total += len(more)
            if more.endswith(b"\n"):
                break
        yield chunk, total


def _count_rest(f: IO[bytes]) -> int:
    """Lines from the current position to the end of the file."""
    count, last = 0, b"\n"
    while block := f.read(1 << 20):
        count += block.count(b"\n")
        last = block[-1:]
    return count + (0 if last == b"\n" else 1)


def _format_line(raw: bytes, total: int, max_chars: int) -> str:
    cut = total > len(raw)
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    text = decode(raw)
    if cut or len(text) > max_chars:
        text = f"{text[:max_chars]}… [line truncated, {total:,} bytes]"
    return text


def read_file(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    """Numbered lines of a text file, paged by ``offset``/``limit``."""
    checked = _path_arg(ctx, args)
    if isinstance(checked, ToolResult):
        return checked
    path, shown = checked
    error = _check_existing_file(ctx, path, shown)
    if error:
        return _fail(error)
    limits = ctx.limits
    offset = max(1, _int_arg(args.get("offset"), 1))
    limit = min(max(1, _int_arg(args.get("limit"), limits.read_max_lines)), limits.read_max_lines)
    max_chars = max(16, limits.read_max_line_chars)
    out: list[str] = []
    used = 0
    next_line = 0
    rest = 0
    try:
        with path.open("rb") as f:
            sample = f.read(BINARY_SAMPLE_BYTES)
            if looks_binary_file(sample):
                size = os.fstat(f.fileno()).st_size
                return ToolResult(ok=True, content=f"[binary file, {size:,} bytes]")
            f.seek(0)
            number = 0
            for raw, total in _iter_lines(f, max_chars * 4 + 2):
                number += 1
                if number < offset:
                    continue
                line = f"{number:>6}\t{_format_line(raw, total, max_chars)}"
                if len(out) >= limit or (out and used + len(line) > READ_MAX_CHARS):
                    next_line = number
                    rest = 1 + _count_rest(f)
                    break
                out.append(line)
                used += len(line) + 1
    except OSError as exc:
        return _fail(f"Cannot read {shown}: {exc.strerror or exc}")
    if not out:
        if number == 0:
            return ToolResult(ok=True, content=f"[{shown} is empty]")
        return _fail(f"{shown} has {number} lines; offset={offset} is past the end")
    if rest:
        more = f"{rest:,} more line" + ("s" if rest != 1 else "")
        out.append(f"... {more}; call read_file with offset={next_line} to continue")
    return ToolResult(ok=True, content="\n".join(out))


# --------------------------------------------------------------------------- writing


def atomic_write(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically, keeping its mode (and owner if possible)."""
    try:
        st: os.stat_result | None = target.stat()
    except FileNotFoundError:
        st = None
    if st is None:
        write_atomic(target, data, sync_dir=True)
        return
    owner = (st.st_uid, st.st_gid)
    write_atomic(target, data, mode=stat.S_IMODE(st.st_mode), owner=owner, sync_dir=True)


def _clean_str(value: str) -> str:
    """Lone surrogates (possible in JSON strings) become U+FFFD so the text can be encoded."""
    return value.encode("utf-8", errors="replace").decode("utf-8")


def _count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def write_file(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    """Create or overwrite a file; the result's ``diff`` is against the previous content."""
    checked = _path_arg(ctx, args)
    if isinstance(checked, ToolResult):
        return checked
    path, shown = checked
    content = args.get("content")
    if not isinstance(content, str):
        return _fail("content must be a string")
    content = _clean_str(content)
    target = Path(os.path.realpath(path))
    old: bytes | None = None
    if target.exists():
        error = _check_existing_file(ctx, target, shown)
        if error:
            return _fail(error)
        old = target.read_bytes()
    data = content.encode("utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
    except (FileExistsError, NotADirectoryError):
        return _fail(f"Cannot create {shown}: a parent path exists and is not a directory")
    except OSError as exc:
        return _fail(f"Cannot write {shown}: {exc.strerror or exc}")
    lines = _count_lines(content)
    size = f"{len(data):,} bytes, {lines:,} line" + ("s" if lines != 1 else "")
    if old is None:
        summary = f"Created {shown} ({size})"
    elif old == data:
        summary = f"Wrote {shown} ({size}; content unchanged)"
    else:
        summary = f"Wrote {shown} ({size})"
    if old is not None and looks_binary_file(old[:BINARY_SAMPLE_BYTES]):
        diff = f"Binary file {shown} replaced\n"
    else:
        diff = unified_diff(None if old is None else decode(old), content, shown)
    return ToolResult(ok=True, content=summary, diff=diff)


# --------------------------------------------------------------------------- patch


def _norm(line: str) -> str:
    return " ".join(line.split())


def whitespace_match_line(text: str, needle: str) -> int | None:
    """1-based line where ``needle`` matches ``text`` once whitespace is normalized."""
    want = [_norm(line) for line in needle.splitlines()]
    while want and not want[0]:
        want.pop(0)
    while want and not want[-1]:
        want.pop()
    if not want:
        return None
    have = [_norm(line) for line in text.splitlines()]
    n = len(want)
    for i in range(len(have) - n + 1):
        if n == 1:
            if want[0] in have[i]:
                return i + 1
            continue
        if (
            have[i].endswith(want[0])
            and have[i + n - 1].startswith(want[-1])
            and have[i + 1 : i + n - 1] == want[1:-1]
        ):
            return i + 1
    return None


def _line_numbers(text: str, needle: str, most: int = 5) -> list[int]:
    found: list[int] = []
    pos = text.find(needle)
    while pos != -1 and len(found) < most:
        found.append(text.count("\n", 0, pos) + 1)
        pos = text.find(needle, pos + len(needle))
    return found


def patch(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    """Replace an exact string in a file (once, or everywhere with ``replace_all``)."""
    plan = _plan_patch(ctx, args)
    if isinstance(plan, ToolResult):
        return plan
    target, shown, raw, data, times = plan
    try:
        atomic_write(target, data)
    except OSError as exc:
        return _fail(f"Cannot write {shown}: {exc.strerror or exc}")
    diff = unified_diff(decode(raw), decode(data), shown)
    noun = "occurrence" if times == 1 else "occurrences"
    content = cap_text(
        f"Patched {shown}: replaced {times} {noun}\n{diff}", ctx.limits.max_output_bytes
    )
    return ToolResult(ok=True, content=content, diff=diff)


def _plan_patch(
    ctx: ToolContext, args: Mapping[str, Any]
) -> tuple[Path, str, bytes, bytes, int] | ToolResult:
    """What a patch would write: ``(file, shown path, old bytes, new bytes, replacements)``,
    or the failed result it would give, without writing anything."""
    checked = _path_arg(ctx, args)
    if isinstance(checked, ToolResult):
        return checked
    path, shown = checked
    old_s, new_s = args.get("old_string"), args.get("new_string")
    if not isinstance(old_s, str) or not isinstance(new_s, str):
        return _fail("old_string and new_string must be strings")
    replace_all = args.get("replace_all") is True
    if old_s == "":
        return _fail("old_string is empty; use write_file to create or overwrite a whole file")
    if old_s == new_s:
        return _fail("old_string and new_string are identical; there is nothing to change")
    target = Path(os.path.realpath(path))
    error = _check_existing_file(ctx, target, shown)
    if error:
        if not target.exists() and not target.is_symlink():
            error += "; use write_file to create a new file"
        return _fail(error)
    raw = target.read_bytes()
    if looks_binary_file(raw[:BINARY_SAMPLE_BYTES]):
        return _fail(f"{shown} is a binary file; patch edits text files only")
    text = raw.decode("utf-8", errors="surrogateescape")
    new_s = _clean_str(new_s)
    count = text.count(old_s)
    if count == 0 and "\r\n" in text and "\r" not in old_s:
        crlf = old_s.replace("\n", "\r\n")
        if text.count(crlf):
            new_s = new_s.replace("\r\n", "\n").replace("\n", "\r\n")
            old_s, count = crlf, text.count(crlf)
    if count == 0:
        line = whitespace_match_line(text, old_s)
        if line is not None:
            return _fail(
                f"old_string not found in {shown}, but it matches near line {line} when "
                "whitespace is ignored: the indentation/whitespace differs. Copy the exact "
                "text from read_file."
            )
        return _fail(
            f"old_string not found in {shown}; read the file again and copy the exact text"
        )
    if count > 1 and not replace_all:
        lines = ", ".join(str(n) for n in _line_numbers(text, old_s))
        more = ", ..." if count > 5 else ""
        return _fail(
            f"old_string matches {count} places in {shown} (lines {lines}{more}); "
            "add surrounding lines to make it unique or set replace_all"
        )
    new_text = text.replace(old_s, new_s) if replace_all else text.replace(old_s, new_s, 1)
    data = new_text.encode("utf-8", errors="surrogateescape")
    return target, shown, raw, data, count if replace_all else 1


def edit_problem(name: str, args: Mapping[str, Any], workspace: Path) -> str:
    """Why a ``patch`` call cannot apply as things stand (the exact result it would fail
    with: no such file, ``old_string`` not found or not unique...), or "" when it can. Run
    before asking the user to approve it, so nobody approves an edit that fails."""
    if name != "patch":
        return ""
    try:
        plan = _plan_patch(ToolContext(workspace=workspace), args)
    except OSError as exc:
        return f"Cannot read the file to patch: {exc.strerror or exc}"
    return plan.content if isinstance(plan, ToolResult) else ""


def preview_edit(name: str, args: Mapping[str, Any], path: Path, workspace: Path) -> str:
    """The unified diff a ``write_file`` or ``patch`` call on ``path`` would make, for an
    approval request; "" when it cannot tell (other tools, unreadable file, no match)."""
    if name not in ("write_file", "patch"):
        return ""
    shown = str(path.relative_to(workspace)) if path.is_relative_to(workspace) else str(path)
    try:
        old = decode(path.read_bytes()) if path.is_file() else None
    except OSError:
        return ""
    old_s, new_s = args.get("old_string"), args.get("new_string")
    if name == "write_file":
        new = args.get("content")
    elif old is not None and isinstance(old_s, str) and old_s and isinstance(new_s, str):
        new = old.replace(old_s, new_s, -1 if args.get("replace_all") is True else 1)
    else:
        return ""
    return unified_diff(old, new, shown) if isinstance(new, str) and new != old else ""


# --------------------------------------------------------------------------- specs

_PATH = {"type": "string", "description": "Relative to the workspace, or absolute"}

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a text file with line numbers; use offset (1-based line) and limit to page.",
    parameters={
        "type": "object",
        "properties": {
            "path": _PATH,
            "offset": {"type": "integer", "minimum": 1},
            "limit": {"type": "integer", "minimum": 1},
        },
        "required": ["path"],
        "additionalProperties": False,
    },
    tool_class="read",
    handler=read_file,
)

WRITE_FILE = ToolSpec(
    name="write_file",
    description="Create or overwrite a file (parents are created). Prefer patch to edit a file.",
    parameters={
        "type": "object",
        "properties": {"path": _PATH, "content": {"type": "string"}},
        "required": ["path", "content"],
        "additionalProperties": False,
    },
    tool_class="write",
    handler=write_file,
)

PATCH = ToolSpec(
    name="patch",
    description=(
        "Replace an exact string in a file. old_string must match exactly once "
        "(include surrounding lines) unless replace_all is true."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": _PATH,
            "old_string": {"type": "string"},
            "new_string": {"type": "string"},
            "replace_all": {"type": "boolean"},
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    },
    tool_class="write",
    handler=patch,
)
