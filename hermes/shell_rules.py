"""Per-program rules for :mod:`hermes.shellsafety`: wrappers, read-only lists, network.

Everything here works on argv tuples (words after quote removal). A judge returns
None when the command is proven read-only, else a short reason it asks.
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
_INTERPRETER_RE = re.compile(
    r"(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|deno|bun|php[0-9.]*|lua[0-9.]*|"
    r"Rscript|osascript|tclsh|wish|irb|jshell|powershell|pwsh)"
)
_NAME_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def base(word: str) -> str:
    """The program name a word runs (basename of a path)."""
    return posixpath.basename(word) if "/" in word else word


def is_interpreter(prog: str) -> bool:
    """Whether ``prog`` runs code given to it (scripting languages and shells)."""
    return prog in SHELLS or _INTERPRETER_RE.fullmatch(prog) is not None


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


# ---------------------------------------------------------------- wrappers


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
    while j < n and _NAME_ASSIGN.match(argv[j]):
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


# ---------------------------------------------------------------- prefixes

_SUBCOMMAND_PROGRAMS = frozenset(
    {
        "npm",
        "pnpm",
        "yarn",
        "bun",
        "npx",
        "cargo",
        "go",
        "docker",
        "podman",
        "kubectl",
        "helm",
        "pip",
        "pip3",
        "pipx",
        "uv",
        "poetry",
        "conda",
        "apt",
        "apt-get",
        "brew",
        "gh",
        "systemctl",
        "terraform",
        "make",
        "dotnet",
        "rustup",
        "deno",
        "hatch",
        "pdm",
        "just",
        "mvn",
        "gradle",
        "gem",
        "bundle",
        "composer",
        "pre-commit",
        "tox",
        "nox",
        "nix",
    }
)


def prefix_of(argv: Argv) -> str:
    """``program subcommand`` for rules and grants: ``git status``, ``npm test``, ``ls``."""
    if not argv:
        return ""
    prog = base(argv[0])
    if prog == "git":
        split = split_git(argv[1:])
        return f"git {split.sub}" if split.sub else "git"
    if prog in _SUBCOMMAND_PROGRAMS:
        sub = next((a for a in argv[1:] if not a.startswith("-")), None)
        return f"{prog} {sub}" if sub else prog
    return prog


# ---------------------------------------------------------------- network

NETWORK_PROGRAMS = frozenset(
    {
        "curl",
        "wget",
        "ssh",
        "scp",
        "sftp",
        "rsync",
        "nc",
        "ncat",
        "netcat",
        "telnet",
        "ftp",
        "lftp",
        "tftp",
        "socat",
        "http",
        "https",
        "xh",
        "aria2c",
        "mosh",
        "ping",
        "ping6",
        "dig",
        "nslookup",
        "whois",
        "traceroute",
        "gh",
        "npx",
        "pnpx",
        "bunx",
    }
)
_NETWORK_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "git": frozenset({"push", "fetch", "pull", "clone", "ls-remote", "submodule"}),
    "pip": frozenset({"install", "download", "wheel", "search", "index"}),
    "pipx": frozenset({"install", "run", "upgrade", "upgrade-all", "inject", "reinstall"}),
    "uv": frozenset({"pip", "add", "sync", "lock", "tool", "run", "venv", "python"}),
    "poetry": frozenset({"install", "add", "update", "lock", "publish"}),
    "npm": frozenset(
        {"install", "i", "ci", "add", "update", "upgrade", "publish", "view", "info", "outdated"}
        | {"audit", "exec", "init", "create", "login", "unpublish", "dist-tag", "pack"}
    ),
    "yarn": frozenset({"install", "add", "upgrade", "up", "publish", "dlx", "create", "info"}),
    "pnpm": frozenset({"install", "i", "add", "update", "up", "publish", "dlx", "create"}),
    "bun": frozenset({"install", "i", "add", "update", "x", "create", "publish"}),
    "cargo": frozenset({"install", "fetch", "update", "publish", "search", "add"}),
    "go": frozenset({"get", "install", "mod"}),
    "gem": frozenset({"install", "update", "fetch", "push"}),
    "bundle": frozenset({"install", "update"}),
    "apt": frozenset({"install", "update", "upgrade", "full-upgrade", "download"}),
    "apt-get": frozenset({"install", "update", "upgrade", "dist-upgrade", "download", "source"}),
    "brew": frozenset({"install", "update", "upgrade", "fetch", "tap", "reinstall"}),
    "docker": frozenset({"pull", "push", "login", "search"}),
    "podman": frozenset({"pull", "push", "login", "search"}),
    "conda": frozenset({"install", "update", "create", "search"}),
    "composer": frozenset({"install", "update", "require"}),
}


def is_network(argv: Argv) -> bool:
    """Whether the (unwrapped) command talks to the network."""
    if not argv:
        return False
    prog = base(argv[0])
    if prog in NETWORK_PROGRAMS:
        return True
    if prog == "pip3" or re.fullmatch(r"pip[0-9.]*", prog):
        prog = "pip"
    subs = _NETWORK_SUBCOMMANDS.get(prog)
    if subs is None:
        if _INTERPRETER_RE.fullmatch(prog) and len(argv) > 3 and argv[1] == "-m":
            return base(argv[2]) == "pip" and argv[3] in _NETWORK_SUBCOMMANDS["pip"]
        return False
    if prog == "git":
        sub = split_git(argv[1:]).sub
    else:
        sub = next((a for a in argv[1:] if not a.startswith("-")), None)
    if prog == "yarn" and sub is None:
        return True  # bare `yarn` installs
    return sub in subs


# ---------------------------------------------------------------- git


@dataclass(frozen=True)
class GitSplit:
    """``git [global options] sub rest...`` taken apart."""

    sub: str | None
    rest: tuple[str, ...]
    problem: str | None


_GIT_GLOBAL_FLAGS = frozenset(
    {
        "--no-pager",
        "-P",
        "--paginate",
        "-p",
        "--no-optional-locks",
        "--literal-pathspecs",
        "--glob-pathspecs",
        "--noglob-pathspecs",
        "--icase-pathspecs",
        "--no-replace-objects",
        "--no-advice",
        "--no-lazy-fetch",
    }
)
_GIT_GLOBAL_DENY = {
    "-c": "git -c overrides configuration",
    "--config-env": "git --config-env overrides configuration",
    "--git-dir": "git --git-dir points at another repository",
    "--work-tree": "git --work-tree points at another work tree",
    "--exec-path": "git --exec-path changes which programs git runs",
    "--namespace": "git --namespace changes refs",
    "--super-prefix": "git --super-prefix is internal",
}


def split_git(args: Argv) -> GitSplit:
    """Skip git's global options (``-C dir`` is unwrapped); find the subcommand."""
    j = 0
    problem: str | None = None
    n = len(args)
    while j < n:
        a = args[j]
        if a == "-C":
            j += 2
            continue
        if a in _GIT_GLOBAL_FLAGS:
            j += 1
            continue
        if a.startswith("-"):
            key = a.partition("=")[0]
            if key.startswith("-c") and not key.startswith("--"):
                key = "-c"
            problem = problem or _GIT_GLOBAL_DENY.get(key, f"git global option {a[:40]}")
            takes = key in _GIT_GLOBAL_DENY and "=" not in a and a not in ("--exec-path",)
            j += 2 if takes and a == key else 1
            continue
        return GitSplit(a, tuple(args[j + 1 :]), problem)
    return GitSplit(None, (), problem)


