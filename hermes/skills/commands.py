"""Custom slash commands: Markdown files whose body is a prompt, in the shape of Claude
Code's ``.claude/commands/*.md``.

They come from ``$HERMES_HOME/commands/`` and, when the folder is trusted, the
workspace's ``.hermes/commands/``; a subfolder makes a namespace (``frontend/test.md``
is ``/frontend:test``). Front matter (optional): ``description``, ``argument-hint``,
``model``; other keys (``allowed-tools``, ...) are ignored and never loosen approvals.
Without a description, the body's first line is one. In the body, ``$ARGUMENTS`` is the
whole argument text and ``$1``..``$9`` its words (shell quoting groups words); a body with
neither gets the arguments appended as ``ARGUMENTS: ...``. ``@path`` stays in the
prompt; the front end attaches the file as it does for typed text. A name that shadows a built-in command is refused with a warning,
and a user's command wins over a workspace's of the same name.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from hermes.paths import hermes_home

CommandSource: TypeAlias = Literal["user", "workspace"]

MAX_COMMAND_FILE_BYTES = 256 * 1024
MAX_DEPTH = 4  # namespace levels
DESCRIPTION_MAX_CHARS = 200
_PART_RE = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_OPEN_RE = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n")
_CLOSE_RE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_PLACEHOLDER_RE = re.compile(r"\$(ARGUMENTS|[1-9])")


@dataclass(frozen=True)
class CustomCommand:
    """One command file. ``name`` includes the slash: ``/review``, ``/frontend:test``."""

    name: str
    description: str
    body: str
    path: Path
    source: CommandSource
    argument_hint: str = ""
    model: str | None = None


@dataclass(frozen=True)
class CommandScan:
    """The commands in effect (sorted by name) and a warning for each one refused."""

    commands: tuple[CustomCommand, ...] = ()
    warnings: tuple[str, ...] = ()

    def get(self, name: str) -> CustomCommand | None:
        """The command called ``name`` (with its slash), or None."""
        return next((c for c in self.commands if c.name == name), None)

    def help(self) -> dict[str, str]:
        """``{name: description}`` for /help and completion."""
        return {c.name: _help_text(c) for c in self.commands}


def _help_text(command: CustomCommand) -> str:
    hint = f" {command.argument_hint}" if command.argument_hint else ""
    return f"{command.description}{hint} ({command.source})"


@dataclass(frozen=True)
class Expanded:
    """A command made into a prompt."""

    command: CustomCommand
    prompt: str


# ------------------------------------------------------------------- discovery


def workspace_trusted(workspace: Path) -> bool:
    """Whether the user trusts ``workspace`` for its current content (``hermes trust``)."""
    from hermes.config import ConfigError
    from hermes.trust.material import read_material
    from hermes.trust.store import TrustStore

    try:
        material = read_material(workspace)
    except ConfigError:
        return False
    return TrustStore().is_trusted(material.folder, material.digest)


def command_roots(
    workspace: Path, *, trusted: bool, home: Path | None = None
) -> list[tuple[CommandSource, Path]]:
    """Where commands are looked for, in precedence order (the user's first)."""
    roots: list[tuple[CommandSource, Path]] = [
        ("user", (hermes_home() if home is None else home) / "commands")
    ]
    if trusted:
        roots.append(("workspace", workspace / ".hermes" / "commands"))
    return roots


def discover_commands(
    workspace: Path,
    *,
    reserved: Collection[str] = (),
    trusted: bool | None = None,
    home: Path | None = None,
) -> CommandScan:
    """Every valid command; ``reserved`` are the built-in names (``/help``...) none may
    take. ``trusted`` None: as the trust records say for the workspace's current content."""
    if trusted is None:
        trusted = workspace_trusted(workspace)
    found: dict[str, CustomCommand] = {}
    warnings: list[str] = []
    seen_roots: set[str] = set()
    for source, root in command_roots(workspace, trusted=trusted, home=home):
        real = os.path.realpath(root)
        if real in seen_roots or not root.is_dir():
            continue
        seen_roots.add(real)
        for path, parts in _files(root):
            name = "/" + ":".join(parts)
            if name in reserved:
                warnings.append(
                    f"refused command {name} from {path}: it would shadow the built-in "
                    f"{name}; rename the file"
                )
                continue
            if name in found:
                warnings.append(
                    f"skipped command {name} from {path}: {found[name].path} defines it already"
                )
                continue
            if source == "workspace" and path.is_symlink():  # may point at any file
                warnings.append(f"skipped command {name} from {path}: it is a symlink")
                continue
            parsed = parse_command_file(path, name, source)
            if isinstance(parsed, str):
                warnings.append(f"skipped command {name} from {path}: {parsed}")
            else:
                found[name] = parsed
    return CommandScan(tuple(sorted(found.values(), key=lambda c: c.name)), tuple(warnings))


def _files(root: Path) -> list[tuple[Path, list[str]]]:
    """``(file, name parts)`` of each ``*.md`` under ``root`` whose parts are valid names."""
    out: list[tuple[Path, list[str]]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root).parts
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and len(rel) + 1 < MAX_DEPTH
        )
        for filename in sorted(filenames):
            if filename.startswith(".") or not filename.endswith(".md"):
                continue
            parts = [p.lower() for p in (*rel, filename[:-3])]
            if all(_PART_RE.fullmatch(p) for p in parts):
                out.append((Path(dirpath) / filename, parts))
    return out


