"""Shared helpers for what tools hand back: paths as shown, the database guard,
decoding, binary detection, diffs and capping.

A command may print a gigabyte; the model must see a few kilobytes of it and the
process must not hold the rest in memory. :class:`OutputCapture` keeps the head in
memory, streams everything past the cap to a file and keeps a bounded tail. The file is
capped too (``tools.output_file_max_bytes``: its head, then a ring of its tail, unrolled
on close after a line saying what was dropped), and the directory of saved outputs is
kept under ``tools.outputs_total_max_bytes`` by removing the oldest files first.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tempfile
import threading
import uuid
from pathlib import Path

from hermes.checks import Check
from hermes.config import ToolLimits
from hermes.execution.spec import ToolContext
from hermes.paths import hermes_home
from hermes.redact import StreamRedactor

BINARY_SAMPLE_BYTES = 8192
_BAD_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r\f\v\b\x1b") + b"\x7f"
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]+")
DIFF_MAX_LINES = 20_000
_DB_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")
DB_REFUSAL = "hermes' own database is not accessible through tools"


def display_path(ctx: ToolContext, path: Path) -> str:
    """``path`` as the model should see it: relative when inside the workspace."""
    workspace = Path(os.path.normpath(os.path.abspath(ctx.workspace)))
    full = Path(os.path.normpath(os.path.abspath(path)))
    if full == workspace:
        return "."
    if full.is_relative_to(workspace):
        return full.relative_to(workspace).as_posix()
    return str(full)


def is_protected(path: Path | str) -> bool:
    """True for hermes' SQLite files (under ``hermes_home()``), symlinks followed."""
    real = Path(os.path.realpath(path))
    return real.name.endswith(_DB_SUFFIXES) and real.is_relative_to(os.path.realpath(hermes_home()))


def protected_path_error(path: Path) -> str | None:
    """The refusal message when ``path`` leads into hermes' database, else None."""
    try:
        return f"Refused: {DB_REFUSAL} ({path})" if is_protected(path) else None
    except (OSError, ValueError):
        return None


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8, replacing invalid sequences (never raises)."""
    return data.decode("utf-8", errors="replace")


def binary_ratio(data: bytes) -> float:
    """Fraction of ``data`` that is NUL/control bytes text does not use, or invalid UTF-8."""
    if not data:
        return 0.0
    control = len(data) - len(data.translate(None, delete=_BAD_BYTES))
    invalid = decode(data).count("\ufffd") - data.count("\ufffd".encode())
    return (control + invalid) / len(data)


def is_mostly_binary(data: bytes, threshold: float = 0.3) -> bool:
    """True when more than ``threshold`` of ``data`` is control bytes or invalid UTF-8."""
    return binary_ratio(data) > threshold


def looks_binary_file(sample: bytes) -> bool:
    """Binary-file test on a file's first bytes: a NUL byte, or mostly control bytes."""
    return b"\x00" in sample or is_mostly_binary(sample)


def clean_terminal_text(text: str) -> str:
    """Drop ANSI escapes and resolve carriage-return overwrites the way a terminal shows them."""
    text = _ANSI_RE.sub("", text).replace("\r\n", "\n")
    if "\r" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        lines.append(line)
    return "\n".join(lines)


def omitted_note(omitted: int, saved: str | None, problem: str | None = None) -> str:
    """The line that replaces the middle of a capped output."""
    where = f"; full output saved to {saved}" if saved else ""
    if problem:
        where += f"; {problem}"
    return f"[... {omitted:,} bytes omitted{where} ...]"


