"""Per-program rules for :mod:`hermes.safety.shell.analyze`: the read-only list, network
use, and the prefixes that rules and "always" grants are written in.

Everything here works on argv tuples (words after quote removal, wrappers already
peeled by :mod:`hermes.safety.shell.wrappers`). Each program on the read-only list has
a :class:`Program`: its option grammar (so ``-iO'cmd'``, ``--out=f`` and other spellings
are read as the program reads them, see :mod:`hermes.safety.shell.options`), the
options that write files or run programs, and which of its words are data (a grep
pattern, a sed script) rather than files it reads. A judge returns None when the
command is proven read-only, else a short reason it asks.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from hermes.safety.sensitive import TreeRead
from hermes.safety.shell.git import (
    GIT_NETWORK,
    git_file_words,
    git_judge,
    git_tree_reads,
    split_git,
)
from hermes.safety.shell.options import Grammar, Parsed, danger, grammar, parse
from hermes.safety.shell.sed import sed_judge, sed_script_words
from hermes.safety.shell.wrappers import (
    INTERPRETER_RE,
    NAME_ASSIGN,
    STANDARD_BIN_DIRS,
    Argv,
    base,
    is_interpreter,
    long_matches,
)

_SUBCOMMAND_PROGRAMS = frozenset(
    (
        "npm pnpm yarn bun npx pnpx bunx uvx cargo go docker podman kubectl helm pip pip3 pipx uv "
        "poetry conda apt apt-get brew gh systemctl terraform make dotnet rustup deno hatch pdm "
        "just mvn gradle gem bundle composer pre-commit tox nox nix pipenv rye pixi mise"
    ).split()
)
# Subcommands that run something named next: the grant names that thing too.
_RUNNERS: dict[str, frozenset[str]] = {
    "npm": frozenset({"run", "run-script", "exec", "x"}),
    "pnpm": frozenset({"run", "exec", "dlx"}),
    "yarn": frozenset({"run", "exec", "dlx"}),
    "bun": frozenset({"run", "x"}),
    "uv": frozenset({"run", "tool"}),
    "poetry": frozenset({"run"}),
    "pdm": frozenset({"run"}),
    "hatch": frozenset({"run"}),
    "pipenv": frozenset({"run"}),
    "rye": frozenset({"run"}),
    "pixi": frozenset({"run"}),
    "conda": frozenset({"run"}),
    "mise": frozenset({"run", "exec", "x"}),
    "bundle": frozenset({"exec"}),
    "go": frozenset({"run"}),
    "deno": frozenset({"run", "task"}),
    "pipx": frozenset({"run"}),
    "nix": frozenset({"run", "shell", "develop"}),
}
# Runners whose target is itself a command line (its prefix is nested in the grant).
_COMMAND_RUNNERS = frozenset(
    {"uv", "poetry", "pdm", "hatch", "pipenv", "rye", "pixi", "conda", "mise", "bundle"}
)
# A grant for these could cover anything (any image, any pod, any command).
_UNSCOPED = frozenset(
    {"docker run", "docker exec", "podman run", "podman exec", "kubectl exec", "kubectl run"}
    | {"nix shell", "nix develop", "uv tool", "npx", "pnpx", "bunx", "uvx"}
)


def prefix_of(argv: Argv) -> str:
    """``program subcommand`` for rules and grants: ``git status``, ``npm test``, ``ls``.

    Runners and interpreters name what they run: ``npm run test``, ``python -m pytest``,
    ``python tools/gen.py``, ``uv run pytest``; see :func:`grantable`.
    """
    if not argv:
        return ""
    prog = base(argv[0])
    args = argv[1:]
    if prog == "git":
        split = split_git(args)
        return f"git {split.sub}" if split.sub else "git"
    if is_interpreter(prog):
        return _interpreter_prefix(prog, args)
    if prog in _SUBCOMMAND_PROGRAMS:
        k = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        if k is None:
            return prog
        sub = args[k]
        if sub in _RUNNERS.get(prog, ()) or (prog in ("npx", "pnpx", "bunx", "uvx")):
            rest = args[k + 1 :]
            if prog in ("npx", "pnpx", "bunx", "uvx"):
                rest = args[k:]
                head = prog
            else:
                head = f"{prog} {sub}"
            if not rest or rest[0].startswith("-"):
                return head  # options before the target: only the bare head, never granted
            inner = prefix_of(rest) if prog in _COMMAND_RUNNERS else rest[0]
            return f"{head} {inner}"
        return f"{prog} {sub}"
    return prog


def _interpreter_prefix(prog: str, args: Argv) -> str:
    if not args:
        return prog
    first = args[0]
    if first == "-m" and len(args) > 1:
        return f"{prog} -m {args[1]}"
    if first.startswith("-") or first == "-":
        return f"{prog} {first}"  # inline code, stdin, or options: never granted
    return f"{prog} {first}"


def grantable(prefix: str) -> bool:
    """Whether an "always" grant may be offered for ``prefix``.

    Never for a bare interpreter or runner (``python``, ``npm run``), inline code
    (``python -c``), or a runner that can start anything (``docker run``).
    """
    words = prefix.split(" ")
    if words and words[0] == "sudo":
        words = words[1:]
    if not words or not words[0]:
        return False
    prog = words[0]
    if is_interpreter(prog):
        if len(words) < 2 or words[1] == "-":
            return False
        if words[1].startswith("-"):
            return words[1] == "-m" and len(words) > 2
        return True
    head = " ".join(words[:2])
    if head in _UNSCOPED or prog in _UNSCOPED:
        return False
    runners = _RUNNERS.get(prog)
    return not (runners and len(words) == 2 and words[1] in runners)


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


# ---------------------------------------------------------------- the read-only list

Reads = Literal["content", "metadata"]


@dataclass(frozen=True)
class Program:
    """How one read-only program reads its arguments and which options are forbidden."""

    grammar: Grammar = field(default_factory=Grammar)
    deny_short: Mapping[str, str] = field(default_factory=dict)
    """Letter -> why it is not read-only (``"o": "writes files"``)."""
    deny_long: Mapping[str, str] = field(default_factory=dict)
    """Full long name -> why (abbreviations are found by :func:`options.danger`)."""
    check: Callable[[str, Parsed], str | None] | None = None
    """A further rule on the parsed arguments (operand counts, scripts)."""
    data_operands: int = 0
    """Leading operands that are data, not files (a pattern, a script, a filter)."""
    data_given_by: frozenset[str] = frozenset()
    """Options that supply the data instead (``-e``): then no operand is data."""
    data_options: frozenset[str] = frozenset()
    """Options whose values are data, not files."""
    reads: Reads = "content"
    """``metadata``: only names, sizes and types are read (ls, stat), never content."""
    content_options: frozenset[str] = frozenset()
    """For a metadata reader: options naming a file whose content it does read (and may
    echo back in errors: ``du --files0-from=F``, ``file -f F``)."""


def _program(
    short_arg: str = "",
    long_arg: str = "",
    deny_short: Mapping[str, str] | None = None,
    deny_long: Mapping[str, str] | None = None,
    *,
    short_optional: str = "",
    long_optional: str = "",
    long_flags: str = "",
    numeric: bool = False,
    check: Callable[[str, Parsed], str | None] | None = None,
    data_operands: int = 0,
    data_given_by: str = "",
    data_options: str = "",
    reads: Reads = "content",
    content_options: str = "",
) -> Program:
    deny_long = deny_long or {}
    # Forbidden names are known names, so abbreviations of them resolve as getopt does.
    g = grammar(
        short_arg,
        short_optional,
        long_arg,
        long_optional,
        long_flags + " " + " ".join(deny_long),
        numeric,
    )
    return Program(
        g,
        deny_short or {},
        deny_long,
        check,
        data_operands,
        frozenset(data_given_by.split()),
        frozenset(data_options.split()),
        reads,
        frozenset(content_options.split()),
    )


_WRITES = "writes files"
_RUNS = "runs a program"


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


def find_judge(args: Argv) -> str | None:
    """find's expression is words, not options: any action that runs or writes asks."""
    for a in args:
        why = _FIND_DENY.get(a)
        if why:
            return f"find {a} {why}"
    return None


