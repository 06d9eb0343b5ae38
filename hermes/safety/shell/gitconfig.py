"""Does git's effective configuration make a "read-only" git command start a program?

``git status`` runs ``core.fsmonitor``, clean filters and the ``post-index-change``
hook; ``git diff`` and ``git log -p`` run ``diff.external`` and textconv drivers. The
repository decides all of that, and a workspace can point git at a repository of its
choosing (a gitfile ``sub/.git`` saying ``gitdir: ../elsewhere``, a bare repository
in a subfolder). So before a git command counts as read-only, this module finds the
repository git would use from where the command runs and reads every configuration
file git would read: system, global, the repository's own (through ``commondir`` and
gitfiles), every ``include.path``/``includeIf.*.path`` (all conditions taken as
true), and the ``GIT_CONFIG_*`` environment.

Two tiers. What the repository or the workspace can change (the repository's config,
anything it includes, any config file inside the workspace) must name no program at
all, whatever the subcommand. What the user's own files and environment say (system
and global config, ``GIT_*`` variables) counts only where the subcommand can start it
with no terminal attached: fsmonitor, filters (git-lfs excepted), a hooks path the
workspace can write, diff drivers for commands that diff, gpg when signatures are
shown. A credential helper, pager, editor or alias there is never started by a
read-only subcommand (macOS sets ``credential.helper`` system-wide; asking on every
``git status`` for it would only teach people to say yes).

Besides the configuration: a command that writes the index (``git status``) runs the
repository's own ``post-index-change`` hook, and in a partial clone reading the blobs of
other commits (``git log -p``, ``git show``) fetches them over the network; both ask.

Anything unreadable or unparseable makes the command ask.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hermes.safety.pathnames import is_named, real
from hermes.safety.protected import looks_like_git_dir
from hermes.safety.shell.context import ShellContext
from hermes.safety.shell.git import split_git

MAX_INCLUDE_DEPTH = 10
_SYSTEM_CONFIGS = (
    "/etc/gitconfig",
    "/usr/local/etc/gitconfig",
    "/opt/homebrew/etc/gitconfig",
    "/Library/Developer/CommandLineTools/usr/share/git-core/gitconfig",
    "/Applications/Xcode.app/Contents/Developer/usr/share/git-core/gitconfig",
)
_FALSE_TRUE = frozenset({"", "true", "false", "yes", "no", "on", "off", "1", "0"})
# Subcommands that produce diffs (and so may run diff.external and textconv drivers).
DIFF_SUBCOMMANDS = frozenset(
    {"diff", "log", "show", "whatchanged", "range-diff", "stash", "blame", "annotate"}
    | {"grep", "cat-file", "format-patch"}
)
_SIGNATURE_SUBCOMMANDS = frozenset({"log", "show", "whatchanged"})


class ConfigUnreadable(Exception):
    """A config file git would read could not be read or parsed."""


@dataclass(frozen=True)
class Entry:
    """One configuration value, with where it came from."""

    section: str
    subsection: str | None
    name: str
    value: str | None
    origin: str
    repo_side: bool

    @property
    def key(self) -> str:
        """``section[.subsection].name`` as git prints it."""
        sub = f".{self.subsection}" if self.subsection is not None else ""
        return f"{self.section}{sub}.{self.name}"


# ---------------------------------------------------------------- parsing


def _parse_header(line: str, i: int, origin: str) -> tuple[str, str | None, int]:
    """Parse ``[section "sub"]`` starting at ``line[i] == '['``; return the rest index."""
    end = i + 1
    n = len(line)
    while end < n and line[end] not in ' \t"]':
        end += 1
    section = line[i + 1 : end]
    sub: str | None = None
    while end < n and line[end] in " \t":
        end += 1
    if end < n and line[end] == '"':
        chars: list[str] = []
        end += 1
        while end < n and line[end] != '"':
            if line[end] == "\\" and end + 1 < n:
                end += 1
            chars.append(line[end])
            end += 1
        if end >= n:
            raise ConfigUnreadable(f"{origin}: unterminated section header")
        sub = "".join(chars)
        end += 1
    if end >= n or line[end] != "]":
        raise ConfigUnreadable(f"{origin}: bad section header")
    if sub is None and "." in section:
        section, _, sub = section.partition(".")  # legacy [section.sub]
    if not section or not all(c.isalnum() or c in "-." for c in section):
        raise ConfigUnreadable(f"{origin}: bad section name {section!r}")
    return section.lower(), sub, end + 1


def _parse_value(text: str, origin: str) -> str:
    out: list[str] = []
    quoted = False
    i = 0
    n = len(text)
    pending_space = ""
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ConfigUnreadable(f"{origin}: bad escape at end of value")
            nxt = text[i + 1]
            mapped = {"n": "\n", "t": "\t", "b": "\b", "\\": "\\", '"': '"', "\n": ""}.get(nxt)
            if mapped is None:
                raise ConfigUnreadable(f"{origin}: bad escape \\{nxt}")
            out.append(pending_space + mapped)
            pending_space = ""
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
            out.append(pending_space)
            pending_space = ""
            i += 1
            continue
        if not quoted and ch in "#;":
            break
        if not quoted and ch in " \t":
            if out:
                pending_space += ch
            i += 1
            continue
        out.append(pending_space + ch)
        pending_space = ""
        i += 1
    if quoted:
        raise ConfigUnreadable(f"{origin}: unterminated quote")
    return "".join(out)


def parse_config(text: str, origin: str, repo_side: bool) -> list[Entry]:
    """Entries of a git config file, in order (raises :class:`ConfigUnreadable`)."""
    entries: list[Entry] = []
    section: str | None = None
    sub: str | None = None
    # Join continuation lines first: a value may end a line with a backslash.
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        if raw.endswith("\\") and not raw.endswith("\\\\"):
            buf += raw[:-1]
            continue
        logical.append(buf + raw)
        buf = ""
    if buf:
        logical.append(buf)
    for line in logical:
        i = 0
        n = len(line)
        while i < n and line[i] in " \t":
            i += 1
        if i >= n or line[i] in "#;":
            continue
        if line[i] == "[":
            section, sub, i = _parse_header(line, i, origin)
            while i < n and line[i] in " \t":
                i += 1
            if i >= n or line[i] in "#;":
                continue
        if section is None:
            raise ConfigUnreadable(f"{origin}: a value outside any section")
        start = i
        while i < n and (line[i].isalnum() or line[i] == "-"):
            i += 1
        name = line[start:i].lower()
        if not name or not name[0].isalpha():
            raise ConfigUnreadable(f"{origin}: bad config line {line.strip()[:60]!r}")
        while i < n and line[i] in " \t":
            i += 1
        value: str | None
        if i >= n or line[i] in "#;":
            value = None
        elif line[i] == "=":
            value = _parse_value(line[i + 1 :], origin)
        else:
            raise ConfigUnreadable(f"{origin}: bad config line {line.strip()[:60]!r}")
        entries.append(Entry(section, sub, name, value, origin, repo_side))
    return entries


_cache: dict[tuple[str, int, int, int], list[Entry]] = {}


def _read_file(path: Path, repo_side: bool) -> list[Entry] | None:
    """A config file's entries; None when it does not exist (git skips those)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise ConfigUnreadable(f"cannot read {path}: {exc.strerror}") from exc
    key = (str(path), st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _cache.get(key)
    if cached is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigUnreadable(f"cannot read {path}: {exc.strerror}") from exc
        if len(data) > 1_000_000:
            raise ConfigUnreadable(f"{path} is too large to check")
        cached = parse_config(data.decode("utf-8", "replace"), str(path), False)
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = cached
    if repo_side:
        return [Entry(e.section, e.subsection, e.name, e.value, e.origin, True) for e in cached]
    return cached


# ---------------------------------------------------------------- which files


@dataclass(frozen=True)
class Repository:
    """The repository git would use from a folder."""

    git_dir: Path
    common_dir: Path
    how: str


def discover(start: Path, env: Mapping[str, str]) -> Repository | None:
    """The repository git finds from ``start`` (GIT_DIR, then ``.git`` upwards, a gitfile
    followed, or a bare repository), or None. Raises :class:`ConfigUnreadable` for a
    gitfile it cannot read."""
    git_dir_env = env.get("GIT_DIR")
    if git_dir_env:
        gd = Path(git_dir_env) if os.path.isabs(git_dir_env) else start / git_dir_env
        return _repository(gd, env, "GIT_DIR")
    d = real(start)
    while True:
        dotgit = d / ".git"
        if dotgit.is_file():
            return _repository(_read_gitfile(dotgit), env, f"gitfile {dotgit}")
        if dotgit.is_dir() and looks_like_git_dir(dotgit):
            return _repository(dotgit, env, str(dotgit))
        if looks_like_git_dir(d):
            return _repository(d, env, f"bare repository {d}")
        if d.parent == d:
            return None
        d = d.parent


def _read_gitfile(path: Path) -> Path:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigUnreadable(f"cannot read gitfile {path}: {exc.strerror}") from exc
    first = text.splitlines()[0] if text else ""
    if not first.startswith("gitdir:"):
        raise ConfigUnreadable(f"{path} is a .git file that does not say 'gitdir: ...'")
    target = first[len("gitdir:") :].strip()
    return Path(target) if os.path.isabs(target) else path.parent / target


def _repository(git_dir: Path, env: Mapping[str, str], how: str) -> Repository:
    common = git_dir
    common_env = env.get("GIT_COMMON_DIR")
    if common_env:
        common = Path(common_env) if os.path.isabs(common_env) else git_dir / common_env
    else:
        try:
            rel = (git_dir / "commondir").read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            rel = ""
        except OSError as exc:
            raise ConfigUnreadable(f"cannot read {git_dir / 'commondir'}: {exc.strerror}") from exc
        if rel:
            common = Path(rel) if os.path.isabs(rel) else git_dir / rel
    return Repository(Path(os.path.normpath(git_dir)), Path(os.path.normpath(common)), how)


def _home(env: Mapping[str, str]) -> Path | None:
    value = env.get("HOME")
    return Path(value) if value and os.path.isabs(value) else None


def _user_files(env: Mapping[str, str]) -> list[Path]:
    files: list[Path] = []
    if env.get("GIT_CONFIG_NOSYSTEM", "").lower() not in ("1", "true", "yes", "on"):
        system = env.get("GIT_CONFIG_SYSTEM")
        files.extend([Path(system)] if system else [Path(p) for p in _SYSTEM_CONFIGS])
    glob_env = env.get("GIT_CONFIG_GLOBAL")
    if glob_env:
        files.append(Path(glob_env))
    else:
        home = _home(env)
        xdg = env.get("XDG_CONFIG_HOME")
        if xdg and os.path.isabs(xdg):
            files.append(Path(xdg) / "git" / "config")
        elif home:
            files.append(home / ".config" / "git" / "config")
        if home:
            files.append(home / ".gitconfig")
    return files


def _env_entries(env: Mapping[str, str]) -> list[Entry]:
    out: list[Entry] = []
    count = env.get("GIT_CONFIG_COUNT")
    if count:
        try:
            n = int(count)
        except ValueError as exc:
            raise ConfigUnreadable(f"GIT_CONFIG_COUNT={count!r} is not a number") from exc
        for k in range(max(0, min(n, 1000))):
            key = env.get(f"GIT_CONFIG_KEY_{k}", "")
            out.append(
                _entry_from_key(key, env.get(f"GIT_CONFIG_VALUE_{k}"), f"GIT_CONFIG_KEY_{k}")
            )
    params = env.get("GIT_CONFIG_PARAMETERS")
    if params:
        try:
            tokens = shlex.split(params)
        except ValueError as exc:
            raise ConfigUnreadable("GIT_CONFIG_PARAMETERS cannot be read") from exc
        for tok in tokens:
            key, eq, value = tok.partition("=")
            out.append(_entry_from_key(key, value if eq else None, "GIT_CONFIG_PARAMETERS"))
    return out


def _entry_from_key(key: str, value: str | None, origin: str) -> Entry:
    section, _, rest = key.partition(".")
    sub, dot, name = rest.rpartition(".")
    if not section or not rest:
        raise ConfigUnreadable(f"{origin}: bad key {key!r}")
    return Entry(section.lower(), sub if dot else None, name.lower(), value, origin, False)


def _with_includes(
    entries: list[Entry], base: Path | None, ctx: ShellContext, depth: int, seen: set[Path]
) -> list[Entry]:
    out: list[Entry] = []
    for e in entries:
        out.append(e)
        is_include = e.name == "path" and (
            (e.section == "include" and e.subsection is None) or e.section == "includeif"
        )
        if not is_include or not e.value:
            continue
        if depth >= MAX_INCLUDE_DEPTH:
            raise ConfigUnreadable(f"{e.origin}: includes nest too deeply")
        target = _include_path(e.value, base, ctx.env)
        if target is None:
            continue
        resolved = real(target)
        if resolved in seen:
            continue
        seen.add(resolved)
        repo_side = e.repo_side or ctx.may_be_inside(resolved)
        found = _read_file(resolved, repo_side)
        if found is not None:
            out.extend(_with_includes(found, resolved.parent, ctx, depth + 1, seen))
    return out


def _include_path(value: str, base: Path | None, env: Mapping[str, str]) -> Path | None:
    if value.startswith("~/") or value == "~":
        home = _home(env)
        return home / value[2:] if home else None
    if os.path.isabs(value):
        return Path(value)
    return base / value if base is not None else None


def effective_entries(repo: Repository | None, ctx: ShellContext, sub: str | None) -> list[Entry]:
    """Every entry git would read, includes followed (a superset: includeIf counts)."""
    entries: list[Entry] = []
    seen: set[Path] = set()
    files: list[tuple[Path, bool]] = [(p, False) for p in _user_files(ctx.env)]
    if repo is not None:
        files.append((repo.common_dir / "config", True))
        files.append((repo.git_dir / "config.worktree", True))
    legacy = ctx.env.get("GIT_CONFIG")
    if legacy and sub == "config":
        files.append((Path(legacy), False))
    for path, repo_side in files:
        resolved = real(path)
        if resolved in seen:
            continue
        seen.add(resolved)
        side = repo_side or ctx.may_be_inside(resolved)
        found = _read_file(resolved, side)
        if found is not None:
            entries.extend(_with_includes(found, resolved.parent, ctx, 1, seen))
    env_entries = _env_entries(ctx.env)
    entries.extend(_with_includes(env_entries, None, ctx, 1, seen))
    return entries


# ---------------------------------------------------------------- which keys run programs

_PROGRAM_NAMES = frozenset(
    (
        "cmd command program helper driver editor pager askpass sshcommand tunnel textconv "
        "clean smudge process external browser viewer hookspath fsmonitor packobjectshook "
        "difffilter gitproxy alternaterefscommand uploadpack receivepack vcs tocmd cccmd "
        "sendmailcmd headercmd defaultkeycommand"
    ).split()
)


def _boolish(value: str | None) -> bool:
    return value is None or value.strip().lower() in _FALSE_TRUE


def names_program(e: Entry) -> bool:
    """Whether the entry names a program git may start (any subcommand)."""
    s, name, value = e.section, e.name, e.value
    text = (value or "").strip()
    if s == "alias" or (s == "submodule" and name == "update"):
        return text.startswith("!")
    if (s, name) in (("core", "fsmonitor"),) or s == "pager":
        return not _boolish(value)
    if s == "sendemail" and name == "smtpserver":
        return text.startswith("/")
    if s in ("man", "difftool", "mergetool", "browser", "guitool") and name == "path":
        return True
    if s == "web" and name == "browser":
        return True
    if s == "core" and name in ("editor", "pager", "sshcommand", "askpass", "hookspath"):
        return bool(value)
    if name in _PROGRAM_NAMES:
        return bool(value)
    return False


def _is_lfs(value: str | None) -> bool:
    v = (value or "").strip()
    return v.startswith(("git-lfs ", "git lfs ")) or v in ("git-lfs", "git lfs")


def _relevant_user_entry(
    e: Entry, sub: str, args: Sequence[str], ctx: ShellContext, signatures: bool
) -> bool:
    """Whether a program the user's own config names can start for ``git sub``."""
    s, name, value = e.section, e.name, e.value
    if s == "core" and name == "fsmonitor":
        return not _boolish(value)
    if s == "core" and name == "hookspath":
        if not value:
            return False
        p = Path(os.path.expanduser(value)) if value.startswith("~") else Path(value)
        return not p.is_absolute() or ctx.may_be_inside(p)
    if s == "filter" and name in ("clean", "smudge", "process"):
        return bool(value) and not _is_lfs(value)
    if s == "diff" and (
        (e.subsection is None and name == "external")
        or (e.subsection is not None and name in ("textconv", "command"))
    ):
        return bool(value) and sub in DIFF_SUBCOMMANDS
    if s == "gpg" and name == "program":
        return bool(value) and signatures and sub in _SIGNATURE_SUBCOMMANDS
    return False


def _shows_signatures(args: Sequence[str], entries: Iterable[Entry]) -> bool:
    if any(a == "--show-signature" or "%G" in a for a in args):
        return True
    for e in entries:
        if e.section == "log" and e.name == "showsignature" and e.subsection is None:
            if (e.value or "true").strip().lower() in ("true", "yes", "on", "1", ""):
                return True
    return False


def _shown(e: Entry) -> str:
    value = (e.value or "").replace("\n", "\\n")
    if len(value) > 60:
        value = value[:59] + "…"
    return f"{e.key} = {value!r} in {e.origin}"


def _writes_index(sub: str, args: Sequence[str]) -> bool:
    """Whether ``git sub args`` (read-only otherwise) refreshes and writes the index."""
    if sub == "status":
        return True
    return sub == "describe" and any(a.startswith(("--dirty", "--broken")) for a in args)


def _index_hook(
    repo: Repository | None, entries: Sequence[Entry], sub: str, args: Sequence[str]
) -> Path | None:
    """The ``post-index-change`` hook a command that writes the index would run, when
    it comes from the repository's own hooks folder (a ``core.hooksPath`` was judged
    with the rest of the configuration)."""
    if repo is None or not _writes_index(sub, args):
        return None
    if any(e.section == "core" and e.name == "hookspath" and e.value for e in entries):
        return None
    hook = repo.common_dir / "hooks" / "post-index-change"
    try:
        return hook if hook.is_file() and os.access(hook, os.X_OK) else None
    except OSError:
        return hook


# log/whatchanged options that compare file contents (and so read old blobs).
_BLOB_READING_LOG_OPTIONS = (
    "-p -u -U -W -c -M -C -B -S -G -L --patch --unified --stat --numstat --shortstat "
    "--dirstat --name-status --summary --check --word-diff --color-words --function-context "
    "--cc --full-diff --find-renames --find-copies --break-rewrites --pickaxe-regex --follow "
    "--diff-merges --remerge-diff --compact-summary --patch-with-stat --patch-with-raw"
).split()


def _lazy_fetch_remote(
    entries: Sequence[Entry], globals_: Sequence[str], ctx: ShellContext
) -> str | None:
    """In a partial clone (objects left on a promisor remote), the remote git fetches
    missing objects from on demand; None when it cannot (or is told not to)."""
    if "--no-lazy-fetch" in globals_ or ctx.env.get("GIT_NO_LAZY_FETCH", "") not in ("", "0"):
        return None
    for e in entries:
        if e.section == "extensions" and e.name == "partialclone" and e.value:
            return e.value
        if e.section == "remote" and e.name == "promisor" and not _false(e.value):
            return e.subsection or "its promisor remote"
    return None


def _false(value: str | None) -> bool:
    return (value or "").strip().lower() in ("false", "no", "off", "0")


def _may_need_old_objects(sub: str, args: Sequence[str], start: Path) -> bool:
    """Whether ``git sub args`` may read blobs a partial clone has not fetched (those
    of other commits than the checked-out one)."""
    if sub in ("log", "whatchanged"):
        return any(
            a.partition("=")[0] in _BLOB_READING_LOG_OPTIONS
            or (a.startswith("-") and not a.startswith("--") and set(a[1:]) & set("puUWcMCBSGL"))
            for a in args
        )
    if sub == "diff":
        # Against the work tree and the index, no old blob is needed; a revision may.
        words = list(args)
        cut = words.index("--") if "--" in words else len(words)
        return any(not w.startswith("-") and not (start / w).exists() for w in words[:cut])
    if sub == "grep":
        return any(not w.startswith("-") for w in args[1:])  # a revision, or a path: ask
    return sub in DIFF_SUBCOMMANDS


def git_config_problem(argv: Sequence[str], cwd: Path, ctx: ShellContext) -> str | None:
    """Why ``argv`` (a git command judged read-only by its words) may still start a
    program, given where it runs; None when its configuration names none that it could."""
    split = split_git(argv[1:])
    sub = split.sub or ""
    start = cwd
    for d in split.chdirs:
        if d:
            start = Path(d) if os.path.isabs(d) else start / d
    try:
        repo = discover(start, ctx.env)
        entries = effective_entries(repo, ctx, sub)
    except ConfigUnreadable as exc:
        return f"cannot check the git configuration: {exc}"
    signatures = _shows_signatures(split.rest, entries)
    for e in entries:
        if e.repo_side:
            if names_program(e):
                return f"git {sub} runs with configuration that names a program: {_shown(e)}"
        elif _relevant_user_entry(e, sub, split.rest, ctx, signatures):
            return f"git {sub} may start a program from {_shown(e)}"
    hook = _index_hook(repo, entries, sub, split.rest)
    if hook is not None:
        return f"git {sub} writes the index, which runs the hook {hook}"
    remote = _lazy_fetch_remote(entries, split.globals, ctx)
    if remote is not None and _may_need_old_objects(sub, split.rest, start):
        return (
            f"git {sub} may fetch missing objects over the network from {remote} "
            "(a partial clone); git --no-lazy-fetch does not"
        )
    if repo is not None and "GIT_DIR" not in ctx.env:
        if not any(is_named(part, ".git") for part in real(repo.git_dir).parts):
            return (
                f"git {sub} would use the git folder {repo.git_dir} ({repo.how}), which is "
                "not a .git folder: its config and hooks are not protected"
            )
    for var in ("GIT_EXTERNAL_DIFF",):
        if ctx.env.get(var) and sub in DIFF_SUBCOMMANDS:
            return f"git {sub} may start {var}={ctx.env[var]!r}"
    exec_path = ctx.env.get("GIT_EXEC_PATH")
    if exec_path and (not os.path.isabs(exec_path) or ctx.may_be_inside(Path(exec_path))):
        return f"GIT_EXEC_PATH={exec_path!r} lets the workspace supply git's programs"
    return None


__all__ = [
    "ConfigUnreadable",
    "discover",
    "effective_entries",
    "git_config_problem",
    "parse_config",
]
