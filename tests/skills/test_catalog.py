"""Skill discovery and the skills index."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from hermes.skills import catalog as skills_mod
from hermes.skills.catalog import (
    Skill,
    SkillScan,
    bundled_skills_dir,
    discover_skills,
    skill_request_text,
    skills_index,
)
from hermes.tokens import estimate_tokens

BUNDLED = {"python-tests", "git-workflow", "debug-failing-command", "review-diff"}


def write_skill(
    root: Path,
    folder: str,
    name: str | None = None,
    desc: str = "Does things.",
    body: str = "Body.\n",
    raw: str | bytes | None = None,
) -> Path:
    """Create ``root/folder/SKILL.md``; ``raw`` replaces the whole file."""
    d = root / folder
    d.mkdir(parents=True, exist_ok=True)
    path = d / "SKILL.md"
    if raw is None:
        raw = f"---\nname: {name or folder}\ndescription: {desc}\n---\n{body}"
    if isinstance(raw, bytes):
        path.write_bytes(raw)
    else:
        path.write_text(raw, encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(workspace, home) with HERMES_HOME pointing at home."""
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    monkeypatch.setenv("HERMES_HOME", str(home))
    return ws, home


def user_root(home: Path) -> Path:
    return home / "skills"


def ws_root(ws: Path) -> Path:
    return ws / ".hermes" / "skills"


# ------------------------------------------------------------------ bundled


def test_bundled_skills_are_valid_and_useful() -> None:
    root = bundled_skills_dir()
    assert root is not None and root.is_dir()
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    assert len(folders) >= 4
    for folder in folders:
        parsed = skills_mod.parse_front_matter(folder / "SKILL.md")
        assert isinstance(parsed, tuple), f"{folder}: {parsed}"
        name, description = parsed
        assert name == folder.name
        assert 40 <= len(description) <= 300
        lines = (folder / "SKILL.md").read_text(encoding="utf-8").splitlines()
        assert 30 <= len(lines) <= 80, f"{folder.name} has {len(lines)} lines"
    assert any(len(list(f.iterdir())) > 1 for f in folders), "one skill should carry an extra file"


def test_bundled_skills_discovered_without_warnings(env: tuple[Path, Path]) -> None:
    ws, home = env
    scan = discover_skills(ws, home)
    assert scan.warnings == ()
    assert BUNDLED <= set(scan.names())
    assert all(s.source == "bundled" for s in scan.skills)
    assert scan.names() == sorted(scan.names())


def test_home_defaults_to_hermes_home(env: tuple[Path, Path]) -> None:
    ws, home = env
    write_skill(user_root(home), "mine")
    skill = discover_skills(ws).get("mine")
    assert skill is not None and skill.source == "user"


# ---------------------------------------------------------------- overrides


def test_override_order_bundled_user_workspace(env: tuple[Path, Path]) -> None:
    ws, home = env
    write_skill(user_root(home), "python-tests", desc="User version.")
    write_skill(user_root(home), "shared", desc="User shared.")
    write_skill(user_root(home), "only-user", desc="Only in user.")
    write_skill(ws_root(ws), "shared", desc="Workspace shared.")
    write_skill(ws_root(ws), "only-ws", desc="Only in workspace.")
    scan = discover_skills(ws, home)
    by = {s.name: s for s in scan.skills}
    assert by["python-tests"].source == "user"
    assert by["python-tests"].description == "User version."
    assert by["shared"].source == "workspace"
    assert by["shared"].description == "Workspace shared."
    assert by["shared"].path == ws_root(ws) / "shared" / "SKILL.md"
    assert by["only-user"].source == "user"
    assert by["only-ws"].source == "workspace"
    assert by["git-workflow"].source == "bundled"
    assert scan.warnings == ()


def test_workspace_overrides_bundled_directly(env: tuple[Path, Path]) -> None:
    ws, home = env
    write_skill(ws_root(ws), "other-folder", name="review-diff", desc="Ours.")
    skill = discover_skills(ws, home).get("review-diff")
    assert skill is not None and skill.source == "workspace" and skill.description == "Ours."


def test_same_folder_for_user_and_workspace_scanned_once(tmp_path: Path) -> None:
    home = tmp_path / ".hermes"
    write_skill(home / "skills", "x")
    scan = discover_skills(tmp_path, home)
    assert scan.warnings == ()
    skill = scan.get("x")
    assert skill is not None and skill.source == "user"


def test_multiline_description_is_one_line(env: tuple[Path, Path]) -> None:
    ws, home = env
    write_skill(ws_root(ws), "ml", raw="---\nname: ml\ndescription: >\n  first\n  second\n---\nB\n")
    skill = discover_skills(ws, home).get("ml")
    assert skill is not None and skill.description == "first second"


