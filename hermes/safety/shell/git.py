"""git rules for :mod:`hermes.safety.shell.analyze`: global options, read-only subcommands.

These rules read argv only. Whether the repository's configuration makes git start a
program (fsmonitor, filters, textconv ...) is checked on disk by
:mod:`hermes.safety.shell.gitconfig` when the analysis knows where the command runs.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from hermes.safety.sensitive import TreeRead
from hermes.safety.shell.options import Grammar, Parsed, danger, grammar, parse
from hermes.safety.shell.wrappers import Argv, long_matches

GIT_NETWORK = frozenset({"push", "fetch", "pull", "clone", "ls-remote", "submodule"})


@dataclass(frozen=True)
class GitSplit:
    """``git [global options] sub rest...`` taken apart."""

    sub: str | None
    rest: tuple[str, ...]
    problem: str | None
    chdirs: tuple[str, ...] = ()
    """The ``-C dir`` values, in order (each relative to the one before)."""
    globals: tuple[str, ...] = ()


_GIT_GLOBAL_FLAGS = frozenset(
    (
        "--no-pager -P --paginate -p --no-optional-locks --literal-pathspecs --glob-pathspecs "
        "--noglob-pathspecs --icase-pathspecs --no-replace-objects --no-advice --no-lazy-fetch "
        "--bare"
    ).split()
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
    """Skip git's global options (``-C dir`` is kept aside); find the subcommand."""
    j = 0
    problem: str | None = None
    chdirs: list[str] = []
    n = len(args)
    while j < n:
        a = args[j]
        if a == "-C":
            if j + 1 < n:
                chdirs.append(args[j + 1])
            else:
                problem = problem or "git -C without a folder"
            j += 2
            continue
        if a in _GIT_GLOBAL_FLAGS:
            j += 1
            continue
        if a.startswith("-"):
            key = a.partition("=")[0]
            if key.startswith("-c") and not key.startswith("--"):
                key = "-c"
            elif key.startswith("-C"):
                chdirs.append(a[2:])  # `-Cdir` is not git syntax, but be safe
                problem = problem or f"git global option {a[:40]}"
                j += 1
                continue
            problem = problem or _GIT_GLOBAL_DENY.get(key, f"git global option {a[:40]}")
            takes = key in _GIT_GLOBAL_DENY and "=" not in a and a not in ("--exec-path",)
            j += 2 if takes and a == key else 1
            continue
        return GitSplit(a, tuple(args[j + 1 :]), problem, tuple(chdirs), tuple(args[:j]))
    return GitSplit(None, (), problem, tuple(chdirs), tuple(args))


# Options of diff-producing subcommands (log, show, diff ...): those taking a value, and
# known names that share a prefix with a forbidden one (so exact spellings resolve).
_DIFF_GRAMMAR = grammar(
    short_arg="nSGOLlX",
    short_optional="UMCBI",
    long_arg=(
        "grep author committer format since until after before max-count skip encoding "
        "output anchored diff-filter relative-date orderfile src-prefix dst-prefix line-prefix "
        "word-diff-regex color-moved-ws ignore-matching-lines inter-hunk-context rotate-to skip-to "
        "contents"
    ),
    long_optional=(
        "pretty stat dirstat submodule color word-diff color-words decorate abbrev relative "
        "find-renames find-copies break-rewrites ignore-submodules unified function-context "
        "output-indicator-new output-indicator-old output-indicator-context show-linear-break"
    ),
    long_flags=(
        "text textconv no-textconv ext-diff no-ext-diff exit-code oneline patch no-patch "
        "name-only name-status numstat shortstat summary raw cached staged no-index "
        "open-files-in-pager or only-matching show-signature follow"
    ),
)
_GREP_GRAMMAR = grammar(
    short_arg="efABCm",
    short_optional="O",
    long_arg="max-depth threads file after-context before-context context max-count",
    long_optional="open-files-in-pager color",
    long_flags="and or not textconv no-textconv no-index untracked cached only-matching",
)
_GIT_DENY_LONG = {
    "output": "writes a file",
    "ext-diff": "runs the configured external diff program",
    "textconv": "runs the configured textconv programs",
    "open-files-in-pager": "opens the files in a program",
    "filters": "runs the configured filter programs",
}
_GREP_DENY_SHORT = {"O": "opens the files in a program"}
_GIT_BRANCH_OK = frozenset(
    {"-a", "--all", "-r", "--remotes", "-v", "-vv", "--verbose", "--list", "-l"}
    | {"--show-current", "--no-color", "--color", "--no-column"}
)
_GIT_SIMPLE_READ = frozenset(
    (
        "status rev-parse ls-files ls-tree describe cat-file show-ref merge-base rev-list name-rev "
        "count-objects check-ignore check-attr for-each-ref blame shortlog whatchanged version"
    ).split()
)
_GIT_LOG_LIKE = frozenset({"log", "show", "diff", "grep", "range-diff", "annotate"})


