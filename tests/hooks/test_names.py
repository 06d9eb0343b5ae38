"""hermes' tools as Claude Code's scripts know them."""

from __future__ import annotations

from pathlib import Path

from hermes.hooks.names import hook_tool_input, hook_tool_name, hook_tool_response, matcher_names

WS = Path("/work/repo")


def test_names() -> None:
    assert [hook_tool_name(t) for t in ("terminal", "read_file", "write_file", "patch")] == [
        "Bash",
        "Read",
        "Write",
        "Edit",
    ]
    assert hook_tool_name("search_files", {"pattern": "x"}) == "Grep"
    assert hook_tool_name("search_files", {"pattern": "*.py", "target": "files"}) == "Glob"
    assert hook_tool_name("skill_view") == "skill_view"
    assert matcher_names("mcp__gh__list") == ("mcp__gh__list",)
    assert matcher_names("terminal") == ("terminal", "Bash")


def test_inputs_keep_hermes_keys_and_add_claude_codes() -> None:
    assert hook_tool_input("terminal", {"command": "ls"}, WS) == {"command": "ls"}
    assert hook_tool_input(
        "patch", {"path": "src/a.py", "old_string": "a", "new_string": "b"}, WS
    ) == {
        "path": "src/a.py",
        "old_string": "a",
        "new_string": "b",
        "file_path": "/work/repo/src/a.py",
    }
    assert hook_tool_input("read_file", {"path": "/etc/hosts"}, WS)["file_path"] == "/etc/hosts"
    assert hook_tool_input("search_files", {"pattern": "TODO", "file_glob": "*.py"}, WS) == {
        "pattern": "TODO",
        "file_glob": "*.py",
        "glob": "*.py",
        "path": "/work/repo",
    }


def test_responses() -> None:
    assert hook_tool_response(
        "write_file", {"path": "a.txt"}, "wrote a.txt", ok=True, exit_code=None, workspace=WS
    ) == {"output": "wrote a.txt", "success": True, "filePath": "/work/repo/a.txt"}
    assert hook_tool_response(
        "terminal", {"command": "ls"}, "a\nb\n", ok=True, exit_code=0, workspace=WS
    ) == {
        "output": "a\nb\n",
        "success": True,
        "stdout": "a\nb\n",
        "stderr": "",
        "exit_code": 0,
        "interrupted": False,
    }
