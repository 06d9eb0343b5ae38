"""Which files a read-only git query may print (:mod:`hermes.safety.shell.git`): the
paths it names, and the folders whose tracked files it prints the content of (issue 15,
the independent command suite)."""

from __future__ import annotations

import shlex

import pytest

from hermes.safety.sensitive import TreeRead
from hermes.safety.shell.git import git_file_words, git_tree_reads

TRACKED = TreeRead(gitignore=True)
EVERYTHING = TreeRead(follow_links=True)


def args(command: str) -> tuple[str, ...]:
    words = shlex.split(command)
    assert words[0] == "git"
    return tuple(words[1:])


@pytest.mark.parametrize(
    ("command", "reads"),
    [
        ("git grep x", ((".",), TRACKED)),
        ("git grep x -- src", (("src",), TRACKED)),
        ("git grep x HEAD -- src", (("src",), TRACKED)),
        ("git grep x HEAD", (("HEAD",), TRACKED)),  # a revision: the analysis walks the folder
        ("git grep -e x -- '*.key'", ((".",), TRACKED)),  # a pathspec glob may match anywhere
        ("git grep x -- ':(exclude)a'", ((".",), TRACKED)),
        ("git -C sub grep x", (("sub/.",), TRACKED)),
        ("git grep --no-index x d", (("d",), EVERYTHING)),
        ("git grep --untracked x", ((".",), EVERYTHING)),
        ("git grep --no-ind x", ((".",), EVERYTHING)),  # git takes abbreviations
        ("git diff", ((".",), TRACKED)),
        ("git diff HEAD~1 -- src", (("src",), TRACKED)),
        ("git diff --no-index a b", (("a", "b"), EVERYTHING)),
        ("git diff --stat -p", ((".",), TRACKED)),
        ("git show", ((".",), TRACKED)),
        ("git show HEAD~2", (("HEAD~2",), TRACKED)),
        ("git log -p", ((".",), TRACKED)),
        ("git log --patch -- src", (("src",), TRACKED)),
        ("git log -U5", ((".",), TRACKED)),
        ("git whatchanged -p", ((".",), TRACKED)),
        ("git cat-file -p HEAD:x", (("HEAD:x",), TRACKED)),
        ("git cat-file --batch", ((".",), TRACKED)),
        ("git stash show", ((".",), TRACKED)),  # a patch with stash.showPatch
        ("git range-diff a...b", (("a...b",), TRACKED)),
        ("git config --blob HEAD:x --list", (("HEAD:x",), TRACKED)),
    ],
)
def test_queries_that_print_tracked_files(
    command: str, reads: tuple[tuple[str, ...], TreeRead]
) -> None:
    assert git_tree_reads(args(command)) == reads


@pytest.mark.parametrize(
    "command",
    [
        "git status",
        "git log",
        "git log --oneline --stat",
        "git show --stat",
        "git show -s HEAD",
        "git show --name-only HEAD",
        "git diff --name-only",
        "git diff --stat",
        "git cat-file -t HEAD",
        "git cat-file -s HEAD",
        "git cat-file --batch-check",
        "git stash list",
        "git config --list",
        "git ls-files",
    ],
)
def test_queries_that_print_no_file_content(command: str) -> None:
    assert git_tree_reads(args(command)) is None


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("git log -L1,5:.env", ["1,5:.env", ".env"]),
        ("git log -L :main:src/a.py", [":main:src/a.py", "src/a.py"]),
        ("git config --blob=HEAD:.env --list", ["HEAD:.env", ".env"]),
        ("git config --blob HEAD:.env --list", ["HEAD:.env", ".env"]),
        ("git blame --contents=.env README.md", [".env", "README.md"]),
        ("git show HEAD:./.env", ["HEAD:./.env", "./.env"]),
    ],
)
def test_file_words_name_what_options_read(command: str, words: list[str]) -> None:
    assert git_file_words(args(command)) == words