def _output_file(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stem = _SAFE_NAME_RE.sub("_", name).strip("._")[:80] or uuid.uuid4().hex
    path = directory / f"{stem}.log"
    if path.exists():
        path = directory / f"{stem}-{uuid.uuid4().hex[:8]}.log"
    return path


# Spill files this process is still writing: pruning never removes them.
_WRITING: set[Path] = set()
_WRITING_LOCK = threading.Lock()
_COPY_CHUNK = 1 << 20


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _saved_files(directory: Path) -> list[tuple[int, str, int]]:
    """``(mtime_ns, name, size)`` of the regular files in ``directory``, oldest first."""
    found = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((st.st_mtime_ns, entry.name, st.st_size))
    return sorted(found)


def prune_outputs(directory: Path, max_total_bytes: int, keep: Path | None = None) -> int:
    """Remove the oldest saved outputs in ``directory`` until the rest add up to at most
    ``max_total_bytes``; files still being written, and ``keep``, stay. Returns the number
    of bytes removed."""
    files = _saved_files(directory)
    total = sum(size for _, _, size in files)
    removed = 0
    with _WRITING_LOCK:
        busy = set(_WRITING)
    for _, name, size in files:
        if total <= max_total_bytes:
            break
        path = directory / name
        if path in busy or path == keep:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            continue
        total -= size
        removed += size
    return removed


def outputs_usage(directory: Path) -> tuple[int, int]:
    """``(files, bytes)`` of the saved outputs in ``directory``."""
    files = _saved_files(directory)
    return len(files), sum(size for _, _, size in files)


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def check_outputs(directory: Path, max_total_bytes: int | None = None) -> Check:
    """The ``hermes doctor`` line for the saved full outputs: how many, how large."""
    cap = ToolLimits().outputs_total_max_bytes if max_total_bytes is None else max_total_bytes
    count, size = outputs_usage(directory)
    detail = f"{count} saved in {directory}, {_size_text(size)} of {_size_text(cap)} allowed"
    if size > cap:
        return Check(
            "outputs", "warn", detail, "the oldest are removed when the next output is saved"
        )
    return Check("outputs", "ok", detail)


def _cut_head(data: bytes) -> bytes:
    """Trim a head slice back to a line end when one is near, else off a split UTF-8 char."""
    nl = data.rfind(b"\n")
    if nl >= 0 and nl + 1 >= len(data) * 0.8:
        return data[: nl + 1]
    j = len(data)
    while j > 0 and len(data) - j < 3 and (data[j - 1] & 0xC0) == 0x80:
        j -= 1
    if j > 0 and data[j - 1] >= 0xC0:
        lead = data[j - 1]
        need = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        if len(data) - (j - 1) < need:
            return data[: j - 1]
    return data


def _cut_tail(data: bytes) -> bytes:
    """Trim a tail slice forward to just after a line end when one is near."""
    nl = data.find(b"\n")
    if 0 <= nl <= len(data) * 0.2:
        return data[nl + 1 :]
    start = 0
    while start < min(4, len(data)) and (data[start] & 0xC0) == 0x80:
        start += 1
    return data[start:]


class OutputCapture:
    """Bounded capture of a byte stream: head in memory, a bounded tail, the rest on disk.

    Memory stays under about ``max_bytes`` plus one chunk whatever the stream size.
    Once the stream passes ``max_bytes`` everything (from the first byte) is written to
    a file in ``output_dir`` named after ``name``; past ``limits.output_file_max_bytes``
    that file keeps only the stream's head and tail.
    """

    def __init__(
        self,
        max_bytes: int,
        output_dir: Path | None,
        name: str,
        *,
        limits: ToolLimits | None = None,
    ) -> None:
        limits = limits or ToolLimits()
        self.max_bytes = max(64, max_bytes)
        self.head_limit = self.max_bytes // 2
        self.tail_limit = self.max_bytes - self.head_limit
        self._output_dir = output_dir or Path(tempfile.gettempdir()) / "hermes-outputs"
        self._name = name or uuid.uuid4().hex
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0
        self.path: Path | None = None
        self.save_error: str | None = None
        self._file: int | None = None
        # The saved file: its first ``_file_head`` bytes, then a ring of the last
        # ``file_cap - _file_head`` bytes, so it never grows past ``file_cap``.
        self.file_cap = max(self.max_bytes, limits.output_file_max_bytes)
        self._file_head = self.file_cap // 2
        self._dir_cap = max(self.file_cap, limits.outputs_total_max_bytes)
        self._saved = 0
        self.dropped = 0
        # The saved file is kept, so it is redacted as it is written (the model still
        # sees the output as it was).
        self._redactor = StreamRedactor()

    @property
    def capped(self) -> bool:
        """Whether the stream went past the cap (what the model sees is shortened)."""
        return self.total > self.max_bytes

    def write(self, data: bytes) -> None:
        """Take the next chunk of the stream."""
        if not data:
            return
        before = self.total
        self.total += len(data)
        if self.total <= self.max_bytes:
            self._head += data
            return
        if before <= self.max_bytes:
            # First overflow: everything so far is in _head; split it into head + tail.
            everything = bytes(self._head) + data
            self._open_file()
            self._save(everything)
            self._head = bytearray(everything[: self.head_limit])
            self._tail = bytearray(everything[self.head_limit :][-self.tail_limit :])
            return
        self._save(data)
        self._tail += data
        if len(self._tail) > self.tail_limit:
            del self._tail[: len(self._tail) - self.tail_limit]

    def _open_file(self) -> None:
        try:
            self.path = _output_file(self._output_dir, self._name)
            self._file = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            self.path = None
            self.save_error = f"full output could not be saved: {exc}"
            return
        with _WRITING_LOCK:
            _WRITING.add(self.path)
        # Room for this file before it grows: the oldest outputs go first.
        prune_outputs(self._output_dir, self._dir_cap - self.file_cap, keep=self.path)

    def _save(self, data: bytes) -> None:
        if self._file is None:
            return
        try:
            self._save_capped(self._file, self._redactor.feed(data))
        except OSError as exc:
            self._abandon_file(f"full output could not be saved: {exc}")

    def _save_capped(self, fd: int, data: bytes) -> None:
        """Write the next stream bytes at their place: the head, or the tail ring."""
        view = memoryview(data)
        ring = self.file_cap - self._file_head
        while view:
            if self._saved < self.file_cap:
                piece = view[: self.file_cap - self._saved]
                offset = self._saved
            else:
                if len(view) > ring:  # only the last ``ring`` bytes can survive
                    self._saved += len(view) - ring
                    view = view[len(view) - ring :]
                slot = (self._saved - self._file_head) % ring
                piece = view[: ring - slot]
                offset = self._file_head + slot
            written = os.pwrite(fd, piece, offset)
            self._saved += written
            view = view[written:]

    def _release(self) -> None:
        """Close the spill file's descriptor, as it is."""
        fd, self._file = self._file, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        if self.path is not None:
            with _WRITING_LOCK:
                _WRITING.discard(self.path)

    def _abandon_file(self, problem: str) -> None:
        self._release()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        self.path = None
        self.save_error = problem

    def _unroll(self, fd: int) -> None:
        """Rewrite a file whose ring wrapped: head, a line on what was dropped, tail in order."""
        assert self.path is not None
        self.dropped = self._saved - self.file_cap
        ring = self.file_cap - self._file_head
        oldest = self._file_head + (self._saved - self._file_head) % ring
        note = (
            f"\n[... {self.dropped:,} bytes dropped here by hermes: a saved output keeps "
            f"its first and last {_size_text(self.file_cap // 2)} "
            f"(tools.output_file_max_bytes = {self.file_cap:,}) ...]\n"
        ).encode()
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        with _WRITING_LOCK:
            _WRITING.add(tmp)
        try:
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError:
            with _WRITING_LOCK:
                _WRITING.discard(tmp)
            raise
        try:
            spans = ((0, self._file_head), (oldest, self.file_cap), (self._file_head, oldest))
            for i, (start, end) in enumerate(spans):
                if i == 1:
                    _write_all(out, note)
                while start < end:
                    chunk = os.pread(fd, min(_COPY_CHUNK, end - start), start)
                    if not chunk:
                        break
                    _write_all(out, chunk)
                    start += len(chunk)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            os.close(out)
            with _WRITING_LOCK:
                _WRITING.discard(tmp)

    def ensure_saved(self) -> None:
        """Write the (uncapped) stream to a file too, e.g. for binary output."""
        if self._file is None and self.path is None and self.save_error is None and self.total:
            self._open_file()
            self._save(bytes(self._head))

    def close(self) -> None:
        """Finish and close the spill file, if any. Safe to call twice."""
        if self._file is None:
            return
        try:
            self._save_capped(self._file, self._redactor.flush())
        except OSError as exc:
            self._abandon_file(f"full output could not be saved: {exc}")
            return
        if self._saved > self.file_cap:
            try:
                self._unroll(self._file)
            except OSError as exc:
                self._abandon_file(f"full output could not be saved: {exc}")
                return
        self._release()
        prune_outputs(self._output_dir, self._dir_cap, keep=self.path)

    def sample(self) -> bytes:
        """Head and tail bytes (what is kept in memory)."""
        return bytes(self._head) + bytes(self._tail)

    def render(self) -> str:
        """What the model sees: the whole stream, or head + omitted note + tail."""
        self.close()
        sample = self.sample()
        if sample and is_mostly_binary(sample):
            self.ensure_saved()
            self.close()
            where = f"; saved to {self.path}" if self.path else ""
            return f"[binary {self.total:,} bytes{where}]"
        if not self.capped:
            return clean_terminal_text(decode(bytes(self._head)))
        head = _cut_head(bytes(self._head))
        tail = _cut_tail(bytes(self._tail))
        omitted = self.total - len(head) - len(tail)
        saved = str(self.path) if self.path else None
        problem = self.save_error
        if saved and self.dropped:
            saved, problem = (
                None,
                (
                    f"output saved to {self.path} without its middle {self.dropped:,} bytes "
                    "(tools.output_file_max_bytes)"
                ),
            )
        note = omitted_note(omitted, saved, problem)
        head_text = clean_terminal_text(decode(head))
        sep = "" if head_text.endswith("\n") or not head_text else "\n"
        return f"{head_text}{sep}{note}\n{clean_terminal_text(decode(tail))}"


def cap_text(text: str, max_bytes: int) -> str:
    """Cap a string at about ``max_bytes`` of UTF-8, keeping head and tail with a note."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= max_bytes:
        return text
    half = max(32, max_bytes // 2)
    head = _cut_head(data[:half])
    tail = _cut_tail(data[-half:])
    omitted = len(data) - len(head) - len(tail)
    head_text = decode(head)
    sep = "" if head_text.endswith("\n") else "\n"
    return f"{head_text}{sep}{omitted_note(omitted, None)}\n{decode(tail)}"


def _keep_lines(text: str) -> list[str]:
    """Lines with their ``\n`` (only ``\n`` ends a line, unlike ``str.splitlines``)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def unified_diff(old: str | None, new: str, shown: str) -> str:
    """A unified diff from ``old`` (None: the file is new) to ``new`` of the file ``shown``."""
    old_lines, new_lines = _keep_lines(old or ""), _keep_lines(new)
    if len(old_lines) > DIFF_MAX_LINES or len(new_lines) > DIFF_MAX_LINES:
        return f"(diff omitted: {shown} has more than {DIFF_MAX_LINES:,} lines)\n"
    a, b = ("", "") if os.path.isabs(shown) else ("a/", "b/")
    fromfile = "/dev/null" if old is None else f"{a}{shown}"
    lines = difflib.unified_diff(old_lines, new_lines, fromfile, f"{b}{shown}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