def parse_command_file(path: Path, name: str, source: CommandSource) -> CustomCommand | str:
    """The command in ``path``, or why it cannot be used."""
    try:
        size = path.stat().st_size
        if size > MAX_COMMAND_FILE_BYTES:
            return f"file is too large ({size} bytes; the limit is {MAX_COMMAND_FILE_BYTES})"
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    meta: dict[object, object] = {}
    body = text
    opening = _OPEN_RE.match(text)
    if opening is not None:
        closing = _CLOSE_RE.search(text, opening.end())
        if closing is None:
            return "front matter is not closed by a '---' line"
        found = _front_matter(text[opening.end() : closing.start()])
        if isinstance(found, str):
            return found
        meta = found
        body = text[closing.end() :]
    body = body.strip("\n")
    if not body.strip():
        return "the body (the prompt) is empty"
    fields: dict[str, str] = {}
    for key in ("description", "argument-hint", "model"):
        value = meta.get(key)
        if isinstance(value, list):  # argument-hint: [pr-number] read as a YAML list
            value = " ".join(f"[{v}]" for v in value)
        if value is not None and not isinstance(value, str | int | float):
            return f"'{key}' must be text"
        fields[key] = " ".join(str(value).split()) if value is not None else ""
    description = fields["description"] or next(
        (ln.strip().lstrip("#").strip() for ln in body.splitlines() if ln.strip()), ""
    )
    if len(description) > DESCRIPTION_MAX_CHARS:
        description = description[: DESCRIPTION_MAX_CHARS - 1] + "…"
    return CustomCommand(
        name=name,
        description=description,
        body=body,
        path=path,
        source=source,
        argument_hint=fields["argument-hint"],
        model=fields["model"] or None,
    )


def _front_matter(text: str) -> dict[object, object] | str:
    """The front matter's keys. Lines YAML cannot read (``argument-hint: [a] [b]``, as
    Claude Code's files write it) are read as ``key: value`` text instead."""
    import yaml  # deferred: only when a command file has front matter

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        lines = [ln.partition(":") for ln in text.splitlines() if ln.strip()]
        if not all(
            sep and key.strip() and not key.startswith((" ", "\t")) for key, sep, _ in lines
        ):
            return f"invalid YAML in front matter: {getattr(exc, 'problem', None) or exc}"
        return {key.strip(): value.strip().strip("\"'") for key, _, value in lines}
    if data is not None and not isinstance(data, dict):
        return "front matter must be a YAML mapping"
    return data or {}


# ------------------------------------------------------------------- expansion


def expand(command: CustomCommand, arguments: str) -> str:
    """The prompt ``command`` makes with ``arguments``."""
    arguments = arguments.strip()
    try:
        words = shlex.split(arguments)
    except ValueError:  # an unclosed quote: plain words then
        words = arguments.split()
    if not _PLACEHOLDER_RE.search(command.body):
        return f"{command.body}\n\nARGUMENTS: {arguments}" if arguments else command.body

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "ARGUMENTS":
            return arguments
        n = int(key)
        return words[n - 1] if n <= len(words) else ""

    return _PLACEHOLDER_RE.sub(value, command.body)


def expand_line(scan: CommandScan, name: str, arguments: str) -> Expanded | None:
    """``/name arguments`` as a prompt, or None when no custom command has that name."""
    command = scan.get(name)
    return None if command is None else Expanded(command, expand(command, arguments))