_GIT_OUTPUT_OPTIONS = ("output", "ext-diff", "textconv", "open-files-in-pager")
_GIT_BRANCH_OK = frozenset(
    {"-a", "--all", "-r", "--remotes", "-v", "-vv", "--verbose", "--list", "-l"}
    | {"--show-current", "--no-color", "--color", "--no-column"}
)
_GIT_SIMPLE_READ = frozenset(
    {
        "status",
        "rev-parse",
        "ls-files",
        "ls-tree",
        "describe",
        "cat-file",
        "show-ref",
        "merge-base",
        "rev-list",
        "name-rev",
        "count-objects",
        "check-ignore",
        "check-attr",
        "for-each-ref",
        "blame",
        "shortlog",
        "whatchanged",
        "version",
    }
)
_GIT_LOG_LIKE = frozenset({"log", "show", "diff", "grep", "range-diff", "annotate"})


def _git_judge(args: Argv) -> str | None:
    split = split_git(args)
    if split.problem:
        return split.problem
    sub = split.sub
    rest = split.rest
    if sub is None:
        if any(a in ("--version", "--help") for a in args):
            return None
        return "git without a subcommand"
    if sub in _NETWORK_SUBCOMMANDS["git"]:
        return f"git {sub} uses the network"
    for a in rest:
        bad = long_matches(a, _GIT_OUTPUT_OPTIONS)
        if bad:
            return f"git {sub} --{bad} is not read-only"
    if sub in _GIT_SIMPLE_READ:
        return None
    if sub in _GIT_LOG_LIKE:
        if sub == "grep" and any(a == "-O" or a.startswith("-O") for a in rest):
            return "git grep -O opens files in a program"
        return None
    if sub == "branch":
        positional = [a for a in rest if not a.startswith("-")]
        flags = [a for a in rest if a.startswith("-")]
        if all(f in _GIT_BRANCH_OK for f in flags) and (
            not positional or any(f in ("--list", "-l") for f in flags)
        ):
            return None
        return "git branch can create, move or delete branches"
    if sub == "tag":
        flags = [a for a in rest if a.startswith("-")]
        listing = any(f in ("-l", "--list") for f in flags)
        if all(f in ("-l", "--list", "-n") for f in flags) and (listing or len(rest) == 0):
            return None
        return "git tag can create or delete tags"
    if sub == "remote":
        if all(a in ("-v", "--verbose") for a in rest) or (rest and rest[0] == "get-url"):
            return None
        return f"git remote {rest[0] if rest else ''} is not read-only".replace("  ", " ")
    if sub == "stash":
        if rest and rest[0] in ("list", "show"):
            return None
        return "git stash changes the work tree"
    if sub == "reflog":
        first = next((a for a in rest if not a.startswith("-")), None)
        if first in (None, "show") or (first and first not in ("expire", "delete", "drop")):
            return None
        return f"git reflog {first} is not read-only"
    if sub == "worktree":
        return None if rest and rest[0] == "list" else "git worktree changes work trees"
    if sub == "config":
        return _git_config_judge(rest)
    return f"git {sub} is not read-only"


