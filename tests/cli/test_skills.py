"""``hermes skills list|show`` through ``cli_skills.register`` on a bare parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from hermes.cli.skills import register


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hermes")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code = args.func(args)
    assert isinstance(code, int)
    return code


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HERMES_HOME", str(home))
    ws = tmp_path / "ws"
    skill = ws / ".hermes" / "skills" / "mine"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: mine\ndescription: My skill.\n---\nMy body.\n")
    (skill / "extra.md").write_text("extra text")
    monkeypatch.chdir(ws)
    return ws


def test_list_text(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skills", "list"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    mine = next(line for line in lines if line.startswith("mine "))
    assert "workspace" in mine and "My skill." in mine
    assert any(line.startswith("python-tests ") and "bundled" in line for line in lines)


def test_bare_skills_lists(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skills"]) == 0
    assert "mine " in capsys.readouterr().out


def test_list_json(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skills", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {r["name"]: r for r in rows}
    assert by["mine"] == {
        "name": "mine",
        "description": "My skill.",
        "source": "workspace",
        "path": str(ws / ".hermes" / "skills" / "mine" / "SKILL.md"),
    }
    assert by["git-workflow"]["source"] == "bundled"


def test_list_with_directory_flag(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["skills", "list", "--json"]) == 0
    assert "mine" not in {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert run(["skills", "list", "--json", "-C", str(ws)]) == 0
    assert "mine" in {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert run(["skills", "show", "mine", "-C", str(ws)]) == 0
    assert "My body." in capsys.readouterr().out


def test_warnings_go_to_stderr(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = ws / ".hermes" / "skills" / "bad"
    bad.mkdir()
    (bad / "SKILL.md").write_text("---\nname: Bad Name\ndescription: x\n---\n")
    assert run(["skills", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert "warning:" in err and str(bad / "SKILL.md") in err


def test_show(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skills", "show", "mine"]) == 0
    out = capsys.readouterr().out
    assert "My body." in out and "extra.md" in out
    assert run(["skills", "show", "mine", "extra.md"]) == 0
    assert capsys.readouterr().out.strip() == "extra text"


def test_show_unknown_exits_2(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skills", "show", "nope"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "unknown skill 'nope'" in err and "mine" in err


def test_show_file_outside_exits_2(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skills", "show", "mine", "../../x"]) == 2
    assert "outside" in capsys.readouterr().err


def test_list_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HERMES_HOME", str(tmp_path))
    monkeypatch.setattr("hermes.skills.catalog.bundled_skills_dir", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert run(["skills", "list"]) == 0
    assert capsys.readouterr().out.strip() == "No skills found."
    assert run(["skills", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
