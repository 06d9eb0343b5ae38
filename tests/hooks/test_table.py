"""Which hooks an event runs: matchers by hermes' or Claude Code's tool names."""

from __future__ import annotations

from pathlib import Path

from hermes.config import parse_config
from hermes.hooks.names import matcher_names
from hermes.hooks.table import HookSpec, HookTable


def table(hermes_home: Path) -> HookTable:
    cfg = parse_config(
        {
            "hooks": {
                "PreToolUse": [
                    {"matcher": "Bash", "hooks": [{"command": "bash-guard"}]},
                    {"matcher": "Edit|Write", "hooks": [{"command": "fmt"}]},
                    {"matcher": "mcp__.*", "hooks": [{"command": "mcp-audit"}]},
                    {"matcher": "*", "hooks": [{"command": "log"}, {"command": "fmt"}]},
                ],
                "SessionStart": [{"matcher": "resume", "hooks": [{"command": "on-resume"}]}],
                "Stop": [{"matcher": "ignored", "hooks": [{"command": "stop"}]}],
            }
        },
        str(hermes_home / "config.yaml"),
    )
    cfg = parse_config(
        {"hooks": {"PreToolUse": [{"matcher": "", "hooks": [{"command": "ws"}]}]}},
        "/repo/.hermes/config.yaml",
        cfg,
    )
    return HookTable(cfg.hooks)


def commands(specs: list[HookSpec]) -> list[str]:
    return [s.command for s in specs]


def test_matchers_take_either_name(hermes_home: Path) -> None:
    t = table(hermes_home)
    assert commands(t.select("PreToolUse", matcher_names("terminal"))) == [
        "bash-guard",
        "log",
        "fmt",
        "ws",
    ]
    assert commands(t.select("PreToolUse", matcher_names("patch"))) == ["fmt", "log", "ws"]
    assert commands(t.select("PreToolUse", matcher_names("write_file"))) == ["fmt", "log", "ws"]
    assert commands(t.select("PreToolUse", matcher_names("mcp__gh__issue"))) == [
        "mcp-audit",
        "log",
        "fmt",
        "ws",
    ]
    # A matcher matches the whole name: "Edit" is not "EditNotebook".
    assert commands(t.select("PreToolUse", ("EditNotebook",))) == ["log", "fmt", "ws"]


def test_non_tool_events_match_their_subject_or_ignore_the_matcher(hermes_home: Path) -> None:
    t = table(hermes_home)
    assert commands(t.select("SessionStart", ("startup",))) == []
    assert commands(t.select("SessionStart", ("resume",))) == ["on-resume"]
    assert commands(t.select("Stop")) == ["stop"]
    assert not t.configured("Notification") and t.configured("Stop")


def test_only_the_users_own_file_is_user_level(hermes_home: Path) -> None:
    t = table(hermes_home)
    specs = t.select("PreToolUse", ("terminal",))
    assert [t.user_level(s) for s in specs] == [True, True, False]