_GIT_CONFIG_READ_FLAGS = frozenset(
    {"--get", "--get-all", "--get-regexp", "--list", "-l", "--show-origin", "--show-scope"}
    | {"--global", "--local", "--system", "--name-only", "-z", "--null", "--includes"}
)


def _git_config_judge(rest: Argv) -> str | None:
    flags = [a for a in rest if a.startswith("-")]
    positional = [a for a in rest if not a.startswith("-")]
    if not all(f in _GIT_CONFIG_READ_FLAGS for f in flags):
        return "git config can change configuration"
    reads = any(f.startswith("--get") or f in ("--list", "-l") for f in flags)
    if reads or (len(positional) == 1 and positional[0] not in ("get", "list")):
        return None
    if positional and positional[0] in ("get", "list"):
        return None
    return "git config can change configuration"


# ---------------------------------------------------------------- read-only judges


def _any_args(args: Argv) -> str | None:
    return None


def _no_args(prog: str) -> Callable[[Argv], str | None]:
    def judge(args: Argv) -> str | None:
        return f"{prog} with arguments is not read-only" if args else None

    return judge


def _deny(
    prog: str, short: str = "", long: Sequence[str] = (), why: str = "is not read-only"
) -> Callable[[Argv], str | None]:
    def judge(args: Argv) -> str | None:
        for a in args:
            ch = short_has(a, short) if short else None
            if ch:
                return f"{prog} -{ch} {why}"
            name = long_matches(a, long)
            if name:
                return f"{prog} --{name} {why}"
        return None

    return judge


