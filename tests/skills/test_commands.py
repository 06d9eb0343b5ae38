"""Custom slash commands: discovery from the user's and a trusted workspace's folders,
namespaces, front matter, arguments, and names that would shadow a built-in."""

from __future__ import annotations

from pathlib import Path

from hermes.skills.commands import (
    CommandScan,
    CustomCommand,
    discover_commands,
    expand,
    expand_line,
    workspace_trusted,
)
from hermes.trust.workspace import trust_folder

BUILT_IN = ("/help", "/model", "/quit")

REVIEW = """---
description: Review a pull request
argument-hint: "[pr-number] [priority]"
model: review-model
allowed-tools: Bash(git push:*)
---
Review PR #$1 with priority $2. Focus: $ARGUMENTS
See @src/main.py
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_user_and_workspace_commands_with_namespaces(workspace: Path, hermes_home: Path) -> None:
    review = write(hermes_home / "commands" / "review.md", REVIEW)
    test = write(workspace / ".hermes" / "commands" / "frontend" / "test.md", "Run the UI tests\n")
    write(hermes_home / "commands" / "notes.txt", "not a command")
    write(hermes_home / "commands" / ".hidden.md", "hidden")

    scan = discover_commands(workspace, reserved=BUILT_IN, trusted=True)
    assert scan == CommandScan(
        (
            CustomCommand(
                "/frontend:test", "Run the UI tests", "Run the UI tests", test, "workspace"
            ),
            CustomCommand(
                "/review",
                "Review a pull request",
                "Review PR #$1 with priority $2. Focus: $ARGUMENTS\nSee @src/main.py",
                review,
                "user",
                argument_hint="[pr-number] [priority]",
                model="review-model",
            ),
        ),
        (),
    )
    assert scan.help() == {
        "/frontend:test": "Run the UI tests (workspace)",
        "/review": "Review a pull request [pr-number] [priority] (user)",
    }


def test_arguments_are_substituted(workspace: Path, hermes_home: Path) -> None:
    write(hermes_home / "commands" / "review.md", REVIEW)
    scan = discover_commands(workspace, trusted=False)
    expanded = expand_line(scan, "/review", '42 high "and the docs"')
    assert expanded is not None
    assert expanded.prompt == (
        'Review PR #42 with priority high. Focus: 42 high "and the docs"\nSee @src/main.py'
    )
    assert expand(expanded.command, "") == "Review PR # with priority . Focus: \nSee @src/main.py"
    assert expand_line(scan, "/missing", "x") is None


def test_a_body_without_placeholders_gets_the_arguments_appended(
    workspace: Path, hermes_home: Path
) -> None:
    write(hermes_home / "commands" / "fix.md", "Fix the failing test.\n")
    command = discover_commands(workspace, trusted=False).commands[0]
    assert expand(command, "") == "Fix the failing test."
    assert expand(command, "tests/test_x.py") == (
        "Fix the failing test.\n\nARGUMENTS: tests/test_x.py"
    )


def test_workspace_commands_need_a_trusted_folder(workspace: Path, hermes_home: Path) -> None:
    write(workspace / ".hermes" / "commands" / "deploy.md", "Deploy to production\n")
    assert not workspace_trusted(workspace)
    assert discover_commands(workspace).commands == ()  # the trust records decide

    trust_folder(workspace)
    assert workspace_trusted(workspace)
    assert [c.name for c in discover_commands(workspace).commands] == ["/deploy"]

    # A changed file makes the folder untrusted again until the user says so.
    write(workspace / ".hermes" / "commands" / "deploy.md", "Deploy and also rm -rf\n")
    assert discover_commands(workspace).commands == ()


def test_a_name_shadowing_a_built_in_is_refused(workspace: Path, hermes_home: Path) -> None:
    helper = write(hermes_home / "commands" / "help.md", "My help\n")
    write(hermes_home / "commands" / "Helpful.md", "Be helpful\n")
    scan = discover_commands(workspace, reserved=BUILT_IN, trusted=False)
    assert [c.name for c in scan.commands] == ["/helpful"]
    assert scan.warnings == (
        f"refused command /help from {helper}: it would shadow the built-in /help; rename the file",
    )


def test_the_users_command_wins_and_broken_files_are_skipped_with_a_reason(
    workspace: Path, hermes_home: Path
) -> None:
    write(hermes_home / "commands" / "deploy.md", "Mine\n")
    theirs = write(workspace / ".hermes" / "commands" / "deploy.md", "Theirs\n")
    empty = write(hermes_home / "commands" / "empty.md", "---\ndescription: nothing\n---\n\n")
    bad = write(
        hermes_home / "commands" / "bad.md",
        "---\ndescription: [unclosed\nno colon here\n---\nbody\n",
    )
    secret = workspace / ".hermes" / "commands" / "secret.md"
    secret.symlink_to(hermes_home / "commands" / "deploy.md")

    scan = discover_commands(workspace, trusted=True)
    assert [(c.name, c.body) for c in scan.commands] == [("/deploy", "Mine")]
    assert scan.warnings[0].startswith(
        f"skipped command /bad from {bad}: invalid YAML in front matter: "
    )
    assert scan.warnings[1:] == (
        f"skipped command /empty from {empty}: the body (the prompt) is empty",
        f"skipped command /deploy from {theirs}: {hermes_home / 'commands' / 'deploy.md'} "
        "defines it already",
        f"skipped command /secret from {secret}: it is a symlink",
    )


def test_claude_code_front_matter_that_yaml_cannot_read_still_works(
    workspace: Path, hermes_home: Path
) -> None:
    write(
        hermes_home / "commands" / "assign.md",
        "---\nargument-hint: [pr-number] [priority] [assignee]\ndescription: Assign a PR\n---\n"
        "Assign PR $1 ($2) to $3\n",
    )
    (command,) = discover_commands(workspace, trusted=False).commands
    assert (command.argument_hint, command.description) == (
        "[pr-number] [priority] [assignee]",
        "Assign a PR",
    )
    assert expand(command, "7 high bob") == "Assign PR 7 (high) to bob"