def _date(prog: str, parsed: Parsed) -> str | None:
    if parsed.has("-s", "--set"):
        return "date -s sets the clock"
    if any(not op.startswith("+") for op in parsed.operands):
        return "date with a time argument sets the clock"
    return None


def _uniq(prog: str, parsed: Parsed) -> str | None:
    if len(parsed.operands) > 1:
        return "uniq with two file arguments writes the second"
    return None


def _hostname(prog: str, parsed: Parsed) -> str | None:
    ok = {"-f", "--fqdn", "-s", "--short", "-i", "--ip-address", "-I", "-d", "--domain", "-A"}
    ok |= {"--all-fqdns", "--all-ip-addresses", "--long", "--alias", "-a"}
    if parsed.operands or any(o.name not in ok for o in parsed.options):
        return "hostname with arguments can set the hostname"
    return None


def _tree(prog: str, parsed: Parsed) -> str | None:
    if parsed.has("--fromfile", "--fromtabfile"):
        return "tree --fromfile prints the content of the files it is given"
    return None


def _test(prog: str, parsed: Parsed) -> str | None:
    words = parsed.words
    for w in words:
        if w in ("-v", "-R"):
            return f"{prog} {w} evaluates an array subscript, which can run commands"
    return None


_JQ_IMPORT = re.compile(r"\b(?:import|include)\b")
_JQ_TWO_VALUES = frozenset({"--arg", "--argjson", "--slurpfile", "--rawfile"})