_FIND_DENY = {
    "-exec": "runs commands",
    "-execdir": "runs commands",
    "-ok": "runs commands",
    "-okdir": "runs commands",
    "-delete": "deletes files",
    "-fprint": "writes files",
    "-fprint0": "writes files",
    "-fprintf": "writes files",
    "-fls": "writes files",
}


def _find(args: Argv) -> str | None:
    for a in args:
        why = _FIND_DENY.get(a)
        if why:
            return f"find {a} {why}"
    return None


def _date(args: Argv) -> str | None:
    j = 0
    while j < len(args):
        a = args[j]
        j += 1
        if short_has(a, "s") or long_matches(a, ("set",)):
            return "date -s sets the clock"
        if a in ("-d", "-f", "-r", "--date", "--file", "--reference"):
            j += 1  # the option's value
        elif not a.startswith(("-", "+")):
            return "date with a time argument sets the clock"
    return None


def _uniq(args: Argv) -> str | None:
    operands = [a for a in args if not a.startswith("-") or a == "-"]
    if len(operands) > 1:
        return "uniq with two file arguments writes the second"
    return None


def _env_print(args: Argv) -> str | None:
    if all(a in ("-0", "--null") for a in args):
        return None
    if any(_NAME_ASSIGN.match(a) for a in args):
        return "env sets variables"
    return "env with options is not read-only"


def _hostname(args: Argv) -> str | None:
    ok = {"-f", "--fqdn", "-s", "--short", "-i", "--ip-address", "-I", "-d", "--domain", "-A"}
    if all(a in ok for a in args):
        return None
    return "hostname with arguments can set the hostname"


def _sed(args: Argv) -> str | None:
    quiet = False
    scripts: list[str] = []
    positional: list[str] = []
    j = 0
    n = len(args)
    while j < n:
        a = args[j]
        j += 1
        if a == "--":
            positional.extend(args[j:])
            break
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if name and "in-place".startswith(name):
                return "sed -i edits files in place"
            if name in ("quiet", "silent"):
                quiet = True
            elif name == "expression":
                if eq:
                    scripts.append(value)
                elif j < n:
                    scripts.append(args[j])
                    j += 1
            elif name in ("regexp-extended", "separate", "unbuffered", "null-data", "posix"):
                pass
            elif name in ("debug", "sandbox", "zero-terminated"):
                pass
            else:
                return f"sed option --{name} is not read-only"
            continue
        if a.startswith("-") and len(a) > 1:
            k = 1
            while k < len(a):
                ch = a[k]
                if ch == "i":
                    return "sed -i edits files in place"
                if ch == "n":
                    quiet = True
                elif ch in "Ersuz":
                    pass
                elif ch in "el":
                    value = a[k + 1 :]
                    if not value and j < n:
                        value = args[j]
                        j += 1
                    if ch == "e":
                        scripts.append(value)
                    break
                else:
                    return f"sed -{ch} is not read-only"
                k += 1
            continue
        positional.append(a)
    if not scripts:
        if not positional:
            return "sed without a script"
        scripts.append(positional[0])
    if not quiet:
        return "sed is read-only only with -n"
    for script in scripts:
        if not sed_script_is_safe(script):
            return "sed script may write files or run commands"
    return None


_SED_PLAIN = frozenset("pPlqQnNdDgGhHxz={}F")


def _sed_regex_end(s: str, i: int, delim: str) -> int:
    """Index just past the closing ``delim`` of a regex starting at ``i``, or -1."""
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "\n":
            return -1
        if ch == delim:
            return i + 1
        i += 1
    return -1


