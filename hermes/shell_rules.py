"""Per-program rules for :mod:`hermes.shellsafety`: read-only lists, network, prefixes.

Everything here works on argv tuples (words after quote removal, wrappers already
peeled by :mod:`hermes.shell_wrappers`). A judge returns None when the command is
proven read-only, else a short reason it asks.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence

from hermes.shell_git import GIT_NETWORK, git_judge, split_git
from hermes.shell_sed import sed_judge
from hermes.shell_wrappers import (
    INTERPRETER_RE,
    NAME_ASSIGN,
    STANDARD_BIN_DIRS,
    Argv,
    base,
    is_interpreter,
    long_matches,
    short_has,
)

_SUBCOMMAND_PROGRAMS = frozenset(
    (
        "npm pnpm yarn bun npx cargo go docker podman kubectl helm pip pip3 pipx uv poetry conda apt "
        "apt-get brew gh systemctl terraform make dotnet rustup deno hatch pdm just mvn gradle gem bundle "
        "composer pre-commit tox nox nix"
    ).split()
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


NETWORK_PROGRAMS = frozenset(
    (
        "curl wget ssh scp sftp rsync nc ncat netcat telnet ftp lftp tftp socat http https xh aria2c mosh "
        "ping ping6 dig nslookup whois traceroute gh npx pnpx bunx"
    ).split()
)
_NETWORK_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "git": GIT_NETWORK,
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
        if INTERPRETER_RE.fullmatch(prog) and len(argv) > 3 and argv[1] == "-m":
            return base(argv[2]) == "pip" and argv[3] in _NETWORK_SUBCOMMANDS["pip"]
        return False
    if prog == "git":
        sub = split_git(argv[1:]).sub
    else:
        sub = next((a for a in argv[1:] if not a.startswith("-")), None)
    if prog == "yarn" and sub is None:
        return True  # bare `yarn` installs
    return sub in subs


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
    if any(NAME_ASSIGN.match(a) for a in args):
        return "env sets variables"
    return "env with options is not read-only"


def _hostname(args: Argv) -> str | None:
    ok = {"-f", "--fqdn", "-s", "--short", "-i", "--ip-address", "-I", "-d", "--domain", "-A"}
    if all(a in ok for a in args):
        return None
    return "hostname with arguments can set the hostname"


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
    (
        "npm pnpm yarn pip pip3 uv poetry cargo rustc rustup gcc g++ clang make cmake tsc ruff mypy "
        "pytest black java javac docker kubectl terraform go dotnet gradle mvn gem"
    ).split()
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
            "ls cat head tail wc pwd echo true false which type stat du df whoami id uname basename "
            "dirname realpath readlink diff cmp comm cut tr grep egrep fgrep jq printenv nl od hexdump "
            "md5sum sha1sum sha256sum sha512sum cksum b2sum column paste fold rev tac seq sleep nproc "
            "uptime arch groups tty whereis test expand unexpand locale ps free lsb_release"
        ).split(),
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
    "sed": sed_judge,
    "git": git_judge,
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