def _jq_split(args: Argv) -> tuple[list[str], list[str]]:
    """jq's options that take two words (``--rawfile NAME FILE``) taken out first:
    ``(the other words, the files those options read)``. After ``--args`` or
    ``--jsonargs`` the remaining operands are values, not files."""
    rest: list[str] = []
    files: list[str] = []
    j = 0
    n = len(args)
    while j < n:
        a = args[j]
        if a in _JQ_TWO_VALUES:
            if a in ("--slurpfile", "--rawfile") and j + 2 < n:
                files.append(args[j + 2])
            j += 3
            continue
        if a in ("--args", "--jsonargs"):
            ops = [x for x in args[j + 1 :] if not x.startswith("-")]
            rest.extend(x for x in args[j + 1 :] if x.startswith("-"))
            rest.extend(ops[:1])  # the filter, when it comes after --args
            break
        rest.append(a)
        j += 1
    return rest, files


def _jq(prog: str, parsed: Parsed) -> str | None:
    scripts = list(parsed.operands[:1]) if not parsed.has("-f", "--from-file") else []
    if parsed.has("-L") or any(_JQ_IMPORT.search(s) for s in scripts):
        return "jq import/include loads files the filter does not name as arguments"
    if parsed.has("-f", "--from-file"):
        return "jq -f runs a filter from a file"
    return None


_YQ_LOAD = re.compile(r"\b(?:load\w*|strload)\b|\bsystem\s*\(")


_YQ_SUBCOMMANDS = frozenset({"e", "eval", "ea", "eval-all"})


def _yq_data_operands(parsed: Parsed) -> int:
    """How many leading operands are not files: an ``eval``/``ea`` subcommand and the
    expression."""
    ops = parsed.operands
    skip = 1 if ops and ops[0] in _YQ_SUBCOMMANDS else 0
    return skip + (0 if parsed.has("--expression", "--from-file") else 1)


def _yq(prog: str, parsed: Parsed) -> str | None:
    if parsed.has("--from-file"):
        return "yq --from-file runs an expression from a file"
    ops = parsed.operands
    start = 1 if ops and ops[0] in _YQ_SUBCOMMANDS else 0
    expr = parsed.values("--expression") or list(ops[start : start + 1])
    if any(_YQ_LOAD.search(e) for e in expr):
        return "yq load()/system() reads files or runs commands the expression names"
    return None


