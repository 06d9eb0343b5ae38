"""Catastrophic-command detection for :mod:`hermes.safety.shell.analyze`.

Two layers: checks on parsed argv (after unwrapping sudo, bash -c, xargs ...), and a
textual scan of the raw command used when parsing failed or the command hides parts
of itself (substitutions, quoting tricks, look-alike characters). The textual scan
undoes the obfuscation it can, so hiding a command makes it more flagged, not less.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Sequence

from hermes.safety.shell.git import split_git
from hermes.safety.shell.programs import NETWORK_PROGRAMS, is_network
from hermes.safety.shell.wrappers import (
    SHELLS,
    Argv,
    base,
    is_interpreter,
    long_matches,
    short_has,
    unwrap,
)

SYSTEM_DIRS = frozenset(
    (
        "/bin /boot /dev /etc /home /lib /lib32 /lib64 /media /mnt /opt /proc /root /run /sbin /snap /srv "
        "/sys /usr /var /usr/bin /usr/lib /usr/lib64 /usr/local /usr/sbin /usr/share /usr/include "
        "/var/lib /var/log /Applications /Library /System /Users /Volumes /private /cores"
    ).split()
)
_SYSTEM_FILE_ROOTS = ("/etc/", "/boot/", "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/System/")
_DISK = r"/dev/(?:(?:sd|hd|vd|xvd)[a-z]|nvme\d|mmcblk\d|r?disk\d|disk/|md\d|dm-\d|mapper/|loop\d|nbd\d|sr\d|root\b)"
DISK_DEVICE = re.compile(_DISK)
_DOWNLOADERS = frozenset({"curl", "wget", "fetch", "xh", "http", "https"})
_SQL_CLIENTS = frozenset(
    {"psql", "mysql", "mariadb", "sqlite", "sqlite3", "duckdb", "sqlcmd", "clickhouse-client"}
    | {"cqlsh", "mongo", "mongosh", "pgcli", "mycli", "litecli"}
)
SQL_DROP = re.compile(
    r"\b(drop\s+(?:database|table|schema)|truncate\s+(?:table\s+)?[\w.\"`]+)", re.IGNORECASE
)
_STOP_MACHINE = frozenset({"shutdown", "reboot", "halt", "poweroff"})


def danger_target(target: str, workspace: bool) -> str | None:
    """Describe ``target`` when wiping it recursively would be a disaster, else None."""
    t = target.strip()
    if not t:
        return None
    for home in ("${HOME}", "$HOME", "~"):
        if t == home or t.startswith(home + "/"):
            rest = _normal_abs(t[len(home) :])
            if rest == "/":
                return "the home directory (~)"
            return None
    if t.startswith("/"):
        p = _normal_abs(t)
        if p == "/":
            return "/"
        if p in SYSTEM_DIRS:
            return f"system directory {p}"
        return None
    if workspace:
        w = t
        while len(w) > 1 and w.endswith(("/", "/*")):
            w = w[:-2] if w.endswith("/*") else w[:-1]
        if w in (".", "..", "*", ".*", "./.", "../.."):
            return f"the workspace ({target})"
    return None


def _normal_abs(path: str) -> str:
    p = path
    while p.endswith("*"):
        p = p[:-1]
    p = posixpath.normpath("/" + p.lstrip("/"))
    return "/" + p.lstrip("/")


def _rm(args: Argv) -> str | None:
    recursive = False
    no_preserve = False
    targets: list[str] = []
    end = False
    for a in args:
        if not end and a == "--":
            end = True
        elif not end and a.startswith("--"):
            if long_matches(a, ("recursive",)):
                recursive = True
            elif len(a) > 4 and long_matches(a, ("no-preserve-root",)):
                no_preserve = True
        elif not end and a.startswith("-") and len(a) > 1:
            if short_has(a, "rR"):
                recursive = True
        else:
            targets.append(a)
    if not recursive:
        return None
    for t in targets:
        what = danger_target(t, workspace=True)
        if what:
            return f"recursive delete of {what}"
    if no_preserve:
        return "rm --no-preserve-root"
    return None


def _recursive_owner(prog: str, args: Argv) -> str | None:
    if not any(short_has(a, "R") or long_matches(a, ("recursive",)) for a in args):
        return None
    for t in args:
        if t.startswith("-"):
            continue
        what = danger_target(t, workspace=False)
        if what:
            return f"recursive {prog} of {what}"
    return None


def _find(args: Argv) -> str | None:
    j = 0
    while j < len(args) and (args[j] in ("-H", "-L", "-P", "-D") or args[j].startswith("-O")):
        j += 2 if args[j] == "-D" else 1
    starts: list[str] = []
    while j < len(args) and not args[j].startswith(("-", "(", "!", ")")):
        starts.append(args[j])
        j += 1
    expr = args[j:]
    deletes = "-delete" in expr
    for k, a in enumerate(expr):
        if a in ("-exec", "-execdir", "-ok", "-okdir") and k + 1 < len(expr):
            if base(expr[k + 1]) in ("rm", "shred", "unlink", "rmdir"):
                deletes = True
    if not deletes:
        return None
    for s in starts:
        what = danger_target(s, workspace=False)
        if what:
            return f"find deletes everything under {what}"
    return None


def _kill(args: Argv) -> str | None:
    j = 0
    if args and args[0] in ("-s", "-n", "--signal"):
        j = 2
    elif args and args[0].startswith("-") and args[0] != "--":
        j = 1
    if j < len(args) and args[j] == "--":
        j += 1
    if "-1" in args[j:]:
        return "kill -1 signals every process"
    return None


def _git_push(args: Argv) -> str | None:
    split = split_git(args)
    if split.sub != "push":
        return None
    for a in split.rest:
        if (
            short_has(a, "f")
            or long_matches(a, ("force", "force-with-lease", "mirror"))
            or (a.startswith("+") and len(a) > 1)
        ):
            return "git push --force rewrites remote history"
    return None


def _tee(args: Argv) -> str | None:
    if any(short_has(a, "a") or long_matches(a, ("append",)) for a in args):
        return None
    for t in args:
        if DISK_DEVICE.match(t):
            return f"writes to block device {t}"
        if t.startswith("/") and _normal_abs(t).startswith(_SYSTEM_FILE_ROOTS):
            return f"overwrites system file {t}"
    return None


def catastrophic_argv(argv: Argv, anywhere: bool = False) -> str | None:
    """The catastrophe ``argv`` (program first) would cause, or None.

    ``anywhere`` is for argv found at an unknown position (inside another command's
    arguments): then only checks that need telling arguments apply.
    """
    if not argv:
        return None
    prog = base(argv[0])
    args = argv[1:]
    if prog == "rm":
        return _rm(args)
    if prog.startswith("mkfs") or prog in ("mke2fs", "mkswap", "wipefs"):
        if not anywhere or any(a.startswith("/dev/") for a in args):
            return f"{prog} formats a filesystem"
        return None
    if prog == "dd":
        for a in args:
            if a.startswith("of=") and DISK_DEVICE.match(a[3:]):
                return f"dd writes to block device {a[3:]}"
        return None
    if prog == "shred":
        dev = next((a for a in args if DISK_DEVICE.match(a)), None)
        return f"shred overwrites block device {dev}" if dev else None
    if prog in ("chmod", "chown", "chgrp"):
        return _recursive_owner(prog, args)
    if prog == "find":
        return _find(args)
    if prog == "tee":
        return _tee(args)
    if anywhere:
        return None
    if prog in _STOP_MACHINE:
        return f"{prog} stops the machine"
    if prog == "systemctl" and any(a in ("poweroff", "reboot", "halt", "kexec") for a in args):
        return "systemctl stops the machine"
    if prog in ("init", "telinit") and any(a in ("0", "6") for a in args):
        return f"{prog} stops the machine"
    if prog == "kill":
        return _kill(args)
    if prog == "git":
        return _git_push(args)
    if prog == "dropdb":
        return "dropdb drops a database"
    if prog in _SQL_CLIENTS or prog == "mysqladmin":
        for a in args:
            m = SQL_DROP.search(a)
            if m:
                return f"{m.group(1).split()[0].upper()} statement in {prog}"
        if prog == "mysqladmin" and "drop" in args:
            return "mysqladmin drop drops a database"
    return None


_ANYWHERE = frozenset({"rm", "dd", "shred", "chmod", "chown", "chgrp", "find", "mke2fs"})


def catastrophic_command(argv: Argv, text_payloads: bool = False, depth: int = 0) -> str | None:
    """Check a command and everything it wraps (sudo, xargs, env, timeout ...).

    ``text_payloads`` also scans the strings given to ``bash -c``/``su -c``/``eval``
    textually (the tree-based caller analyses those by parsing them instead).
    """
    if not argv:
        return None
    u = unwrap(argv)
    found = catastrophic_argv(argv[u.start :])
    if found:
        return found
    for k in range(1, len(argv)):
        prog = base(argv[k])
        if prog in _ANYWHERE or prog.startswith("mkfs"):
            found = catastrophic_argv(argv[k:], anywhere=True)
            if found:
                return found
    if text_payloads and depth < 4:
        if u.payload:
            found = textual_catastrophic(u.payload, depth + 1)
            if found:
                return found
    if depth < 4 and (text_payloads or u.payload is None):
        for k, a in enumerate(argv[:-1]):
            if a in ("-c", "--command") or (a.startswith("-") and a.endswith("c") and k > 0):
                found = textual_catastrophic(argv[k + 1], depth + 1)
                if found:
                    return found
    return None


def catastrophic_redirect(op: str, target: str) -> str | None:
    """The catastrophe a redirection ``op target`` would cause, or None."""
    if "<" in op and ">" not in op:
        return None
    if DISK_DEVICE.match(target):
        return f"writes to block device {target}"
    if op in (">", ">|", "&>") and target.startswith("/"):
        if _normal_abs(target).startswith(_SYSTEM_FILE_ROOTS):
            return f"overwrites system file {target}"
    return None


def reads_program_from_stdin(argv: Argv) -> bool:
    """Whether an interpreter in a pipeline would run what comes in on stdin."""
    if not argv:
        return False
    prog = base(argv[0])
    if not is_interpreter(prog):
        return False
    for a in argv[1:]:
        if a in ("-", "--"):
            return True
        if prog in SHELLS and a[:1] in "-+" and len(a) > 1:
            if "c" in a[1:]:
                return False
            if "s" in a[1:]:
                return True
            continue
        if a in ("-c", "-m", "-e", "-E", "-r", "--eval", "-p", "--print"):
            return False
        if a.startswith("-"):
            continue
        return False
    return True


def catastrophic_pipeline(stages: Sequence[Argv]) -> str | None:
    """Pipeline-level catastrophes: a download piped into a shell, SQL piped into a client."""
    downloader: str | None = None
    for st in stages:
        if not st:
            continue
        prog = base(st[0])
        if downloader and reads_program_from_stdin(st):
            return f"pipes a download ({downloader}) into {prog}"
        if prog in _DOWNLOADERS:
            downloader = prog
    if any(st and base(st[0]) in _SQL_CLIENTS for st in stages):
        for st in stages:
            for a in st:
                m = SQL_DROP.search(a)
                if m:
                    return f"{m.group(1).split()[0].upper()} statement piped into a database client"
    return None


# ---------------------------------------------------------------- textual scan

# The name starts at a token boundary and the body is bounded: otherwise a long word or
# many `f(){` make the search quadratic (every suffix is tried as a name, every body
# scanned to the end).
_FORK_BOMB = re.compile(
    r"(?<![^\s;&|(){}<>])([^\s(){}|;&<>]+)\s*\(\s*\)\s*\{[^}]{0,200}?\1\s*\|\s*\1"
)
_SHELLISH = r"(?:(?:ba|z|da|k|mk|a)?sh|fish|python[0-9.]*|perl|ruby|node|php)"
_PIPE_TO_SHELL = re.compile(
    r"\b(?:curl|wget|fetch|xh)\b[^;&\n]*?\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?"
    + _SHELLISH
    + r"\b(?!\s+-[cme]\b)(?!\s+-[a-z]*c)"
)
_SUBST_TO_SHELL = re.compile(
    r"(?:^|[\s;&|(])(?:" + _SHELLISH + r"|source|\.|eval)\s+(?:-\S+\s+)*(?:<\(|\$\(|`)\s*"
    r"(?:curl|wget|fetch|xh)\b"
)
_REDIRECT_DEVICE = re.compile(r"(?:>|>>|>\||&>)\s*(" + _DISK + r")")
_REDIRECT_SYSTEM = re.compile(
    r"(?<!>)(?:>\|?|&>)(?!>)\s*(/(?:etc|boot|usr|bin|sbin|lib|lib64|System)/\S+)"
)
_SQL_CLIENT_TEXT = re.compile(r"\b(?:" + "|".join(sorted(_SQL_CLIENTS)) + r")\b")
_SEGMENTS = re.compile(r"\|\||&&|[;&|\n()`]|<\(|>\(")
_LEADING_NOISE = frozenset({"{", "}", "!", "then", "do", "else", "elif", "if", "while", "until"})
_BRACE_LIST = re.compile(r"\{([^{}\s]*,[^{}\s]*)\}")
_TEXT_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{4}|[0-7]{1,3})")
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _decode_escape(m: re.Match[str]) -> str:
    token = m.group(1)
    if token[0] in "xu":
        return chr(int(token[1:], 16))
    return chr(int(token, 8) & 0xFF)


def deobfuscate(text: str) -> str:
    """Undo the quoting and look-alike tricks a command could hide behind."""
    t = unicodedata.normalize("NFKC", text)
    if not t.isascii() or re.search(r"[\x00-\x09\x0b-\x1f\x7f]", t):
        chars: list[str] = []
        for ch in t:
            if ch == "\n":
                chars.append(ch)
            elif ch.isspace() or unicodedata.category(ch) == "Cc":
                chars.append(" ")
            elif unicodedata.category(ch) != "Cf":
                chars.append(ch)
        t = "".join(chars)
    t = t.replace("\\\n", "")
    t = _TEXT_ESCAPE.sub(_decode_escape, t)
    t = re.sub(r"\$(?=['\"])", "", t)
    t = re.sub(r"[\"'\\]", "", t)
    return _BRACE_LIST.sub(lambda m: " " + m.group(1).replace(",", " ") + " ", t)


def textual_catastrophic(text: str, depth: int = 0) -> str | None:
    """Second line of defence: a conservative scan of the raw command text."""
    t = deobfuscate(text)
    if "{" in t and "|" in t and _FORK_BOMB.search(t):
        return "fork bomb"
    if _PIPE_TO_SHELL.search(t) or _SUBST_TO_SHELL.search(t):
        return "pipes a download into a shell"
    m = _REDIRECT_DEVICE.search(t)
    if m:
        return f"writes to block device {m.group(1)}"
    m = _REDIRECT_SYSTEM.search(t)
    if m:
        return f"overwrites system file {m.group(1)}"
    if _SQL_CLIENT_TEXT.search(t):
        m = SQL_DROP.search(t)
        if m:
            return f"{m.group(1).split()[0].upper()} statement in a database client"
    for segment in _SEGMENTS.split(t):
        tokens = segment.split()
        while tokens and (tokens[0] in _LEADING_NOISE or _ASSIGN.match(tokens[0])):
            tokens.pop(0)
        if tokens:
            found = catastrophic_command(tokens, text_payloads=True, depth=depth)
            if found:
                return found
    return None


def textual_network(text: str) -> bool:
    """Whether any command-like part of unparsed text looks like network use."""
    t = deobfuscate(text)
    for segment in _SEGMENTS.split(t):
        tokens = segment.split()
        while tokens and (tokens[0] in _LEADING_NOISE or _ASSIGN.match(tokens[0])):
            tokens.pop(0)
        if not tokens:
            continue
        u = unwrap(tokens)
        if is_network(tokens[u.start :]) or any(base(tok) in NETWORK_PROGRAMS for tok in tokens):
            return True
    return False