def test_crlf_bom_and_extra_keys(env: tuple[Path, Path]) -> None:
    ws, home = env
    raw = (
        b"\xef\xbb\xbf---\r\nname: crlf\r\ndescription: Windows.\r\nlicense: MIT\r\n---\r\nBody\r\n"
    )
    write_skill(ws_root(ws), "crlf", raw=raw)
    skill = discover_skills(ws, home).get("crlf")
    assert skill is not None and skill.description == "Windows."


# ------------------------------------------------------------ broken skills

LONG = "a" * 65

BROKEN: list[tuple[str, str | bytes, str]] = [
    ("no-fm", "# Just markdown\nno front matter\n", "no YAML front matter"),
    ("unclosed", "---\nname: unclosed\ndescription: x\n# body\n", "not closed"),
    ("bad-yaml", "---\nname: [unterminated\ndescription: x\n---\n", "invalid YAML"),
    ("bad-yaml-tab", "---\nname: a\n\tdescription: x\n---\n", "invalid YAML"),
    ("not-mapping", "---\n- a\n- b\n---\n", "mapping"),
    ("empty-fm", "---\n---\nbody\n", "mapping"),
    ("no-name", "---\ndescription: x\n---\n", "no 'name'"),
    ("no-desc", "---\nname: no-desc\n---\n", "no 'description'"),
    ("empty-desc", "---\nname: empty-desc\ndescription: '  '\n---\n", "empty"),
    ("int-name", "---\nname: 123\ndescription: x\n---\n", "'name' must be a string"),
    ("list-desc", "---\nname: list-desc\ndescription: [a]\n---\n", "must be a string"),
    ("upper", "---\nname: Upper\ndescription: x\n---\n", "invalid name"),
    ("under", "---\nname: snake_case\ndescription: x\n---\n", "invalid name"),
    ("lead", "---\nname: -lead\ndescription: x\n---\n", "invalid name"),
    ("space", "---\nname: has space\ndescription: x\n---\n", "invalid name"),
    ("too-long", f"---\nname: {LONG}\ndescription: x\n---\n", "longer than 64"),
    ("long-desc", "---\nname: long-desc\ndescription: " + "d" * 1025 + "\n---\n", "limit is 1024"),
    ("not-utf8", b"---\nname: x\ndescription: \xff\xfe\n---\n", "UTF-8"),
    ("huge-fm", "---\nname: huge-fm\n" + "# pad\n" * 5000 + "description: x\n---\n", "16384"),
]