_READ_ONLY: dict[str, Program] = {
    **dict.fromkeys(
        (
            "cat head tail wc pwd echo true false which type du df whoami id uname basename "
            "dirname realpath readlink diff cmp comm cut tr printenv nl od hexdump "
            "md5sum sha1sum sha256sum sha512sum cksum b2sum column paste fold rev tac seq sleep "
            "nproc uptime arch groups tty whereis expand unexpand locale ps free lsb_release"
        ).split(),
        Program(),
    ),
    "ls": Program(reads="metadata"),
    "stat": Program(reads="metadata"),
    "head": _program("nc", "lines bytes", numeric=True),
    "tail": _program("ncs", "lines bytes pid sleep-interval max-unchanged-stats", numeric=True),
    **dict.fromkeys(("echo", "printf"), Program(data_operands=1 << 30)),
    "printf": _program("v", deny_short={"v": "sets a variable"}, data_operands=1 << 30),
    **dict.fromkeys(
        ("grep", "egrep", "fgrep"),
        _program(
            "efmABCdDX",
            "regexp file max-count after-context before-context context directories devices "
            "label include exclude exclude-from exclude-dir binary-files group-separator",
            long_optional="color colour",
            numeric=True,
            data_operands=1,
            data_given_by="-e -f --regexp --file",
            data_options="-e --regexp -m --max-count -A -B -C --after-context --before-context "
            "--context -d -D --directories --devices --label --group-separator --binary-files "
            "--exclude --exclude-dir -X",
        ),
    ),
    "sort": _program(
        "kotTS",
        "key output field-separator temporary-directory buffer-size files0-from random-source "
        "batch-size parallel sort",
        {"o": _WRITES},
        {"output": _WRITES, "compress-program": _RUNS},
        data_options="-k --key -t --field-separator -S --buffer-size --batch-size --parallel "
        "--sort -T --temporary-directory",
    ),
    "ag": _program(
        "ABCGgmp",
        "after before context file-search-regex max-count path-to-ignore ignore ignore-dir "
        "depth workers",
        deny_long={"pager": _RUNS},
        data_operands=1,
        data_options="-A -B -C -G -g -m --after --before --context --file-search-regex "
        "--max-count --ignore --ignore-dir --depth --workers",
    ),
    "rg": _program(
        "ABCEefgjMmrTtd",
        "regexp file glob iglob type type-not type-add type-clear replace max-count max-depth "
        "max-columns threads encoding after-context before-context context context-separator "
        "field-match-separator field-context-separator path-separator colors color sort sortr "
        "ignore-file hyperlink-format engine max-filesize dfa-size-limit regex-size-limit "
        "generate pre pre-glob hostname-bin",
        {"z": "runs decompression programs"},
        {
            "pre": _RUNS,
            "pre-glob": _RUNS,
            "hostname-bin": _RUNS,
            "search-zip": "runs decompression programs",
        },
        data_operands=1,
        data_given_by="-e -f --regexp --file",
        data_options="-e --regexp -r --replace -A -B -C -E -j -M -m -T -t -d --type --type-not "
        "--type-add --type-clear --max-count --max-depth --max-columns --threads --encoding "
        "--after-context --before-context --context --context-separator --field-match-separator "
        "--field-context-separator --path-separator --colors --color --sort --sortr "
        "--hyperlink-format --engine --max-filesize --dfa-size-limit --regex-size-limit --generate",
    ),
    "tree": _program(
        "LPIoHT",
        "filelimit timefmt sort charset gitfile infofile hintro houtro",
        {"o": _WRITES, "R": "writes 00Tree.html files"},
        {"output": _WRITES},
        check=_tree,
        reads="metadata",
        long_flags="fromfile fromtabfile",
        # -H's page embeds --hintro/--houtro files; --infofile comments are printed
        content_options="--hintro --houtro --infofile --gitfile",
    ),
    "file": _program(
        "mfFeP",
        "magic-file files-from separator exclude exclude-quiet parameter",
        {"C": _WRITES, "z": "runs decompression programs", "Z": "runs decompression programs"},
        {"compile": _WRITES, "uncompress": "runs decompression programs"},
        data_options="-F --separator -e --exclude --exclude-quiet -P --parameter",
        reads="metadata",
        content_options="-f --files-from -m --magic-file",
    ),
    "du": _program(
        "XBdt",
        "files0-from exclude-from exclude block-size max-depth threshold time-style time",
        reads="metadata",
        content_options="--files0-from -X --exclude-from",
    ),
    "wc": _program("", "files0-from", reads="metadata", content_options="--files0-from"),
    "yq": _program(
        "",
        "expression from-file indent output-format input-format split-exp",
        {"i": "edits files in place", "s": "writes a file per document (--split-exp)"},
        {
            "inplace": "edits files in place",
            "in-place": "edits files in place",
            "split-exp": "writes a file per document",
            "security-enable-system-operator": "lets the expression run commands",
        },
        check=_yq,
        data_operands=1,
        data_given_by="--expression --from-file",
        data_options="--expression --indent --output-format --input-format",
    ),
    "jq": _program(
        "fL",
        "from-file indent arg argjson slurpfile rawfile",
        check=_jq,
        data_operands=1,
        data_given_by="-f --from-file",
        data_options="--indent --arg --argjson",
    ),
    "date": _program(
        "dfr",
        "date file reference rfc-3339",
        {"s": "sets the clock"},
        {"set": "sets the clock"},
        short_optional="I",
        long_optional="iso-8601",
        check=_date,
        data_options="-d --date -I --iso-8601 --rfc-3339",
    ),
    "uniq": _program(
        "fsw", "skip-fields skip-chars check-chars", long_optional="group all-repeated", check=_uniq
    ),
    "hostname": _program(check=_hostname),
    **dict.fromkeys(("test", "["), _program(check=_test, data_operands=1 << 30, reads="metadata")),
    "nice": _program(
        check=lambda prog, parsed: "nice with arguments is not read-only" if parsed.words else None
    ),
    "command": _program(deny_short={"p": "runs a command"}),
}
for _name in ("df", "basename", "dirname", "realpath", "readlink", "which", "type"):
    _READ_ONLY[_name] = Program(reads="metadata")
