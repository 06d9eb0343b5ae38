"""Which file under a folder that may hold secrets a recursive search reads
(:func:`hermes.safety.sensitive.secret_in_tree`): hidden files, ``.gitignore`` as rg and
ag honour it, name filters, symlinks, and giving up on huge trees (issue 15, the
independent command suite's recursive-read holes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hermes.safety.sensitive import TreeRead, TreeSecret, secret_in_tree


@pytest.fixture
def home(hermes_home: Path) -> Path:
    """hermes' home (the shared fixture's), outside the trees under test."""
    return hermes_home


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A git work tree: src/a.py, README.md and a .env that .gitignore lists."""
    root = tmp_path / "tree"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("x\n")
    (root / "README.md").write_text("x\n")
    (root / ".env").write_text("API_KEY=x\n")
    (root / ".gitignore").write_text(".env\n")
    return root


def find(root: Path, how: TreeRead, home: Path, limit: int = 1000) -> TreeSecret | None:
    return secret_in_tree(root, how, home, limit)


def test_a_plain_recursive_read_reaches_a_hidden_secret(tree: Path, home: Path) -> None:
    assert find(tree, TreeRead(), home) == TreeSecret(tree / ".env", "environment file")


def test_hidden_files_are_skipped_when_the_program_skips_them(tree: Path, home: Path) -> None:
    (tree / ".gitignore").write_text("")
    assert find(tree, TreeRead(hidden=False), home) is None
    (tree / "src" / "server.key").write_text("k\n")
    assert find(tree, TreeRead(hidden=False), home) == TreeSecret(
        tree / "src" / "server.key", "private key"
    )


def test_gitignore_is_honoured_inside_a_work_tree(tree: Path, home: Path) -> None:
    (tree / "build").mkdir()
    (tree / "build" / "server.key").write_text("k\n")
    (tree / ".gitignore").write_text(".env\nbuild/\n")
    assert find(tree, TreeRead(gitignore=True), home) is None
    assert find(tree, TreeRead(), home) == TreeSecret(tree / ".env", "environment file")


def test_gitignore_is_not_honoured_outside_a_work_tree(tree: Path, home: Path) -> None:
    (tree / ".git").rmdir()
    assert find(tree, TreeRead(gitignore=True), home) == TreeSecret(
        tree / ".env", "environment file"
    )


@pytest.mark.parametrize(
    ("ignore", "extra"),
    [
        (".env\n!.env\n", None),  # a negation may re-include anything
        (".env\n", ".ignore"),  # rg and ag read it, and it may re-include
        (".env\n", ".rgignore"),
        ("/src/.env\n", None),  # anchored elsewhere: .env at the top is not matched
        ("src/.env\n", None),  # a slash inside: not modelled, so nothing is skipped
        ("[.]env\n", None),  # brackets: not modelled
        (".env\r\n", None),  # a carriage return: not modelled
        (".env\n" + "#" * 70_000 + "\n", None),  # too long to read to the end
    ],
)
def test_what_the_ignore_model_cannot_vouch_for_counts_as_read(
    ignore: str, extra: str | None, tree: Path, home: Path
) -> None:
    (tree / ".gitignore").write_text(ignore)
    if extra:
        (tree / extra).write_text("")
    assert find(tree, TreeRead(gitignore=True), home) == TreeSecret(
        tree / ".env", "environment file"
    )


def test_a_nested_repository_does_not_inherit_the_outer_gitignore(tree: Path, home: Path) -> None:
    inner = tree / "vendor" / "lib"
    (inner / ".git").mkdir(parents=True)
    (inner / ".env").write_text("x\n")
    assert find(tree, TreeRead(gitignore=True), home) == TreeSecret(
        inner / ".env", "environment file"
    )


def test_name_filters_narrow_only_in_the_shapes_they_understand(tree: Path, home: Path) -> None:
    assert find(tree, TreeRead(only_names=("*.py", "README.md")), home) is None
    assert find(tree, TreeRead(only_names=(".env",)), home) == TreeSecret(
        tree / ".env", "environment file"
    )
    for glob in ("*.p[y]", "*.py*", "src/*.py", "?env"):
        assert find(tree, TreeRead(only_names=(glob,)), home) == TreeSecret(
            tree / ".env", "environment file"
        ), glob


def test_skipped_folders_are_not_entered(tree: Path, home: Path) -> None:
    (tree / ".env").unlink()
    (tree / "certs").mkdir()
    (tree / "certs" / "server.key").write_text("k\n")
    assert find(tree, TreeRead(skip_dirs=("cert*",)), home) is None
    assert find(tree, TreeRead(skip_dirs=("cert[s]",)), home) == TreeSecret(
        tree / "certs" / "server.key", "private key"
    )


def test_symlinks_are_followed_only_when_the_program_follows_them(
    tree: Path, home: Path, tmp_path: Path
) -> None:
    (tree / ".env").unlink()
    keys = tmp_path / "user" / ".ssh"
    keys.mkdir(parents=True)
    (keys / "id_rsa").write_text("k\n")
    (tree / "docs").mkdir()
    os.symlink(keys, tree / "docs" / "keys")
    assert find(tree, TreeRead(), home) is None
    assert find(tree, TreeRead(follow_links=True), home) == TreeSecret(
        tree / "docs" / "keys", "SSH folder"
    )
    os.unlink(tree / "docs" / "keys")
    os.symlink(tree / "README.md", tree / "docs" / "x.txt")
    os.symlink(tree, tree / "docs" / "loop")
    assert find(tree, TreeRead(follow_links=True), home) is None
    # A link whose own name is harmless, to a file whose name is not.
    (tree / "prod.env").write_text("x\n")
    os.symlink(tree / "prod.env", tree / "docs" / "notes.txt")
    assert find(tree / "docs", TreeRead(), home) is None
    assert find(tree / "docs", TreeRead(follow_links=True), home) == TreeSecret(
        tree / "docs" / "notes.txt", "environment file"
    )


def test_hermes_home_inside_the_tree_counts(tree: Path) -> None:
    (tree / ".env").unlink()
    home = tree / "state"
    home.mkdir()
    (home / "notes.txt").write_text("x\n")
    assert find(tree, TreeRead(), home) == TreeSecret(home, "hermes' own home")


def test_a_tree_too_big_to_check_gives_up(tree: Path, home: Path) -> None:
    (tree / ".env").unlink()
    for n in range(20):
        (tree / "src" / f"m{n}.py").write_text("")
    assert find(tree, TreeRead(), home, limit=10) == TreeSecret(None, "more than 10 entries")
    assert find(tree, TreeRead(), home, limit=100) is None


def test_a_file_or_a_missing_root_is_no_tree(tree: Path, home: Path) -> None:
    assert find(tree / ".env", TreeRead(), home) is None
    assert find(tree / "nowhere", TreeRead(), home) is None