def _grammar(sub: str) -> Grammar:
    return _GREP_GRAMMAR if sub == "grep" else _DIFF_GRAMMAR


def git_judge(args: Argv) -> str | None:
    """None when ``git args...`` is a read-only query, else why it asks."""
    split = split_git(args)
    if split.problem:
        return split.problem
    sub = split.sub
    rest = split.rest
    if sub is None:
        if any(a in ("--version", "--help") for a in args):
            return None
        return "git without a subcommand"
    if sub in GIT_NETWORK:
        return f"git {sub} uses the network"
    g = _grammar(sub)
    parsed = parse(rest, g)
    bad = danger(parsed, g, _GREP_DENY_SHORT if sub == "grep" else {}, _GIT_DENY_LONG)
    if bad:
        opt, why = bad
        if sub == "grep" and opt in ("-O", "--open-files-in-pager"):
            return f"git grep {opt} opens files in a program"
        return f"git {sub} {opt} is not read-only ({why})"
    if sub in _GIT_SIMPLE_READ or sub in _GIT_LOG_LIKE:
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
        if first in (None, "show", "list", "exists") or (
            first and first not in ("expire", "delete", "drop", "write")
        ):
            return None
        return f"git reflog {first} is not read-only"
    if sub == "worktree":
        return None if rest and rest[0] == "list" else "git worktree changes work trees"
    if sub == "config":
        return git_config_judge(rest)
    return f"git {sub} is not read-only"


_CONFIG_GRAMMAR = grammar(
    short_arg="f",
    long_arg="file blob type default value url comment",
    long_flags=(
        "get get-all get-regexp get-urlmatch get-color get-colorbool list show-origin "
        "show-scope global local system worktree name-only null includes no-includes bool "
        "int bool-or-int path expiry-date all regexp fixed-value edit add replace-all unset "
        "unset-all rename-section remove-section no-type"
    ),
)
_CONFIG_READ_OPTIONS = frozenset(
    (
        "--get --get-all --get-regexp --get-urlmatch --get-color --get-colorbool --list -l "
        "--show-origin --show-scope --global --local --system --worktree --name-only -z --null "
        "--includes --no-includes --file -f --blob --type --default --bool --int --bool-or-int "
        "--path --expiry-date --all --regexp --fixed-value --value --url --no-type"
    ).split()
)
_CONFIG_READS = frozenset(("get", "list"))
_CONFIG_WRITES = frozenset(
    ("set", "unset", "rename-section", "remove-section", "edit", "replace-all", "add")
)


def git_config_judge(rest: Argv) -> str | None:
    """None when ``git config rest...`` only reads configuration, else why it asks."""
    parsed = parse(rest, _CONFIG_GRAMMAR)
    names = {o.name for o in parsed.options}
    if names & {"-e", "--edit"}:
        return "git config --edit opens an editor"
    operands = parsed.operands
    if operands and operands[0] in _CONFIG_WRITES:
        if operands[0] == "edit":
            return "git config edit opens an editor"
        return f"git config {operands[0]} changes configuration"
    if not names <= _CONFIG_READ_OPTIONS:
        return "git config can change configuration"
    if operands and operands[0] in _CONFIG_READS:
        return None
    if names & {"--get", "--get-all", "--get-regexp", "--get-urlmatch", "--get-color"}:
        return None
    if names & {"--get-colorbool", "--list", "-l"}:
        return None
    if len(operands) == 1 and "." in operands[0]:
        return None  # `git config section.key` prints the value
    return "git config can change configuration"


def git_config_writes(rest: Argv) -> tuple[tuple[str, str | None], ...]:
    """``(key, value)`` that ``git config rest...`` would set, when it sets any (best
    effort: the first key and its value)."""
    if git_config_judge(rest) is None:
        return ()
    parsed = parse(rest, _CONFIG_GRAMMAR)
    ops = list(parsed.operands)
    if ops and ops[0] in _CONFIG_WRITES:
        ops = ops[1:]
    if not ops:
        return ()
    return ((ops[0], ops[1] if len(ops) > 1 else None),)


# Options naming a file git reads (``-L 1,5:path`` and ``--blob rev:path`` name it after
# the last colon).
_FILE_OPTIONS = frozenset({"-O", "--orderfile", "--contents", "-f", "--file", "--blob", "-L"})


