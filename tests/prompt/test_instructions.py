"""AGENTS.md project instructions: which files, in what order, within a budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.prompt.instructions import InstructionFile, find_instruction_files, instructions_block
from hermes.tokens import estimate_tokens


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(workspace, home) with HERMES_HOME pointing at home."""
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    monkeypatch.setenv("HERMES_HOME", str(home))
    return ws, home


def make_repo(tmp_path: Path) -> tuple[Path, Path, Path]:
    """outer/AGENTS.md (above the repo), repo/.git, repo/AGENTS.md, repo/a/b workspace."""
    outer = tmp_path / "outer"
    repo = outer / "repo"
    ws = repo / "a" / "b"
    ws.mkdir(parents=True)
    (repo / ".git").mkdir()
    (outer / "AGENTS.md").write_text("outer: must not appear")
    (repo / "AGENTS.md").write_text("root rules")
    (repo / "a" / "AGENTS.md").write_text("a rules")
    (ws / "AGENTS.md").write_text("b rules")
    return outer, repo, ws


def test_agents_md_nesting(tmp_path: Path) -> None:
    _, repo, ws = make_repo(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (home / "AGENTS.md").write_text("personal")
    files = find_instruction_files(ws, home)
    assert [f.path for f in files] == [
        home / "AGENTS.md",
        repo / "AGENTS.md",
        repo / "a" / "AGENTS.md",
        ws / "AGENTS.md",
    ]
    assert [f.text for f in files] == ["personal", "root rules", "a rules", "b rules"]


def test_agents_md_gaps_and_empty_files(tmp_path: Path) -> None:
    _, repo, ws = make_repo(tmp_path)
    (repo / "a" / "AGENTS.md").unlink()
    (ws / "AGENTS.md").write_text("  \n")
    files = find_instruction_files(ws, tmp_path / "nohome")
    assert [f.path for f in files] == [repo / "AGENTS.md"]


def test_agents_md_git_file_marks_root(tmp_path: Path) -> None:
    _, repo, ws = make_repo(tmp_path)
    (repo / "a" / ".git").write_text("gitdir: ../.git/worktrees/a\n")
    files = find_instruction_files(ws, tmp_path / "nohome")
    assert [f.path for f in files] == [repo / "a" / "AGENTS.md", ws / "AGENTS.md"]


def test_agents_md_without_repo_uses_workspace_only(tmp_path: Path) -> None:
    parent = tmp_path / "p"
    ws = parent / "ws"
    ws.mkdir(parents=True)
    (parent / "AGENTS.md").write_text("parent")
    (ws / "AGENTS.md").write_text("here")
    files = find_instruction_files(ws, tmp_path / "nohome")
    assert [f.path for f in files] == [ws / "AGENTS.md"]


def test_agents_md_home_is_workspace_not_duplicated(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("once")
    files = find_instruction_files(tmp_path, tmp_path)
    assert [f.text for f in files] == ["once"]


def test_agents_md_default_home(env: tuple[Path, Path]) -> None:
    ws, home = env
    (home / "AGENTS.md").write_text("mine")
    assert [f.path for f in find_instruction_files(ws)] == [home / "AGENTS.md"]


def test_instructions_block_within_budget(tmp_path: Path) -> None:
    files = [
        InstructionFile(Path("/h/AGENTS.md"), "personal\n"),
        InstructionFile(Path("/r/AGENTS.md"), "root"),
    ]
    text = instructions_block(files)
    assert text.startswith("## Project instructions (AGENTS.md)")
    assert "### /h/AGENTS.md\npersonal" in text
    assert "### /r/AGENTS.md\nroot" in text
    assert text.index("/h/AGENTS.md") < text.index("/r/AGENTS.md")
    assert "truncated" not in text
    assert instructions_block([]) == ""
    assert instructions_block([InstructionFile(Path("/e"), " \n")]) == ""


def test_instructions_block_over_budget_keeps_nearest() -> None:
    personal = InstructionFile(Path("/home/AGENTS.md"), "P" * 4000)
    root = InstructionFile(Path("/repo/AGENTS.md"), "\n".join(f"root line {i}" for i in range(800)))
    near = InstructionFile(Path("/repo/sub/AGENTS.md"), "near rules " * 100)
    files = [personal, root, near]
    full = instructions_block(files, budget_tokens=10**6)
    over = estimate_tokens(full) - 2000
    text = instructions_block(files)
    assert estimate_tokens(text) <= 2000
    assert text.endswith(
        f"[AGENTS.md instructions truncated: {over} tokens over the 2000-token budget]"
    )
    assert near.text.strip() in text  # nearest whole
    assert "### /repo/AGENTS.md\nroot line 0\n" in text  # next one cut
    assert "[... truncated]" in text
    assert "root line 799" not in text
    assert "/home/AGENTS.md" not in text  # farthest dropped


def test_instructions_block_nearest_alone_too_big() -> None:
    near = InstructionFile(Path("/r/AGENTS.md"), "word " * 5000)
    other = InstructionFile(Path("/h/AGENTS.md"), "personal")
    text = instructions_block([other, near], budget_tokens=300)
    assert estimate_tokens(text) <= 300
    assert "### /r/AGENTS.md" in text and "/h/AGENTS.md" not in text
    assert "tokens over the 300-token budget]" in text


def test_instructions_block_custom_counter() -> None:
    words = lambda s: len(s.split())  # noqa: E731
    files = [InstructionFile(Path(f"/d{i}/AGENTS.md"), "x " * 50) for i in range(5)]
    text = instructions_block(files, budget_tokens=150, count=words)
    assert words(text) <= 150
    assert "/d4/AGENTS.md" in text and "/d0/AGENTS.md" not in text