def _sed_address(s: str, i: int) -> int:
    n = len(s)
    if i < n and s[i].isdigit():
        while i < n and (s[i].isdigit() or s[i] == "~"):
            i += 1
        return i
    if i < n and s[i] == "$":
        return i + 1
    if i < n and s[i] in "/\\":
        delim = "/"
        if s[i] == "\\":
            if i + 1 >= n:
                return -1
            delim = s[i + 1]
            i += 1
        i = _sed_regex_end(s, i + 1, delim)
        while 0 <= i < n and s[i] in "IM":
            i += 1
        return i
    return i


def sed_script_is_safe(script: str) -> bool:
    """Whether a sed script uses only commands that print (no w/W/e/r, no s///w or s///e)."""
    s = script
    n = len(s)
    i = 0
    while i < n:
        while i < n and s[i] in " \t\n;":
            i += 1
        if i >= n:
            break
        if s[i] == "#":
            while i < n and s[i] != "\n":
                i += 1
            continue
        i = _sed_address(s, i)
        if i < 0:
            return False
        if i < n and s[i] == ",":
            i += 1
            if i < n and s[i] in "+~":
                i += 1
                while i < n and s[i].isdigit():
                    i += 1
            else:
                i = _sed_address(s, i)
                if i < 0:
                    return False
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == "!":
            i += 1
            while i < n and s[i] in " \t":
                i += 1
        if i >= n:
            return False
        cmd = s[i]
        i += 1
        if cmd in _SED_PLAIN:
            while i < n and (s[i].isdigit() or s[i] in " \t"):
                i += 1
        elif cmd in "sy":
            if i >= n or s[i] in "\\\n":
                return False
            delim = s[i]
            i = _sed_regex_end(s, i + 1, delim)
            if i < 0:
                return False
            i = _sed_regex_end(s, i, delim)
            if i < 0:
                return False
            if cmd == "s":
                while i < n and (s[i] in "gpiImM" or s[i].isdigit()):
                    i += 1
        elif cmd in "btT:":
            while i < n and s[i] not in ";\n":
                i += 1
        else:
            return False
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] not in ";\n}#":
            return False
    return True


def _interpreter(prog: str, args: Argv) -> str | None:
    if len(args) == 1 and args[0] in ("--version", "-V", "-v", "-version"):
        if args[0] != "-v" or prog.startswith("perl") or prog in ("node", "ruby", "php"):
            return None
    flag = next((a for a in args if a in ("-c", "-e", "-E", "-r", "--eval", "-m")), None)
    if flag in ("-c", "-e", "-E", "-r", "--eval"):
        return f"{prog} {flag} runs code"
    if flag == "-m":
        return f"{prog} -m runs a module"
    return f"{prog} runs code"


_VERSION_ONLY = frozenset(
    {
        "npm",
        "pnpm",
        "yarn",
        "pip",
        "pip3",
        "uv",
        "poetry",
        "cargo",
        "rustc",
        "rustup",
        "gcc",
        "g++",
        "clang",
        "make",
        "cmake",
        "tsc",
        "ruff",
        "mypy",
        "pytest",
        "black",
        "java",
        "javac",
        "docker",
        "kubectl",
        "terraform",
        "go",
        "dotnet",
        "gradle",
        "mvn",
        "gem",
    }
)

STATE_BUILTINS = {
    "cd": "cd changes shell state",
    "pushd": "pushd changes shell state",
    "popd": "popd changes shell state",
    "export": "export changes shell state",
    "declare": "declare changes shell state",
    "typeset": "typeset changes shell state",
    "local": "local changes shell state",
    "readonly": "readonly changes shell state",
    "alias": "alias changes shell state",
    "unalias": "unalias changes shell state",
    "unset": "unset changes shell state",
    "set": "set changes shell state",
    "shopt": "shopt changes shell state",
    "trap": "trap changes shell state",
    "source": "source runs a script",
    ".": ". runs a script",
    "eval": "eval runs its arguments as a command",
    "ulimit": "ulimit changes shell state",
    "umask": "umask changes shell state",
    "hash": "hash changes shell state",
    "enable": "enable changes shell state",
    "bind": "bind changes shell state",
    "complete": "complete changes shell state",
    "read": "read changes shell state",
    "mapfile": "mapfile changes shell state",
    "readarray": "readarray changes shell state",
    "let": "let changes shell state",
    "exec": "exec replaces the shell",
    "fc": "fc runs an editor",
    "history": "history can change the shell history",
    "coproc": "coproc starts a background command",
}