for _name in ("whereis", "pwd", "true", "false", "sleep", "seq", "nproc", "uptime", "arch"):
    _READ_ONLY[_name] = Program(data_operands=1 << 30)

_NOT_READ_ONLY_WHY = {
    "awk": "awk can run commands (system())",
    "gawk": "gawk can run commands (system())",
    "mawk": "mawk can run commands (system())",
    "nawk": "nawk can run commands (system())",
    "tee": "tee writes files",
    "less": "less is an interactive pager: it can run commands (!, |, v) and LESSOPEN filters",
    "more": "more is an interactive pager: it can run commands (!) and an editor (v)",
    "most": "most is an interactive pager that can run commands",
    "pg": "pg is an interactive pager that can run commands",
    "vi": "vi edits files and can run commands",
    "vim": "vim edits files and can run commands",
    "view": "view can run commands",
}


def _env_print(args: Argv) -> str | None:
    if all(a in ("-0", "--null") for a in args):
        return None
    if any(NAME_ASSIGN.match(a) for a in args):
        return "env sets variables"
    return "env with options is not read-only"


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


def read_only_programs() -> frozenset[str]:
    """Every program name with a read-only rule (some only for some arguments)."""
    return frozenset(_READ_ONLY) | {"find", "sed", "git", "env"}


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
    if is_interpreter(prog):
        return _interpreter(prog, args)
    if prog == "find":
        return find_judge(args)
    if prog == "sed":
        return sed_judge(args)
    if prog == "git":
        return git_judge(args)
    if prog == "env":
        return _env_print(args)
    spec = _READ_ONLY.get(prog)
    if spec is not None:
        parsed = parse(_jq_split(args)[0] if prog == "jq" else args, spec.grammar)
        bad = danger(parsed, spec.grammar, spec.deny_short, spec.deny_long)
        if bad:
            return f"{prog} {bad[0]} {bad[1]}"
        return spec.check(prog, parsed) if spec.check else None
    if prog in _VERSION_ONLY and tuple(args) == ("--version",):
        return None
    if prog == "go" and list(args) == ["version"]:
        return None
    if prog in ("pip", "pip3") and args and args[0] in ("list", "show", "freeze"):
        return None
    if prog in ("npm", "pnpm") and args and args[0] in ("ls", "list"):
        return None
    return _NOT_READ_ONLY_WHY.get(prog, f"{prefix_of(argv)} is not read-only")


