"""Shell wrappers for :mod:`hermes.safety.shell.analyze`: what a command really runs.

``sudo``, ``env``, ``timeout``, ``xargs``, ``bash -c`` and friends are peeled off argv
tuples (words after quote removal) so the wrapped command can be judged, plus the
small option-spelling helpers the rule modules share.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Argv = Sequence[str]

STANDARD_BIN_DIRS = frozenset(
    {"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin", "/usr/local/sbin"}
)
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish"})
INTERPRETER_RE = re.compile(
    r"(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|deno|bun|php[0-9.]*|lua[0-9.]*|"
    r"Rscript|osascript|tclsh|wish|irb|jshell|powershell|pwsh)"
)
NAME_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def base(word: str) -> str:
    """The program name a word runs (basename of a path)."""
    return posixpath.basename(word) if "/" in word else word


def is_interpreter(prog: str) -> bool:
    """Whether ``prog`` runs code given to it (scripting languages and shells)."""
    return prog in SHELLS or INTERPRETER_RE.fullmatch(prog) is not None


def long_name(arg: str) -> str:
    """``--name=value`` -> ``name``."""
    return arg[2:].partition("=")[0]


def long_matches(arg: str, names: Sequence[str]) -> str | None:
    """The forbidden long option ``arg`` spells, abbreviations included (GNU getopt)."""
    if not arg.startswith("--") or arg == "--":
        return None
    name = long_name(arg)
    return next((full for full in names if name and full.startswith(name)), None)


def short_has(arg: str, letters: str) -> str | None:
    """The first of ``letters`` set in a short-option cluster like ``-nro``."""
    if not arg.startswith("-") or arg.startswith("--") or len(arg) < 2:
        return None
    return next((ch for ch in arg[1:] if ch in letters), None)


@dataclass(frozen=True)
class Unwrapped:
    """Where the real program starts in argv, and what the wrappers around it said."""

    start: int
    wrappers: tuple[str, ...] = ()
    ask: str | None = None
    payload: str | None = None
    payload_idx: tuple[int, ...] = ()
    payload_flags_ok: bool = True


@dataclass(frozen=True)
class _Step:
    next: int
    ask: str | None = None
    payload: str | None = None
    payload_idx: tuple[int, ...] = ()
    payload_flags_ok: bool = True


def _skip_options(
    argv: Argv,
    i: int,
    with_arg: str = "",
    long_with_arg: Sequence[str] = (),
    numeric_ok: bool = False,
) -> int:
    """Index of the first operand after the options of the program at ``argv[i]``."""
    j = i + 1
    n = len(argv)
    while j < n:
        a = argv[j]
        if a == "--":
            return j + 1
        if a.startswith("--"):
            j += 2 if (a[2:] in long_with_arg) else 1
            continue
        if a.startswith("-") and len(a) > 1:
            if numeric_ok and a[1:].isdigit():
                j += 1
                continue
            takes_next = False
            for k, ch in enumerate(a[1:], start=1):
                if ch in with_arg:
                    takes_next = k == len(a) - 1
                    break
            j += 2 if takes_next else 1
            continue
        return j
    return j


def _sudo(argv: Argv, i: int) -> _Step | None:
    j = _skip_options(
        argv,
        i,
        with_arg="ugpChDRrTUa",
        long_with_arg=("user", "group", "prompt", "close-from", "host", "chdir", "role", "type"),
    )
    if j >= len(argv):
        return None
    return _Step(j, f"{base(argv[i])} runs the command as root")


def _env(argv: Argv, i: int) -> _Step | None:
    j = i + 1
    n = len(argv)
    changes = False
    split: tuple[int, str] | None = None
    while j < n:
        a = argv[j]
        if a == "--":
            j += 1
            break
        if a in ("-0", "--null", "-v", "--debug"):
            j += 1
        elif a in ("-u", "--unset", "-C", "--chdir"):
            changes = True
            j += 2
        elif a in ("-S", "--split-string"):
            split = (j + 1, argv[j + 1] if j + 1 < n else "")
            j += 2
            break
        elif a.startswith("--split-string="):
            split = (j, a.partition("=")[2])
            j += 1
            break
        elif a.startswith("-S"):
            split = (j, a[2:])
            j += 1
            break
        elif a.startswith("-"):
            changes = True
            j += 1
        else:
            break
    assigns = False
    while j < n and NAME_ASSIGN.match(argv[j]):
        assigns = True
        j += 1
    if split is not None:
        idx, text = split
        rest = " ".join(argv[j:])
        payload = f"{text} {rest}" if rest else text
        return _Step(
            n,
            "env -S runs a command from a string",
            payload=payload,
            payload_idx=(idx, *range(j, n)),
            payload_flags_ok=False,
        )
    if j >= n:
        return None
    if assigns:
        return _Step(j, "env sets variables for the command")
    if changes:
        return _Step(j, "env changes the environment of the command")
    return _Step(j)


def _simple_wrapper(
    with_arg: str = "", long_with_arg: Sequence[str] = (), ask: str | None = None
) -> Callable[[Argv, int], _Step | None]:
    def step(argv: Argv, i: int) -> _Step | None:
        j = _skip_options(argv, i, with_arg, long_with_arg, numeric_ok=True)
        if j >= len(argv):
            return None
        return _Step(j, ask)

    return step


def _timeout(argv: Argv, i: int) -> _Step | None:
    j = _skip_options(argv, i, with_arg="sk", long_with_arg=("signal", "kill-after"))
    j += 1  # the duration
    if j >= len(argv):
        return None
    return _Step(j)


def _time(argv: Argv, i: int) -> _Step | None:
    ask = None
    for a in argv[i + 1 :]:
        if not a.startswith("-") or a == "--":
            break
        if short_has(a, "o") or long_matches(a, ("output",)):
            ask = "time -o writes a file"
    j = _skip_options(argv, i, with_arg="fo", long_with_arg=("format", "output"))
    if j >= len(argv):
        return None
    return _Step(j, ask)


def _command(argv: Argv, i: int) -> _Step | None:
    j = i + 1
    while j < len(argv) and argv[j].startswith("-") and argv[j] != "--":
        if short_has(argv[j], "vV"):
            return None  # `command -v x` is a lookup, judged as a program
        j += 1
    if j < len(argv) and argv[j] == "--":
        j += 1
    if j >= len(argv):
        return None
    return _Step(j)


def _xargs(argv: Argv, i: int) -> _Step | None:
    j = i + 1
    n = len(argv)
    while j < n:
        a = argv[j]
        if a == "--":
            j += 1
            break
        if a.startswith("--"):
            name = long_name(a)
            takes = name in ("arg-file", "delimiter", "max-args", "max-procs", "max-chars")
            j += 2 if takes and "=" not in a else 1
            continue
        if a.startswith("-") and len(a) > 1:
            takes_next = False
            for k, ch in enumerate(a[1:], start=1):
                if ch in "adEILnPs":
                    takes_next = k == len(a) - 1
                    break
                if ch in "eil":
                    break  # optional argument, attached only
            j += 2 if takes_next else 1
            continue
        break
    inner = base(argv[j]) if j < n else "echo"
    return _Step(j, f"xargs passes its input as arguments to {inner}")


def _shell(argv: Argv, i: int) -> _Step | None:
    j = i + 1
    n = len(argv)
    has_c = False
    flags_ok = True
    while j < n:
        a = argv[j]
        if a in ("--", "-"):
            j += 1
            break
        if a in ("--norc", "--noprofile", "--login", "--posix"):
            j += 1
            continue
        if a.startswith("--"):
            flags_ok = False
            j += 2 if a in ("--rcfile", "--init-file") else 1
            continue
        if a[:1] in "-+" and len(a) > 1:
            letters = a[1:]
            if "c" in letters:
                has_c = True
            if set(letters) - set("ceuxl"):
                flags_ok = False
            j += 2 if ("o" in letters or "O" in letters) else 1
            continue
        break
    if not has_c:
        return None
    # Only bash-family scripts are parsed faithfully by tree-sitter-bash.
    dialect = None if base(argv[i]) in ("sh", "bash", "dash", "ash") else f"{base(argv[i])} -c"
    if j >= n:
        return _Step(n, f"{base(argv[i])} -c without a command", payload="", payload_idx=())
    ask = f"{dialect} is not judged as read-only" if dialect else None
    return _Step(n, ask, payload=argv[j], payload_idx=(j,), payload_flags_ok=flags_ok)


def _eval(argv: Argv, i: int) -> _Step | None:
    if i + 1 >= len(argv):
        return None
    idx = tuple(range(i + 1, len(argv)))
    payload = " ".join(argv[i + 1 :])
    return _Step(len(argv), "eval runs its arguments as a command", payload, idx, False)


def _watch(argv: Argv, i: int) -> _Step | None:
    j = _skip_options(argv, i, with_arg="n", long_with_arg=("interval",))
    if j >= len(argv):
        return None
    idx = tuple(range(j, len(argv)))
    payload = " ".join(argv[j:])
    return _Step(len(argv), "watch runs a command repeatedly", payload, idx, False)


_WRAPPERS: dict[str, Callable[[Argv, int], _Step | None]] = {
    "sudo": _sudo,
    "doas": _sudo,
    "env": _env,
    "nice": _simple_wrapper("n", ("adjustment",)),
    "nohup": _simple_wrapper(ask="nohup writes nohup.out"),
    "timeout": _timeout,
    "gtimeout": _timeout,
    "time": _time,
    "command": _command,
    "builtin": _simple_wrapper(),
    "exec": _simple_wrapper("a"),
    "xargs": _xargs,
    "stdbuf": _simple_wrapper("ioe", ("input", "output", "error")),
    "ionice": _simple_wrapper("cnt", ("class", "classdata")),
    "eval": _eval,
    "watch": _watch,
    **dict.fromkeys(SHELLS, _shell),
}


def unwrap(argv: Argv) -> Unwrapped:
    """Peel wrappers (sudo, env, timeout, xargs, bash -c ...) off ``argv``."""
    i = 0
    wrappers: list[str] = []
    ask: str | None = None
    for _ in range(64):
        if i >= len(argv):
            break
        prog = base(argv[i])
        handler = _WRAPPERS.get(prog)
        step = handler(argv, i) if handler else None
        if step is None:
            break
        wrappers.append(prog)
        ask = ask or step.ask
        if step.payload is not None:
            return Unwrapped(
                step.next,
                tuple(wrappers),
                ask,
                step.payload,
                step.payload_idx,
                step.payload_flags_ok,
            )
        i = step.next
    return Unwrapped(i, tuple(wrappers), ask)
