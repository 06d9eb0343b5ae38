"""The skills_list and skill_view tools, including path confinement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hermes.config import ToolLimits
from hermes.execution.spec import ToolContext, ToolError, ToolResult, ToolSpec
from hermes.skills.catalog import discover_skills, view_skill
from hermes.skills.tools import skill_tools


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with one skill ``demo`` (plus files), and an outside secret."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HERMES_HOME", str(home))
    ws = tmp_path / "ws"
    skill = ws / ".hermes" / "skills" / "demo"
    (skill / "ref").mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: demo\ndescription: A demo skill.\n---\n# Demo\nDo the demo.\n"
    )
    (skill / "notes.md").write_text("notes inside")
    (skill / "ref" / "deep.txt").write_text("deep inside")
    other = ws / ".hermes" / "skills" / "other"
    other.mkdir()
    (other / "SKILL.md").write_text("---\nname: other\ndescription: Another.\n---\nother body\n")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    return ws


def tools() -> dict[str, ToolSpec]:
    return {t.name: t for t in skill_tools()}


def call(ws: Path, tool: str, **args: object) -> ToolResult:
    return tools()[tool].handler(ToolContext(workspace=ws), args)


def skill_dir(ws: Path) -> Path:
    return ws / ".hermes" / "skills" / "demo"


def test_specs() -> None:
    specs = skill_tools()
    assert [s.name for s in specs] == ["skills_list", "skill_view"]
    assert all(s.tool_class == "read" for s in specs)
    for s in specs:
        schema = s.schema()
        json.dumps(schema)
        assert schema["function"]["parameters"]["type"] == "object"
        assert s.description.count(".") == 1
    view = tools()["skill_view"].schema()["function"]["parameters"]
    assert view["required"] == ["name"]
    assert set(view["properties"]) == {"name", "file"}


def test_skills_list(ws: Path) -> None:
    result = call(ws, "skills_list")
    assert result.ok
    assert "- demo: A demo skill." in result.content
    assert "- other: Another." in result.content
    assert "- python-tests: " in result.content
    assert "Skipped" not in result.content


def test_skills_list_reports_broken(ws: Path) -> None:
    bad = ws / ".hermes" / "skills" / "bad"
    bad.mkdir()
    (bad / "SKILL.md").write_text("no front matter")
    result = call(ws, "skills_list")
    assert "Skipped (broken)" in result.content and str(bad / "SKILL.md") in result.content


def test_view_body(ws: Path) -> None:
    result = call(ws, "skill_view", name="demo")
    assert result.ok
    assert "# Demo\nDo the demo." in result.content
    assert "description: A demo skill." not in result.content  # front matter stripped
    assert "notes.md" in result.content and "ref/deep.txt" in result.content


def test_view_file(ws: Path) -> None:
    assert call(ws, "skill_view", name="demo", file="notes.md").content == "notes inside"
    assert call(ws, "skill_view", name="demo", file="ref/deep.txt").content == "deep inside"
    assert call(ws, "skill_view", name="demo", file="./ref/../notes.md").content == "notes inside"


def test_view_bundled_checklist(ws: Path) -> None:
    body = call(ws, "skill_view", name="review-diff").content
    assert "checklist.md" in body
    checklist = call(ws, "skill_view", name="review-diff", file="checklist.md").content
    assert "# Review checklist" in checklist


def test_unknown_skill_lists_names(ws: Path) -> None:
    with pytest.raises(ToolError) as err:
        call(ws, "skill_view", name="nope")
    assert "unknown skill 'nope'" in str(err.value)
    assert "demo" in str(err.value) and "other" in str(err.value)


def test_unknown_skill_when_none() -> None:
    from hermes.skills.catalog import SkillScan

    with pytest.raises(ToolError, match="none are installed"):
        view_skill(SkillScan((), ()), "x")


@pytest.mark.parametrize(
    "file",
    [
        "../other/SKILL.md",
        "../../../../secret.txt",
        "ref/../../other/SKILL.md",
        "..",
        "../demo/../..",
    ],
)
def test_dotdot_rejected(ws: Path, file: str) -> None:
    with pytest.raises(ToolError, match="outside the folder of skill 'demo'"):
        call(ws, "skill_view", name="demo", file=file)


def test_absolute_paths_rejected(ws: Path, tmp_path: Path) -> None:
    for file in [
        str(tmp_path / "secret.txt"),
        "/etc/passwd",
        str(skill_dir(ws) / "notes.md"),
        "~/x",
    ]:
        with pytest.raises(ToolError, match="absolute path"):
            call(ws, "skill_view", name="demo", file=file)


def test_symlinked_dir_pointing_outside(ws: Path, tmp_path: Path) -> None:
    (skill_dir(ws) / "escape").symlink_to(tmp_path)
    with pytest.raises(ToolError, match="outside"):
        call(ws, "skill_view", name="demo", file="escape/secret.txt")
    assert "escape" not in call(ws, "skill_view", name="demo").content


def test_symlinked_file_pointing_outside(ws: Path, tmp_path: Path) -> None:
    (skill_dir(ws) / "link.md").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ToolError, match="outside"):
        call(ws, "skill_view", name="demo", file="link.md")
    assert "link.md" not in call(ws, "skill_view", name="demo").content


def test_symlink_to_sibling_prefix_dir(ws: Path) -> None:
    """realpath containment, not string prefix: demo-evil starts with 'demo'."""
    evil = skill_dir(ws).parent / "demo-evil"
    evil.mkdir()
    (evil / "x.md").write_text("evil")
    (skill_dir(ws) / "sib").symlink_to(evil / "x.md")
    with pytest.raises(ToolError, match="outside"):
        call(ws, "skill_view", name="demo", file="sib")


def test_symlink_inside_allowed(ws: Path) -> None:
    (skill_dir(ws) / "alias.md").symlink_to(skill_dir(ws) / "notes.md")
    assert call(ws, "skill_view", name="demo", file="alias.md").content == "notes inside"


def test_symlinked_skill_folder_works(ws: Path, tmp_path: Path) -> None:
    real = tmp_path / "shared" / "linked"
    real.mkdir(parents=True)
    (real / "SKILL.md").write_text("---\nname: linked\ndescription: Linked in.\n---\nlinked body\n")
    (real / "extra.md").write_text("extra")
    (ws / ".hermes" / "skills" / "linked").symlink_to(real)
    assert "linked body" in call(ws, "skill_view", name="linked").content
    assert call(ws, "skill_view", name="linked", file="extra.md").content == "extra"
    with pytest.raises(ToolError, match="outside"):
        call(ws, "skill_view", name="linked", file="../../secret.txt")


def test_missing_file_and_directory(ws: Path) -> None:
    with pytest.raises(ToolError, match=r"'missing\.md' does not exist in skill 'demo'") as err:
        call(ws, "skill_view", name="demo", file="missing.md")
    assert "notes.md" in str(err.value)
    with pytest.raises(ToolError, match="is a directory"):
        call(ws, "skill_view", name="demo", file="ref")


def test_binary_file_rejected(ws: Path) -> None:
    (skill_dir(ws) / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ToolError, match="binary"):
        call(ws, "skill_view", name="demo", file="blob.bin")


def test_large_file_truncated(ws: Path) -> None:
    (skill_dir(ws) / "big.md").write_text("z" * 5000)
    ctx = ToolContext(workspace=ws, limits=ToolLimits(max_output_bytes=1000))
    result = tools()["skill_view"].handler(ctx, {"name": "demo", "file": "big.md"})
    assert result.content.startswith("z" * 1000)
    assert "[truncated: showing the first 1000 of 5000 bytes]" in result.content


def test_bad_arguments(ws: Path) -> None:
    with pytest.raises(ToolError, match="'name' is required"):
        call(ws, "skill_view")
    with pytest.raises(ToolError, match="'file' must be a string"):
        call(ws, "skill_view", name="demo", file=3)
    with pytest.raises(ToolError, match="invalid file name"):
        call(ws, "skill_view", name="demo", file="a\x00b")


def test_view_skill_md_by_name_and_empty_file(ws: Path) -> None:
    scan = discover_skills(ws)
    assert "Do the demo." in view_skill(scan, "demo", "SKILL.md")
    assert "Do the demo." in view_skill(scan, "demo", "")