def file_words(argv: Argv) -> list[str]:
    """The words of a command that may name files whose content it reads.

    Data words (a grep pattern, a sed script, echo's arguments) and the operands of
    programs that read only metadata (ls, stat, find) are left out; for any program
    without a rule, every argument counts.
    """
    if not argv:
        return []
    prog = base(argv[0])
    args = argv[1:]
    if prog == "find":
        return [args[k + 1] for k, a in enumerate(args[:-1]) if a == "-files0-from"]
    if prog in STATE_BUILTINS:
        return []
    if prog == "git":
        return git_file_words(args)
    if prog == "sed":
        return sed_script_words(args)
    spec = _READ_ONLY.get(prog)
    if spec is None:
        return [w for a in args for w in _option_value_words(a)]
    extra: list[str] = []
    if prog == "jq":
        rest, extra = _jq_split(args)
        args = tuple(rest)
    parsed = parse(args, spec.grammar)
    if spec.reads == "metadata":
        return [v for v in parsed.values(*spec.content_options)]
    out: list[str] = list(extra)
    for o in parsed.options:
        if o.value is not None and o.name not in spec.data_options:
            out.append(o.value)
    if prog == "yq":
        skip = _yq_data_operands(parsed)
    else:
        skip = 0 if parsed.has(*spec.data_given_by) else spec.data_operands
    out.extend(parsed.operands[skip:])
    return out


_GLOB_GIT_SUBCOMMANDS = frozenset(
    "status diff log show ls-files ls-tree blame annotate grep whatchanged shortlog "
    "check-ignore".split()
)
_FIND_EXPRESSION_START = ("-", "(", ")", "!", ",")


def glob_position_problem(argv: Argv, index: int) -> str | None:
    """Why a glob at ``argv[index]`` may not be expanded for this program, or None.

    A glob may stand only where every name it expands to is read as one more file (or
    folder) operand: never the program, an option value, a pattern or script, or a
    find expression.
    """
    prog = base(argv[0])
    args = list(argv[1:])
    j = index - 1
    word = args[j]
    if prog == "find":
        first_expr = next(
            (k for k, a in enumerate(args) if a.startswith(_FIND_EXPRESSION_START)), len(args)
        )
        return None if j < first_expr else "a glob inside a find expression"
    if prog == "sed":
        return None if word in sed_script_words(args) else "a glob in sed's script position"
    if prog == "git":
        split = split_git(args)
        if split.sub not in _GLOB_GIT_SUBCOMMANDS:
            return f"a glob in the arguments of git {split.sub or ''}".rstrip()
        offset = len(args) - len(split.rest)
        if j < offset:
            return "a glob before the git subcommand"
        return None if word in git_file_words(args) else "a glob in a git option or pattern"
    spec = _READ_ONLY.get(prog)
    if spec is None:
        return f"a glob in the arguments of {prog}"
    if prog == "jq" and any(a in _JQ_TWO_VALUES or a in ("--args", "--jsonargs") for a in args):
        return "a glob among jq's --arg/--args values"
    parsed = parse(args, spec.grammar)
    if j not in parsed.operand_index:
        return f"a glob as the value of a {prog} option"
    k = parsed.operand_index.index(j)
    if prog == "yq":
        skip = _yq_data_operands(parsed)
    else:
        skip = 0 if parsed.has(*spec.data_given_by) else spec.data_operands
    if k < skip and prog not in ("echo", "printf"):
        return f"a glob in {prog}'s pattern or script position"
    return None


# ---------------------------------------------------------------- environment readers

# Variables that hold no secret by convention: printing one runs without asking.
_PLAIN_VARIABLES = frozenset(
    (
        "PATH HOME USER LOGNAME SHELL PWD OLDPWD LANG LANGUAGE TERM TZ EDITOR VISUAL PAGER "
        "TMPDIR HOSTNAME SHLVL COLUMNS LINES DISPLAY MANPATH VIRTUAL_ENV CONDA_PREFIX "
        "CONDA_DEFAULT_ENV PYTHONPATH GOPATH GOROOT JAVA_HOME NODE_ENV CI"
    ).split()
)
_PLAIN_VARIABLE_PREFIXES = ("LC_", "XDG_")
# jq's `env`/`$ENV` (and yq's env()/strenv()/envsubst): the filter reads the environment.
_FILTER_ENV = re.compile(r"\$ENV\b|(?<![\w.$@\"])env\b|\b(?:str)?env\s*\(|\benvsubst\b")