_READ_ONLY: dict[str, Callable[[Argv], str | None]] = {
    **dict.fromkeys(
        (
            "ls",
            "cat",
            "head",
            "tail",
            "wc",
            "pwd",
            "echo",
            "true",
            "false",
            "which",
            "type",
            "stat",
            "du",
            "df",
            "whoami",
            "id",
            "uname",
            "basename",
            "dirname",
            "realpath",
            "readlink",
            "diff",
            "cmp",
            "comm",
            "cut",
            "tr",
            "grep",
            "egrep",
            "fgrep",
            "jq",
            "printenv",
            "nl",
            "od",
            "hexdump",
            "md5sum",
            "sha1sum",
            "sha256sum",
            "sha512sum",
            "cksum",
            "b2sum",
            "column",
            "paste",
            "fold",
            "rev",
            "tac",
            "seq",
            "sleep",
            "nproc",
            "uptime",
            "arch",
            "groups",
            "tty",
            "whereis",
            "test",
            "expand",
            "unexpand",
            "locale",
            "ps",
            "free",
            "lsb_release",
        ),
        _any_args,
    ),
    "printf": _deny("printf", "v", why="sets a variable"),
    "sort": _deny("sort", "o", ("output", "compress-program"), "writes files or runs programs"),
    "ag": _deny("ag", "", ("pager",), "runs a program"),
    "rg": _deny("rg", "", ("pre", "pre-glob", "hostname-bin"), "runs a program"),
    "tree": _deny("tree", "oR", ("output",), "writes files"),
    "file": _deny("file", "C", ("compile",), "writes files"),
    "yq": _deny("yq", "i", ("inplace",), "edits files in place"),
    "find": _find,
    "date": _date,
    "uniq": _uniq,
    "env": _env_print,
    "hostname": _hostname,
    "sed": _sed,
    "git": _git_judge,
    "nice": _no_args("nice"),
    "command": _deny("command", "p", why="runs a command"),
}
_NOT_READ_ONLY_WHY = {
    "awk": "awk can run commands (system())",
    "gawk": "gawk can run commands (system())",
    "mawk": "mawk can run commands (system())",
    "nawk": "nawk can run commands (system())",
    "tee": "tee writes files",
}


def judge(argv: Argv) -> str | None:
    """None when the unwrapped command is proven read-only, else why it asks."""
    if not argv:
        return "empty command"
    word = argv[0]
    prog = base(word)
    if "/" in word and posixpath.dirname(word) not in STANDARD_BIN_DIRS:
        return f"runs a program by path ({word[:60]})"
    args = argv[1:]
    if is_network(argv):
        sub = prefix_of(argv)
        return f"{sub} uses the network"
    if prog in STATE_BUILTINS:
        return STATE_BUILTINS[prog]
    if prog == "command":
        return _READ_ONLY["command"](args)
    if is_interpreter(prog):
        return _interpreter(prog, args)
    rule = _READ_ONLY.get(prog)
    if rule is not None:
        return rule(args)
    if prog in _VERSION_ONLY and tuple(args) == ("--version",):
        return None
    if prog == "go" and list(args) == ["version"]:
        return None
    if prog in ("pip", "pip3") and args and args[0] in ("list", "show", "freeze"):
        return None
    if prog in ("npm", "pnpm") and args and args[0] in ("ls", "list"):
        return None
    return _NOT_READ_ONLY_WHY.get(prog, f"{prefix_of(argv)} is not read-only")
