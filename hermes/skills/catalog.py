"""Skills: folders with a ``SKILL.md`` (project instructions are in
:mod:`hermes.prompt.instructions`).

Skills are discovered from three places, later overriding earlier by name: the bundled
``skills/`` shipped with hermes, ``$HERMES_HOME/skills/`` and the workspace's
``.hermes/skills/``. Discovery reads only each ``SKILL.md``'s front matter; bodies and
extra files are read when the model asks (``view_skill``). A broken skill is skipped
with a warning naming its file, never an exception.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

import yaml

from hermes.execution.spec import ToolError
from hermes.paths import hermes_home
from hermes.tokens import estimate_tokens

log = logging.getLogger(__name__)

SkillSource: TypeAlias = Literal["bundled", "user", "workspace"]

SKILL_FILE = "SKILL.md"
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
MAX_SKILL_FILE_BYTES = 256 * 1024
FRONT_MATTER_MAX_BYTES = 16 * 1024
INDEX_DESCRIPTION_CHARS = 300
_NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_OPEN_RE = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n")
_CLOSE_RE = re.compile(rb"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_SOURCE_RANK: dict[str, int] = {"workspace": 0, "user": 1, "bundled": 2}


@dataclass(frozen=True)
class Skill:
    """One discovered skill. ``path`` is its ``SKILL.md``; the folder holding it is the skill."""

    name: str
    description: str
    path: Path
    source: SkillSource


@dataclass(frozen=True)
class SkillScan:
    """The skills in effect (sorted by name) and a warning for each one skipped."""

    skills: tuple[Skill, ...]
    warnings: tuple[str, ...]

    def get(self, name: str) -> Skill | None:
        """The skill called ``name``, or None."""
        return next((s for s in self.skills if s.name == name), None)

    def names(self) -> list[str]:
        """All skill names, sorted."""
        return [s.name for s in self.skills]


# ------------------------------------------------------------------- discovery


def bundled_skills_dir() -> Path | None:
    """The folder of skills shipped with hermes, or None if it cannot be located."""
    try:
        root = importlib.resources.files("hermes.bundled_skills")
    except (ModuleNotFoundError, TypeError):
        return None
    path = Path(str(root))
    return path if path.is_dir() else None


def skill_roots(workspace: Path, home: Path | None = None) -> list[tuple[SkillSource, Path]]:
    """Where skills are looked for, lowest precedence first."""
    bundled = bundled_skills_dir()
    roots: list[tuple[SkillSource, Path]] = [] if bundled is None else [("bundled", bundled)]
    roots.append(("user", (hermes_home() if home is None else home) / "skills"))
    roots.append(("workspace", workspace / ".hermes" / "skills"))
    return roots


def discover_skills(workspace: Path, home: Path | None = None) -> SkillScan:
    """Find every valid skill; later sources (user, then workspace) override by name.

    Only front matter is read (at most 16 KB of each ``SKILL.md``), and parses are
    cached per file by its stat (times, size, inode), so calling this on every tool call is cheap.
    """
    by_name: dict[str, Skill] = {}
    warnings: list[str] = []
    seen_roots: set[str] = set()
    for source, root in skill_roots(workspace, home):
        real_root = os.path.realpath(root)
        if real_root in seen_roots:
            continue
        seen_roots.add(real_root)
        in_source: dict[str, Path] = {}
        for skill_md in _candidates(root, warnings):
            parsed = _parse_cached(skill_md)
            if isinstance(parsed, str):
                warnings.append(f"skipped skill {skill_md}: {parsed}")
                continue
            name, description = parsed
            if name in in_source:
                warnings.append(
                    f"skipped skill {skill_md}: duplicate name '{name}' "
                    f"(already defined by {in_source[name]})"
                )
                continue
            in_source[name] = skill_md
            by_name[name] = Skill(name, description, skill_md, source)
    skills = tuple(sorted(by_name.values(), key=lambda s: s.name))
    return SkillScan(skills=skills, warnings=tuple(warnings))


def _candidates(root: Path, warnings: list[str]) -> Iterator[Path]:
    """The ``SKILL.md`` path of each skill folder directly under ``root``, sorted."""
    if not root.exists():
        return
    if not root.is_dir():
        warnings.append(f"skipped skills folder {root}: not a directory")
        return
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        warnings.append(f"skipped skills folder {root}: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        path = Path(entry.path)
        if not entry.is_dir():
            if entry.is_symlink() and not path.exists():
                warnings.append(f"skipped skill {path}: broken symlink")
            continue
        skill_md = path / SKILL_FILE
        if not skill_md.exists() and not skill_md.is_symlink():
            warnings.append(f"skipped skill {skill_md}: no {SKILL_FILE} in {path}")
            continue
        yield skill_md


def _parse_cached(skill_md: Path) -> tuple[str, str] | str:
    """``(name, description)`` or an error message, cached by the file's stat."""
    try:
        st = skill_md.stat()
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    return _parse_keyed(str(skill_md), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


@functools.lru_cache(maxsize=1024)
def _parse_keyed(path: str, *stat_key: int) -> tuple[str, str] | str:
    return parse_front_matter(Path(path))


def parse_front_matter(skill_md: Path) -> tuple[str, str] | str:
    """Read and validate a ``SKILL.md``'s front matter: ``(name, description)`` or an error."""
    try:
        if not skill_md.is_file():
            return "not a regular file"
        size = skill_md.stat().st_size
        if size > MAX_SKILL_FILE_BYTES:
            return f"file is too large ({size} bytes; the limit is {MAX_SKILL_FILE_BYTES})"
        with skill_md.open("rb") as fh:
            head = fh.read(FRONT_MATTER_MAX_BYTES)
            at_eof = not fh.read(1)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    span = _front_matter_span(head, at_eof)
    if isinstance(span, str):
        return span
    try:
        data = yaml.safe_load(head[span[0] : span[1]].decode("utf-8"))
    except UnicodeDecodeError:
        return "front matter is not valid UTF-8"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at front matter line {mark.line + 1}" if mark is not None else ""
        return f"invalid YAML in front matter{where}: {getattr(exc, 'problem', None) or exc}"
    if not isinstance(data, dict):
        return "front matter must be a YAML mapping with 'name' and 'description'"
    return _validate(data)


def _front_matter_span(data: bytes, at_eof: bool = True) -> tuple[int, int, int] | str:
    """(YAML start, YAML end, body start) offsets in ``data``, or why there are none."""
    opening = _OPEN_RE.match(data)
    if opening is None:
        return "no YAML front matter (the file must start with a '---' line)"
    closing = _CLOSE_RE.search(data, opening.end())
    if closing is None or (closing.end() == len(data) and not at_eof):
        where = "" if at_eof else f" within the first {FRONT_MATTER_MAX_BYTES} bytes"
        return f"front matter is not closed by a '---' line{where}"
    return opening.end(), closing.start(), closing.end()


def _validate(data: dict[object, object]) -> tuple[str, str] | str:
    name = data.get("name")
    description = data.get("description")
    if name is None:
        return "front matter has no 'name'"
    if not isinstance(name, str):
        return "'name' must be a string"
    if len(name) > MAX_NAME_CHARS:
        return f"name '{name[:80]}' is longer than {MAX_NAME_CHARS} characters"
    if not _NAME_RE.fullmatch(name):
        return (
            f"invalid name '{name}': use lowercase letters, digits and single hyphens "
            "(not at the start or end)"
        )
    if description is None:
        return "front matter has no 'description'"
    if not isinstance(description, str):
        return "'description' must be a string"
    description = " ".join(description.split())
    if not description:
        return "'description' is empty"
    if len(description) > MAX_DESCRIPTION_CHARS:
        return f"description is {len(description)} characters; the limit is {MAX_DESCRIPTION_CHARS}"
    return name, description


# ------------------------------------------------------------ model exposure


def skills_index(
    scan: SkillScan, budget_tokens: int = 600, count: Callable[[str], int] | None = None
) -> str:
    """The system-prompt index of skills: names and one-line descriptions, within budget.

    Workspace and user skills come before bundled ones, so truncation drops bundled
    skills first. Returns "" when there are no skills.
    """
    if not scan.skills:
        return ""
    count = count or estimate_tokens
    ordered = sorted(scan.skills, key=lambda s: (_SOURCE_RANK[s.source], s.name))
    head = (
        "## Skills\n"
        "Skills hold task-specific instructions. When a task matches a description, "
        "call skill_view(name) and follow it.\n"
    )
    lines = [f"- {s.name}: {_shorten(s.description, INDEX_DESCRIPTION_CHARS)}\n" for s in ordered]
    full = head + "".join(lines)
    if count(full) <= budget_tokens:
        return full.rstrip("\n")
    best = head + _more_note(len(lines))
    for kept in range(1, len(lines)):
        trial = head + "".join(lines[:kept]) + _more_note(len(lines) - kept)
        if count(trial) > budget_tokens:
            break
        best = trial
    return best.rstrip("\n")


def _more_note(n: int) -> str:
    noun = "skill" if n == 1 else "skills"
    return f"({n} more {noun} not listed; call skills_list)\n"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def list_skills_text(scan: SkillScan) -> str:
    """Every skill as ``- name: description`` lines (what ``skills_list`` returns)."""
    if not scan.skills:
        return "No skills are installed."
    return "\n".join(f"- {s.name}: {s.description}" for s in scan.skills)


def skill_request_text(name: str) -> str:
    """The user message a front end sends when the user picks a skill (``/skills``)."""
    return (
        f'Use the "{name}" skill for this task: call skill_view(name="{name}") '
        "first and follow its instructions."
    )


def view_skill(
    scan: SkillScan, name: str, file: str | None = None, max_bytes: int = 100_000
) -> str:
    """A skill's instructions (without front matter) or one of its files.

    Raises ToolError for an unknown skill, a path outside the skill's folder (``..``,
    absolute, or a symlink leading out), a missing file, a directory or a binary file.
    """
    skill = scan.get(name)
    if skill is None:
        available = ", ".join(scan.names()) or "none are installed"
        raise ToolError(f"unknown skill '{name}'. Available skills: {available}")
    folder = skill.path.parent
    if file is None or file.strip() in ("", SKILL_FILE):
        text, note = _read_text(skill.path, max_bytes, f"{SKILL_FILE} of skill '{name}'")
        body = _strip_front_matter(text)
        extra = skill_files(skill)
        parts = [f"# Skill: {name}\nFolder: {folder}\n\n{body.strip()}"]
        if note:
            parts.append(note)
        if extra:
            shown = ", ".join(extra[:50]) + (" …" if len(extra) > 50 else "")
            parts.append(f"Files in this skill (read with skill_view(name, file)): {shown}")
        return "\n\n".join(parts)
    target = _confined(skill, file)
    text, note = _read_text(target, max_bytes, f"'{file}' in skill '{name}'")
    return text + ("\n\n" + note if note else "")


def skill_files(skill: Skill) -> list[str]:
    """Relative paths of the files in a skill's folder besides ``SKILL.md`` (no symlinks out)."""
    folder = skill.path.parent
    root = Path(os.path.realpath(folder))
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__pycache__")))
        for fname in sorted(filenames):
            if fname.startswith("."):
                continue
            full = Path(dirpath) / fname
            rel = full.relative_to(folder).as_posix()
            if rel == SKILL_FILE or not Path(os.path.realpath(full)).is_relative_to(root):
                continue
            found.append(rel)
            if len(found) >= 500:
                return found
    return found


def _confined(skill: Skill, file: str) -> Path:
    """Resolve ``file`` inside the skill's folder, or raise ToolError."""
    if "\x00" in file:
        raise ToolError("invalid file name")
    rel = Path(file)
    if rel.is_absolute() or file.startswith("~"):
        raise ToolError(
            f"'{file}' is an absolute path; give a path relative to the folder of "
            f"skill '{skill.name}'"
        )
    folder = skill.path.parent
    root = Path(os.path.realpath(folder))
    target = folder / rel
    if not Path(os.path.realpath(target)).is_relative_to(root):
        raise ToolError(f"'{file}' is outside the folder of skill '{skill.name}'")
    if not target.is_file():
        files = ", ".join(skill_files(skill)) or "none besides SKILL.md"
        what = "is a directory" if target.is_dir() else "does not exist"
        raise ToolError(f"'{file}' {what} in skill '{skill.name}'. Files: {files}")
    return target


def _read_text(path: Path, max_bytes: int, what: str) -> tuple[str, str]:
    """``(text, truncation note or "")``, reading at most ``max_bytes``."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            data = fh.read(max_bytes)
    except OSError as exc:
        raise ToolError(f"cannot read {what}: {exc.strerror or exc}") from exc
    if b"\x00" in data[:8192]:
        raise ToolError(f"{what} is a binary file")
    text = data.decode("utf-8", errors="replace")
    note = ""
    if size > len(data):
        note = f"[truncated: showing the first {len(data)} of {size} bytes]"
    return text, note


def _strip_front_matter(text: str) -> str:
    data = text.encode("utf-8")
    span = _front_matter_span(data)
    return text if isinstance(span, str) else data[span[2] :].decode("utf-8", "replace")


__all__ = [
    "Skill",
    "SkillScan",
    "discover_skills",
    "estimate_tokens",
    "list_skills_text",
    "skill_request_text",
    "skills_index",
    "view_skill",
]