# ps options taking a value: after a dash (-o FMT, -u USER ...), as BSD letters (o FMT,
# U USER ...), and long (--format FMT ...).
_PS_DASH_VALUES = frozenset("oOpqstuUgGCk")
_PS_BSD_VALUES = frozenset("oOpqtUk")
_PS_LONG_VALUES = frozenset(
    "format sort pid ppid user User group Group cols columns rows width sid tty quick-pid".split()
)


def _ps_shows_environment(args: Argv) -> bool:
    """BSD ``e`` (``ps eww``, ``ps auxe``; Linux) or ``-E`` (macOS): each process's
    environment is printed after its command."""
    value_next = False
    for a in args:
        if value_next:
            value_next = False
            continue
        if a.startswith("--"):
            value_next = "=" not in a and a[2:] in _PS_LONG_VALUES
            continue
        letters = a[1:] if a.startswith("-") else a
        values = _PS_DASH_VALUES if a.startswith("-") else _PS_BSD_VALUES
        if not a.startswith("-") and not letters.isalpha():
            continue  # a list of pids or a format given earlier
        for k, ch in enumerate(letters):
            if ch == "E" or (ch == "e" and not a.startswith("-")):
                return True
            if ch in values:
                value_next = k == len(letters) - 1
                break
    return False


def environment_read(argv: Argv) -> str | None:
    """What the (unwrapped) command prints of the environment, when that may include
    secrets (tokens and keys live in environment variables), else None."""
    if not argv:
        return None
    prog = base(argv[0])
    args = argv[1:]
    if prog == "env":
        return "env prints every environment variable"  # it reaches here only with no command
    if prog == "printenv":
        names = [a for a in args if not a.startswith("-")]
        if not names:
            return "printenv prints every environment variable"
        for name in names:
            if name not in _PLAIN_VARIABLES and not name.startswith(_PLAIN_VARIABLE_PREFIXES):
                return f"printenv prints ${name}"
        return None
    if prog == "ps" and _ps_shows_environment(args):
        return "ps e prints the environment of processes"
    if prog in ("jq", "yq"):
        spec = _READ_ONLY[prog]
        parsed = parse(_jq_split(args)[0] if prog == "jq" else args, spec.grammar)
        if prog == "jq":
            filters = [] if parsed.has("-f", "--from-file") else list(parsed.operands[:1])
        else:
            ops = parsed.operands
            start = 1 if ops and ops[0] in _YQ_SUBCOMMANDS else 0
            filters = parsed.values("--expression") or list(ops[start : start + 1])
        if any(_FILTER_ENV.search(f) for f in filters):
            return f"{prog}'s filter reads environment variables"
    return None


# ---------------------------------------------------------------- recursive readers

_GREP_RECURSIVE = ("recursive", "dereference-recursive")


def _long_typed(parsed: Parsed, names: tuple[str, ...]) -> bool:
    """Whether a long option as typed is, or may abbreviate, one of ``names``."""
    return any(long_matches(o.word.partition("=")[0], names) for o in parsed.options)


def _short_count(parsed: Parsed, letter: str) -> int:
    return sum(1 for o in parsed.options if o.name == f"-{letter}")


def _file_operands(prog: str, parsed: Parsed) -> list[str]:
    spec = _READ_ONLY[prog]
    skip = 0 if parsed.has(*spec.data_given_by) else spec.data_operands
    return list(parsed.operands[skip:])


def _grep_tree(prog: str, args: Argv) -> tuple[tuple[str, ...], TreeRead] | None:
    parsed = parse(args, _READ_ONLY[prog].grammar)
    modes = parsed.values("-d", "--directories")
    recursive = (
        parsed.has("-r", "-R")
        or _long_typed(parsed, _GREP_RECURSIVE)
        or any(m and "recurse".startswith(m) for m in modes)
    )
    if not recursive:
        return None
    follow = parsed.has("-R") or _long_typed(parsed, ("dereference-recursive",))
    filters = {o.name for o in parsed.options} & {"--include", "--exclude", "--exclude-from"}
    only = tuple(parsed.values("--include")) if filters == {"--include"} else ()
    how = TreeRead(
        follow_links=follow, only_names=only, skip_dirs=tuple(parsed.values("--exclude-dir"))
    )
    return tuple(_file_operands(prog, parsed)) or (".",), how


