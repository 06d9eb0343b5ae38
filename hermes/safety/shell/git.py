"""git rules for :mod:`hermes.safety.shell.analyze`: global options, read-only subcommands."""

from __future__ import annotations

from dataclasses import dataclass

from hermes.safety.shell.wrappers import Argv, long_matches

GIT_NETWORK = frozenset({"push", "fetch", "pull", "clone", "ls-remote", "submodule"})


@dataclass(frozen=True)
class GitSplit:
    """``git [global options] sub rest...`` taken apart."""

    sub: str | None
    rest: tuple[str, ...]
    problem: str | None


_GIT_GLOBAL_FLAGS = frozenset(
    (
        "--no-pager -P --paginate -p --no-optional-locks --literal-pathspecs --glob-pathspecs "
        "--noglob-pathspecs --icase-pathspecs --no-replace-objects --no-advice --no-lazy-fetch"
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
    (
        "status rev-parse ls-files ls-tree describe cat-file show-ref merge-base rev-list name-rev "
        "count-objects check-ignore check-attr for-each-ref blame shortlog whatchanged version"
    ).split()
)
_GIT_LOG_LIKE = frozenset({"log", "show", "diff", "grep", "range-diff", "annotate"})


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
