"""Glob expansion as a superset of what bash would produce.

bash's bracket expressions, collation and ordering are not worth reproducing exactly;
what matters is that no file bash could pass is missed. Each pattern segment is
widened (``*`` any run, ``?`` and any ``[...]`` any one character) and matched
against the folder. A leading ``.`` is matched only when bash could match it: bash
never matches a hidden name with a segment starting with ``*`` or ``?``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

GLOB_CHARS = frozenset("*?[")
MAX_MATCHES = 2000
MAX_SCANNED = 20_000


@dataclass(frozen=True)
class Expansion:
    """The names a glob may expand to, or why that could not be worked out."""

    matches: tuple[str, ...] = ()
    problem: str | None = None


def has_glob(text: str) -> bool:
    """Whether an unquoted word would undergo pathname expansion."""
    return any(ch in GLOB_CHARS for ch in text)


def _segment_regex(segment: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    n = len(segment)
    while i < n:
        ch = segment[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = segment.find("]", i + 2 if i + 1 < n and segment[i + 1] in "!^]" else i + 1)
            if end == -1:
                out.append(re.escape(ch))  # an unmatched [ is literal
            else:
                out.append(".")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def expand(pattern: str, cwd: Path) -> Expansion:
    """Every path (as bash would spell it) ``pattern`` may expand to in ``cwd``."""
    absolute = pattern.startswith("/")
    segments = [s for s in pattern.split("/") if s]
    trailing_slash = pattern.endswith("/")
    bases: list[tuple[str, Path]] = [("/" if absolute else "", Path("/") if absolute else cwd)]
    scanned = 0
    for k, seg in enumerate(segments):
        last = k == len(segments) - 1
        nxt: list[tuple[str, Path]] = []
        if not has_glob(seg):
            for shown, path in bases:
                child = path / seg
                if last or child.is_dir():
                    nxt.append((_join(shown, seg), child))
            bases = nxt
            continue
        rx = _segment_regex(seg)
        hidden_ok = not seg.startswith(("*", "?"))
        for shown, path in bases:
            if hidden_ok and seg.startswith("."):
                # Older bash (and globskipdots off) expands `.*` to `.` and `..` too.
                nxt.extend((_join(shown, d), path / d) for d in (".", "..") if rx.fullmatch(d))
            try:
                with os.scandir(path) as it:
                    for entry in it:
                        scanned += 1
                        if scanned > MAX_SCANNED:
                            return Expansion(
                                problem=f"glob {pattern} covers too many files to check"
                            )
                        name = entry.name
                        if name.startswith(".") and (not hidden_ok or name in (".", "..")):
                            continue
                        if not rx.fullmatch(name):
                            continue
                        if not last or trailing_slash:
                            try:
                                if not entry.is_dir():
                                    continue
                            except OSError:
                                continue
                        nxt.append((_join(shown, name), path / name))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                return Expansion(problem=f"cannot list {path} to expand {pattern}: {exc.strerror}")
        bases = nxt
        if len(bases) > MAX_MATCHES:
            return Expansion(problem=f"glob {pattern} matches too many files to check")
    if trailing_slash:
        return Expansion(tuple(sorted(s + "/" for s, _ in bases)))
    return Expansion(tuple(sorted(s for s, _ in bases)))


def _join(shown: str, name: str) -> str:
    if not shown:
        return name
    return shown + name if shown.endswith("/") else f"{shown}/{name}"