@pytest.mark.parametrize(("folder", "raw", "reason"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_skill_skipped_with_warning(
    env: tuple[Path, Path], folder: str, raw: str | bytes, reason: str
) -> None:
    ws, home = env
    path = write_skill(ws_root(ws), folder, raw=raw)
    write_skill(ws_root(ws), "zz-good")
    scan = discover_skills(ws, home)
    assert "zz-good" in scan.names()
    assert folder not in scan.names()
    assert len(scan.warnings) == 1, scan.warnings
    assert str(path) in scan.warnings[0]
    assert reason in scan.warnings[0]


def test_name_at_limits_accepted(env: tuple[Path, Path]) -> None:
    ws, home = env
    write_skill(ws_root(ws), "n64", name="a" * 64, desc="d" * 1024)
    scan = discover_skills(ws, home)
    assert scan.warnings == () and "a" * 64 in scan.names()


def test_duplicate_names_in_one_source(env: tuple[Path, Path]) -> None:
    ws, home = env
    first = write_skill(ws_root(ws), "a-first", name="dup", desc="First.")
    second = write_skill(ws_root(ws), "b-second", name="dup", desc="Second.")
    scan = discover_skills(ws, home)
    skill = scan.get("dup")
    assert skill is not None and skill.description == "First."
    assert len(scan.warnings) == 1
    assert str(second) in scan.warnings[0] and str(first) in scan.warnings[0]
    assert "duplicate" in scan.warnings[0]


def test_huge_skill_file_skipped(env: tuple[Path, Path]) -> None:
    ws, home = env
    path = write_skill(ws_root(ws), "huge", body="x" * (256 * 1024 + 10))
    scan = discover_skills(ws, home)
    assert "huge" not in scan.names()
    assert str(path) in scan.warnings[0] and "too large" in scan.warnings[0]


def test_folder_without_skill_md(env: tuple[Path, Path]) -> None:
    ws, home = env
    (ws_root(ws) / "empty").mkdir(parents=True)
    (ws_root(ws) / "README.md").write_text("not a skill")
    (ws_root(ws) / ".hidden").mkdir()
    scan = discover_skills(ws, home)
    assert len(scan.warnings) == 1
    assert str(ws_root(ws) / "empty") in scan.warnings[0]


def test_skill_md_is_directory_or_broken_symlink(env: tuple[Path, Path]) -> None:
    ws, home = env
    (ws_root(ws) / "dir" / "SKILL.md").mkdir(parents=True)
    (ws_root(ws) / "link").mkdir()
    (ws_root(ws) / "link" / "SKILL.md").symlink_to(ws / "missing.md")
    (ws_root(ws) / "dangling").symlink_to(ws / "nowhere")
    scan = discover_skills(ws, home)
    assert {"dir", "link", "dangling"}.isdisjoint(scan.names())
    text = "\n".join(scan.warnings)
    assert len(scan.warnings) == 3
    assert str(ws_root(ws) / "dir" / "SKILL.md") in text
    assert str(ws_root(ws) / "link" / "SKILL.md") in text
    assert str(ws_root(ws) / "dangling") in text


def test_unreadable_skill_file(env: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ws, home = env
    path = write_skill(ws_root(ws), "locked")
    real_open = Path.open

    def fake_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", fake_open)
    scan = discover_skills(ws, home)
    assert "locked" not in scan.names()
    assert str(path) in scan.warnings[0] and "Permission denied" in scan.warnings[0]


def test_skills_root_is_a_file(env: tuple[Path, Path]) -> None:
    ws, home = env
    (home / "skills").write_text("oops")
    scan = discover_skills(ws, home)
    assert BUNDLED <= set(scan.names())
    assert str(home / "skills") in scan.warnings[0]


def test_discovery_reads_only_front_matter(
    env: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, home = env
    path = write_skill(ws_root(ws), "big", body="y" * 200_000)
    read_sizes: list[int] = []
    real_open = Path.open

    class Spy(io.BufferedReader):
        def read(self, size: int | None = -1, /) -> bytes:
            data = super().read(size)
            read_sizes.append(len(data))
            return data

    def spy_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self == path and mode == "rb":
            return Spy(io.FileIO(os.fspath(self), "rb"))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy_open)
    skills_mod._parse_keyed.cache_clear()
    scan = discover_skills(ws, home)
    assert "big" in scan.names()
    assert 0 < sum(read_sizes) <= 16 * 1024 + 1


def test_cache_sees_edits(env: tuple[Path, Path]) -> None:
    ws, home = env
    path = write_skill(ws_root(ws), "edit", desc="Old.")
    assert discover_skills(ws, home).get("edit") is not None
    path.write_text("---\nname: edit\ndescription: New text here.\n---\n")
    os.utime(path, ns=(1, 1))
    skill = discover_skills(ws, home).get("edit")
    assert skill is not None and skill.description == "New text here."


# -------------------------------------------------------------------- index


def make_scan(n: int, source: str = "user", desc: str = "Does a thing.") -> SkillScan:
    return SkillScan(
        skills=tuple(
            Skill(f"skill-{i:02d}", desc, Path(f"/x/skill-{i:02d}/SKILL.md"), source)  # type: ignore[arg-type]
            for i in range(n)
        ),
        warnings=(),
    )


def test_index_empty() -> None:
    assert skills_index(SkillScan((), ())) == ""


def test_index_lists_all_within_budget(env: tuple[Path, Path]) -> None:
    ws, home = env
    scan = discover_skills(ws, home)
    text = skills_index(scan)
    assert text.startswith("## Skills\n")
    for s in scan.skills:
        assert f"- {s.name}: {s.description}" in text
    assert "more skill" not in text
    assert estimate_tokens(text) <= 600


def test_index_truncated_with_note() -> None:
    scan = make_scan(100)
    text = skills_index(scan, budget_tokens=200)
    assert estimate_tokens(text) <= 200
    listed = [line for line in text.splitlines() if line.startswith("- ")]
    assert 0 < len(listed) < 100
    assert text.endswith(f"({100 - len(listed)} more skills not listed; call skills_list)")


def test_index_uses_given_counter() -> None:
    scan = make_scan(10)
    words = lambda s: len(s.split())  # noqa: E731
    text = skills_index(scan, budget_tokens=40, count=words)
    assert words(text) <= 40
    assert "more skills not listed" in text


def test_index_tiny_budget_still_says_how_many() -> None:
    text = skills_index(make_scan(3), budget_tokens=1)
    assert "(3 more skills not listed; call skills_list)" in text


def test_index_prefers_workspace_and_user_skills_when_truncated() -> None:
    bundled = make_scan(20, "bundled").skills
    mine = Skill("zz-project", "Ours.", Path("/w/SKILL.md"), "workspace")
    text = skills_index(SkillScan((*bundled, mine), ()), budget_tokens=120)
    assert "- zz-project: Ours." in text
    assert "more skills not listed" in text


def test_index_shortens_long_descriptions() -> None:
    text = skills_index(make_scan(1, desc="w" * 1000))
    line = text.splitlines()[-1]
    assert line.endswith("…") and len(line) < 400


def test_skill_request_text() -> None:
    assert 'skill_view(name="review-diff")' in skill_request_text("review-diff")
