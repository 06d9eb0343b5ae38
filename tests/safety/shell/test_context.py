"""The shell analysis where the command runs (a ShellContext): friction removed where it
is provably safe, secrets named by arguments, redirections and globs (issue 15,
findings 3 and the "done when" friction list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.safety.check import check_command
from hermes.safety.policy import ApprovalPolicy
from hermes.safety.shell.analyze import analyze_command
from hermes.safety.shell.context import ShellContext


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / ".ssh").mkdir(parents=True)
    (h / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (h / ".bashrc").write_text("")
    return h


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture
def ws(workspace: Path) -> Path:
    for name in (
        "a.md",
        "b.md",
        "input.txt",
        "package.json",
        ".env",
        "server.key",
        "credentials.json",
        ".npmrc",
        "hermes.db",
        "a",
        "b",
    ):
        (workspace / name).write_text("x\n")
    (workspace / "src").mkdir()
    (workspace / "src" / "x.py").write_text("x\n")
    (workspace / "src" / "y.py").write_text("y\n")
    return workspace


@pytest.fixture
def ctx(ws: Path, env: dict[str, str]) -> ShellContext:
    return ShellContext.create(ws, env=env)


# ---------------------------------------------------------------- friction down

FRICTION = [
    "cd src && ls -la",
    "ls *.md",
    "cat src/*.py | wc -l",
    "diff <(sort a) <(sort b)",
    "[ -f package.json ] && cat package.json",
    'grep foo <<< "$x"',
    "cat < input.txt",
]


@pytest.mark.parametrize("command", FRICTION)
def test_provably_safe_commands_run_without_asking(command: str, ctx: ShellContext) -> None:
    v = analyze_command(command, ctx)
    assert v.read_only, v.reason
    assert v.sensitive is None and v.protected is None


@pytest.mark.parametrize("command", FRICTION)
def test_they_still_ask_without_a_context(command: str) -> None:
    # With no idea where it runs, the analysis stays purely syntactic and strict.
    assert not analyze_command(command).read_only


@pytest.mark.parametrize("command", FRICTION)
def test_they_are_allowed_end_to_end(command: str, ws: Path, env: dict[str, str]) -> None:
    result = check_command(command, ws, ApprovalPolicy(mode="ask"), env=env)
    assert result.decision == "allow", result.reasons


@pytest.mark.parametrize(
    "command",
    [
        "cd src && cd .. && ls",
        "cd ./src && git status",
        "ls src/*.py",
        "head -n 5 *.md",
        "wc -l src/*",
        "echo *.md",
        "find src/* -name '*.py'",
        "[[ -d src ]] || ls",
        '[ -n "$HOME" ] && ls',
        "test -f a.md && cat a.md",
        "grep -n foo <<< 'literal text'",
        "sort < input.txt | uniq -c",
        "comm <(sort a) <(sort b)",
        "ls ~",
        "cat -- *.md",
    ],
)
def test_more_safe_forms(command: str, ctx: ShellContext) -> None:
    v = analyze_command(command, ctx)
    assert v.read_only, v.reason


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("cd / && ls", "cd leaves the workspace (/)"),
        ("cd .. && ls", "cd leaves the workspace (..)"),
        ("cd ~ && ls", "cd leaves the workspace"),
        ("cd", "cd without exactly one folder"),
        ("cd - && ls", "cd - goes back"),
        ("cd src && rm -rf x", "rm is not read-only"),
        ("cat < /etc/hostname", "redirect from /etc/hostname"),
        ("diff <(rm a) b", "rm is not read-only"),
        ("cat >(wc -l)", "process substitution"),
        ("grep x <<< $(id)", "here-string"),
        ("grep x <<< ${x:-$(id)}", "here-string"),
        ("grep x <<< ${!x}", "here-string"),
        ("[ -v 'a[$(id)]' ]", "test -v evaluates an array subscript"),
        ("test -v x", "test -v evaluates an array subscript"),
        ("[ -R x ]", "test -R"),
        ("[[ $x -eq 1 ]]", "arithmetic comparison in [[ ]]"),
        ("[ a > b ]", "> inside [ ] is a redirection"),
        ("[ $x = y ]", "unquoted variable"),
        ("[ -f *.md ]", "glob or tilde in [ ]"),
        ("[ $(id) ]", "command substitution"),
        ("rm *.md", "glob"),
        ("grep *.md a", "pattern or script position"),
        ("sort -o *.md a", "a glob as the value of a sort option"),
        ("env *", "is not read-only"),
        ("git -C * status", "glob"),
        ("sed -n p *.md", None),
    ],
)
def test_what_still_asks(command: str, reason: str | None, ctx: ShellContext) -> None:
    v = analyze_command(command, ctx)
    if reason is None:
        assert v.read_only, v.reason
        return
    assert not v.read_only, v.reason
    assert reason in v.reason, v.reason


def test_cd_inside_then_outside_is_judged_from_every_folder(ctx: ShellContext) -> None:
    # After `cd src`, `cd ../..` leaves the workspace.
    v = analyze_command("cd src; cd ../.. && ls", ctx)
    assert not v.read_only and "leaves the workspace" in v.reason


def test_cd_follows_symlinks_out_of_the_workspace(ws: Path, ctx: ShellContext) -> None:
    (ws / "out").symlink_to("/")
    v = analyze_command("cd out && ls", ctx)
    assert not v.read_only and "leaves the workspace" in v.reason


def test_cdpath_makes_cd_unpredictable(ws: Path, env: dict[str, str]) -> None:
    ctx = ShellContext.create(ws, env={**env, "CDPATH": "/etc"})
    v = analyze_command("cd src && ls", ctx)
    assert not v.read_only and "CDPATH" in v.reason
    assert analyze_command("cd ./src && ls", ctx).read_only


def test_input_redirect_through_a_symlink_out_of_the_workspace(ws: Path, ctx: ShellContext) -> None:
    (ws / "link").symlink_to("/etc/hostname")
    v = analyze_command("cat < link", ctx)
    assert not v.read_only and "redirect from link" in v.reason


def test_a_glob_that_would_expand_to_an_option_asks(ws: Path, ctx: ShellContext) -> None:
    (ws / "-delete").write_text("")
    assert analyze_command("find *", ctx).read_only is False
    (ws / "-delete").unlink()
    (ws / "--pre=sh").write_text("")
    v = analyze_command("rg foo *", ctx)
    assert not v.read_only and "reads as an option" in v.reason


def test_uniq_with_a_glob_is_judged_on_what_it_expands_to(ws: Path, ctx: ShellContext) -> None:
    assert analyze_command("uniq inp*", ctx).read_only  # only input.txt
    v = analyze_command("uniq *.md", ctx)  # a.md b.md: the second is the output file
    assert not v.read_only and "uniq with two file arguments" in v.reason


def test_glob_expansion_is_checked_in_each_cd_target(ws: Path, ctx: ShellContext) -> None:
    (ws / "src" / ".env").write_text("K=v\n")
    v = analyze_command("cd src && cat .e*", ctx)
    assert not v.read_only and ".env" in v.reason


def test_glob_environment_that_changes_bash_globbing_asks(ws: Path, env: dict[str, str]) -> None:
    ctx = ShellContext.create(ws, env={**env, "BASHOPTS": "dotglob"})
    v = analyze_command("cat *", ctx)
    assert not v.read_only and "BASHOPTS" in v.reason


# ---------------------------------------------------------------- finding 3: secrets


FINDING_3 = [
    ("cat .env", ".env"),
    ("cat ~/.ssh/id_rsa", "id_rsa"),
    ("od -c server.key", "server.key"),
    ("jq . credentials.json", "credentials.json"),
    ("sed -n 1,40p .npmrc", ".npmrc"),
    ("head hermes.db | od", "hermes.db"),
]


@pytest.mark.parametrize(("command", "name"), FINDING_3)
def test_finding_3_commands_naming_secrets_ask(
    command: str, name: str, ws: Path, env: dict[str, str]
) -> None:
    result = check_command(command, ws, ApprovalPolicy(mode="ask"), env=env)
    assert result.decision == "ask"
    assert result.sensitive is not None and name in result.sensitive
    assert "may hold secrets" in result.reason
    assert result.always == ()


@pytest.mark.parametrize(("command", "name"), FINDING_3)
def test_finding_3_ask_even_without_a_context(command: str, name: str) -> None:
    v = analyze_command(command)
    assert not v.read_only
    if not command.startswith("cat ~"):  # `~` asks on its own without a context
        assert v.sensitive is not None and name in v.sensitive


@pytest.mark.parametrize(
    "command",
    [
        "cat .e*",
        "cat .[e]nv",
        "cat *.key",
        "head -c 100 ./.env",
        "cat src/../.env",
        "grep -r TOKEN --include='.env*' .",
        "rg -g '.env' TOKEN",
        "cat < .env",
        "bash -c 'cat .env'",
        "timeout 5 cat .env",
        "git show HEAD:.env",
        "git diff --no-index /dev/null .env",
        "diff .env a",
        "xxd .env",
        "python -c 'print(open(\".env\").read())' .env",
        "cat ~/.ssh/*",
        "ls | grep x; tail -f .env",
    ],
)
def test_other_ways_of_naming_a_secret_ask(command: str, ctx: ShellContext) -> None:
    v = analyze_command(command, ctx)
    assert not v.read_only, v.reason


def test_a_symlink_to_a_secret_asks(ws: Path, home: Path, ctx: ShellContext) -> None:
    (ws / "notes.txt").symlink_to(home / ".ssh" / "id_rsa")
    v = analyze_command("cat notes.txt", ctx)
    assert not v.read_only and v.sensitive is not None and "SSH private key" in v.sensitive


@pytest.mark.parametrize(
    "command",
    [
        "ls -la .env",
        "ls ~/.ssh",
        "stat .env",
        "find . -name .env",
        "[ -f .env ] && echo yes",
        "grep -rn API_KEY src",
        "echo .env",
        "cat .env.example",
        "cat ~/.ssh/id_rsa.pub",
        "git log -S secret",
        "git log --grep=credentials",
    ],
)
def test_naming_without_reading_content_is_fine(command: str, ctx: ShellContext) -> None:
    v = analyze_command(command, ctx)
    assert v.read_only, v.reason


def test_secret_reads_ask_in_yolo_too(ws: Path, env: dict[str, str]) -> None:
    result = check_command("cat .env", ws, ApprovalPolicy(mode="yolo"), env=env)
    assert result.decision == "ask"


def test_grants_do_not_cover_secret_reads(ws: Path, env: dict[str, str]) -> None:
    policy = ApprovalPolicy(mode="ask")
    policy.grant(("terminal:cat",))
    assert check_command("cat README.md", ws, policy, env=env).decision == "allow"
    assert check_command("cat .env", ws, policy, env=env).decision == "ask"


# ---------------------------------------------------------------- protected writes


@pytest.mark.parametrize(
    "command",
    [
        "echo x > .git/hooks/pre-commit",
        "cp evil .GIT/hooks/post-checkout",
        "chmod +x .git/hooks/post-index-change",
        "ln -s ../../x .git/hooks/pre-push",
        "tee .HERMES/config.yaml",
        "mv x sub/.git",
        "git config core.fsmonitor 'touch /tmp/x'",
        "git config --global alias.x '!sh -c id'",
        "git config filter.x.clean cat",
        "bash -c 'echo > .git/config'",
        "dd if=x of=.git/hooks/pre-commit",
    ],
)
def test_writes_to_protected_paths_ask_even_in_yolo(
    command: str, ws: Path, env: dict[str, str]
) -> None:
    result = check_command(command, ws, ApprovalPolicy(mode="yolo"), env=env)
    assert result.decision == "ask", result.reasons
    assert result.protected is not None


def test_ordinary_git_config_writes_follow_the_mode(ws: Path, env: dict[str, str]) -> None:
    result = check_command("git config user.name x", ws, ApprovalPolicy(mode="yolo"), env=env)
    assert result.decision == "allow"


def test_no_grant_is_offered_for_a_glob_command(ws: Path, env: dict[str, str]) -> None:
    # "always" for `rg foo *` must not cover it once a file named `--pre=sh` appears.
    (ws / "--pre=sh").write_text("")
    result = check_command("rg foo *", ws, ApprovalPolicy(mode="ask"), env=env)
    assert result.decision == "ask" and result.always == ()
    assert not analyze_command("ls *.md", ShellContext.create(ws, env=env)).plain


def test_reasons_are_printable_one_liners(ws: Path, ctx: ShellContext) -> None:
    (ws / "a\x1bb.env").write_text("")
    v = analyze_command("cat a*.env", ctx)
    assert not v.read_only
    assert v.reason.isprintable() and v.sensitive is not None and v.sensitive.isprintable()


# ---------------------------------------------------------------- programs the workspace supplies


def test_a_program_found_in_the_workspace_asks(ws: Path, env: dict[str, str]) -> None:
    # An activated virtualenv puts a workspace folder first on $PATH.
    venv_bin = ws / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    ctx = ShellContext.create(ws, env={**env, "PATH": f"{venv_bin}:/usr/bin:/bin"})
    assert analyze_command("ls", ctx).read_only
    fake = venv_bin / "ls"
    fake.write_text("#!/bin/sh\ntouch /tmp/pwned\n")
    fake.chmod(0o755)
    v = analyze_command("ls", ctx)
    assert not v.read_only and "inside the workspace" in v.reason
    assert analyze_command("echo hi", ctx).read_only  # a builtin: no lookup


def test_writing_into_a_path_folder_in_the_workspace_is_protected(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hermes.safety.classify import classify
    from tests.safety.test_paths import WRITE

    venv_bin = ws / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    monkeypatch.setenv("PATH", f"{venv_bin}:/usr/bin:/bin")
    c = classify(WRITE, "write_file", {"path": ".venv/bin/cat", "content": "x"}, ws)
    assert c.facts.protected is not None and "$PATH" in c.facts.protected
    assert ApprovalPolicy(mode="auto-edit").decide(c.facts).action == "ask"


def test_relative_path_entries_make_programs_unprovable(ws: Path, env: dict[str, str]) -> None:
    ctx = ShellContext.create(ws, env={**env, "PATH": ".:/usr/bin:/bin"})
    v = analyze_command("ls", ctx)
    assert not v.read_only and "relative entry" in v.reason


def test_bash_env_in_the_workspace_asks(ws: Path, env: dict[str, str]) -> None:
    ctx = ShellContext.create(ws, env={**env, "BASH_ENV": str(ws / "rc")})
    v = analyze_command("ls", ctx)
    assert not v.read_only and "BASH_ENV" in v.reason