def _rg_tree(args: Argv) -> tuple[tuple[str, ...], TreeRead] | None:
    parsed = parse(args, _READ_ONLY["rg"].grammar)
    if any(o.word == "--files" for o in parsed.options):
        return None  # lists the names it would search; reads no file
    unrestricted = _short_count(parsed, "u") + sum(
        1 for o in parsed.options if long_matches(o.word, ("unrestricted",))
    )
    globs = parsed.values("-g", "--glob", "--iglob")
    hidden = (
        unrestricted >= 2 or parsed.has("-.") or _long_typed(parsed, ("hidden",)) or bool(globs)
    )
    ignore = not (unrestricted or globs or _long_typed(parsed, ("no-ignore", "no-ignore-vcs")))
    exact = not parsed.has("--iglob") and not _long_typed(parsed, ("glob-case-insensitive",))
    only = tuple(globs) if globs and exact and not any(g.startswith("!") for g in globs) else ()
    how = TreeRead(
        hidden=hidden,
        follow_links=parsed.has("-L") or _long_typed(parsed, ("follow",)),
        gitignore=ignore,
        only_names=only,
    )
    return tuple(_file_operands("rg", parsed)) or (".",), how


def _ag_tree(args: Argv) -> tuple[tuple[str, ...], TreeRead] | None:
    parsed = parse(args, _READ_ONLY["ag"].grammar)
    unrestricted = parsed.has("-u") or _long_typed(parsed, ("unrestricted",))
    everything = parsed.has("-U", "-a", "-t") or _long_typed(
        parsed, ("skip-vcs-ignores", "all-types", "all-text", "search-binary")
    )
    how = TreeRead(
        hidden=unrestricted or _long_typed(parsed, ("hidden",)),
        follow_links=parsed.has("-f") or _long_typed(parsed, ("follow",)),
        gitignore=not (unrestricted or everything),
    )
    return tuple(_file_operands("ag", parsed)) or (".",), how


def _diff_tree(args: Argv) -> tuple[tuple[str, ...], TreeRead] | None:
    words = list(args)
    cut = words.index("--") if "--" in words else len(words)
    options = words[:cut]
    recursive = any(
        (w.startswith("-") and not w.startswith("--") and "r" in w[1:])
        or long_matches(w, ("recursive",))
        for w in options
    )
    if not recursive:
        return None
    # Every word that is not an option may be a folder it compares (a superset).
    roots = [w for w in options if not w.startswith("-")] + words[cut + 1 :]
    roots += [w.partition("=")[2] for w in options if long_matches(w, ("from-file", "to-file"))]
    return tuple(roots), TreeRead(follow_links=True)


def tree_reads(argv: Argv) -> tuple[tuple[str, ...], TreeRead] | None:
    """The folders a command searches recursively, reading the files in them (``grep
    -r``, ``rg``, ``ag``, ``diff -r``, ``git grep --no-index``), as written, and how it
    walks them; None when it reads no folder that way."""
    if not argv:
        return None
    prog = base(argv[0])
    args = argv[1:]
    if prog in ("grep", "egrep", "fgrep"):
        return _grep_tree(prog, args)
    if prog == "rg":
        return _rg_tree(args)
    if prog == "ag":
        return _ag_tree(args)
    if prog == "diff":
        return _diff_tree(args)
    if prog == "git":
        return git_tree_reads(args)
    return None


def _option_value_words(word: str) -> list[str]:
    """``--file=x`` names ``x``; ``-fx`` may name ``x``; a plain word names itself."""
    if word.startswith("--") and "=" in word:
        return [word.partition("=")[2]]
    if word.startswith("-") and len(word) > 2 and not word.startswith("--"):
        return [word, word[2:]]
    return [word]


__all__ = [
    "NETWORK_PROGRAMS",
    "STATE_BUILTINS",
    "environment_read",
    "file_words",
    "glob_position_problem",
    "grantable",
    "is_network",
    "judge",
    "prefix_of",
    "read_only_programs",
    "tree_reads",
]