def git_file_words(args: Argv) -> list[str]:
    """Words of ``git args...`` that may name files whose content git prints.

    Pathspecs and ``rev:path`` blobs (``git show HEAD:.env`` prints a file too), and
    the values of options that read a file.
    """
    split = split_git(args)
    if split.sub is None:
        return []
    g = _grammar(split.sub)
    parsed: Parsed = parse(split.rest, g)
    out: list[str] = []
    for o in parsed.options:
        if o.name in _FILE_OPTIONS and o.value is not None:
            out.append(o.value)
            if ":" in o.value:
                out.append(o.value.rpartition(":")[2])
    operands = list(parsed.operands)
    if split.sub == "grep" and not parsed.has("-e", "-f", "--file"):
        operands = operands[1:]
    for op in operands:
        out.append(op)
        if ":" in op:
            out.append(op.rpartition(":")[2])
    return out


# Options that make a diff-producing command print file content, and ones that leave
# only names and counts (then no content is printed unless a content option is given).
_CONTENT_OPTIONS = (
    "-p -u -U -W -c -L --patch --unified --word-diff --color-words --function-context --cc "
    "--full-diff --binary --patch-with-stat --patch-with-raw --remerge-diff --text -a"
).split()
_CONTENT_LONG = tuple(o[2:] for o in _CONTENT_OPTIONS if o.startswith("--"))
_NAMES_ONLY = frozenset(
    (
        "--stat --numstat --shortstat --name-only --name-status --summary --raw -s --no-patch "
        "--quiet --dirstat --compact-summary"
    ).split()
)


def _prints_content(sub: str, rest: Argv, parsed: Parsed) -> bool:
    """Whether ``git sub rest...`` (a read-only query) may print the content of
    tracked files (a patch, a blob, grep matches)."""
    if sub == "grep":
        return True
    if sub == "stash":
        return bool(rest) and rest[0] == "show"  # a patch with -p, or with stash.showPatch
    if sub == "cat-file":
        return not parsed.has("-t", "-s", "-e") and not (
            parsed.options and all(o.word == "--batch-check" for o in parsed.options)
        )
    if sub == "range-diff":
        return True
    if sub == "config":
        return any(o.word.startswith("--blob") for o in parsed.options)  # a tracked file as config
    if sub not in ("diff", "show", "log", "whatchanged"):
        return False
    typed = [o.word.partition("=")[0] for o in parsed.options]
    if parsed.has(*_CONTENT_OPTIONS) or any(long_matches(t, _CONTENT_LONG) for t in typed):
        return True
    if sub in ("log", "whatchanged"):
        return False
    return not any(o.name in _NAMES_ONLY for o in parsed.options)


def git_tree_reads(args: Argv) -> tuple[tuple[str, ...], TreeRead] | None:
    """The folders whose files a git query may print the content of (as written,
    relative to where the command starts), and how it picks them; None when it prints
    no file content beyond the paths it names (those are :func:`git_file_words`).

    ``git grep``, ``git diff``, ``git show``, ``git log -p`` ... print tracked files:
    these are taken to be the files of the work tree that ``.gitignore`` does not
    exclude, so a file added with ``git add -f`` despite ``.gitignore``, or one only in
    history (``git show HEAD~3``), is not seen. ``git grep --no-index``/``--untracked``
    and ``git diff --no-index`` read every file.
    """
    split = split_git(args)
    sub = split.sub
    if sub is None:
        return None
    g = _grammar(sub)
    rest = split.rest[1:] if sub == "stash" else split.rest
    parsed = parse(rest, g)
    if not _prints_content(sub, split.rest, parsed):
        return None
    typed = [o.word.partition("=")[0] for o in parsed.options]
    untracked = any(
        long_matches(t, ("no-index", "untracked") if sub == "grep" else ("no-index",))
        for t in typed
    )
    operands = list(parsed.operands)
    skip = 0 if sub != "grep" or parsed.has("-e", "-f", "--file") else 1
    after = parsed.after_double_dash
    # Before `--` a word may be a revision (the analysis then searches the whole folder).
    operands = operands[after:] if after >= skip else operands[skip:]
    how = TreeRead(follow_links=True) if untracked else TreeRead(gitignore=True)
    # A pathspec with glob characters or magic (`*.key`, `:(glob)x`) may match anywhere.
    roots = ["." if any(ch in r for ch in "*?[") or r.startswith(":") else r for r in operands]
    roots = roots or ["."]
    base = posixpath.join(*split.chdirs) if split.chdirs else ""
    joined = tuple(posixpath.join(base, r) if base else r for r in roots)
    return joined, how
