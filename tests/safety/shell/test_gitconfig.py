"""git commands count as read-only only when the configuration git would read names no
program they could start (issue 15, finding 2 and its generalisation)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hermes.safety.check import check_command
from hermes.safety.policy import ApprovalPolicy
from hermes.safety.shell.analyze import analyze_command
from hermes.safety.shell.context import ShellContext
from hermes.safety.shell.gitconfig import (
    ConfigUnreadable,
    discover,
    effective_entries,
    parse_config,
)
from tests.support import git_env

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return git_env(tmp_path / "home")


def git(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture
def repo(workspace: Path, env: dict[str, str]) -> Path:
    assert git(workspace, env, "init", "-q").returncode == 0
    (workspace / "a.txt").write_text("a\n")
    git(workspace, env, "add", "a.txt")
    assert git(workspace, env, "commit", "-qm", "one").returncode == 0
    return workspace


def ctx_for(ws: Path, env: dict[str, str], cwd: Path | None = None) -> ShellContext:
    return ShellContext.create(ws, cwd, env)


def plant_gitfile_attack(ws: Path, marker: Path) -> None:
    """What finding 2's model did: a git folder with core.fsmonitor, and sub/.git
    pointing at it (both written with write_file in auto-edit mode)."""
    evil = ws / "evil"
    shutil.copytree(ws / ".git", evil)
    with (evil / "config").open("a") as f:
        f.write(f'[core]\n\tfsmonitor = "touch {marker}; false"\n')
    (ws / "sub").mkdir()
    (ws / "sub" / ".git").write_text("gitdir: ../evil\n")


# ---------------------------------------------------------------- finding 2


def test_finding_2_the_attack_is_real(repo: Path, env: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    plant_gitfile_attack(repo, marker)
    git(repo / "sub", env, "status")
    assert marker.exists(), "git ran core.fsmonitor from the gitfile target"


def test_finding_2_git_status_in_sub_asks_in_auto_edit(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    plant_gitfile_attack(repo, tmp_path / "pwned")
    policy = ApprovalPolicy(mode="auto-edit")
    for command, workdir in (("git status", "sub"), ("cd sub && git status", None)):
        result = check_command(command, repo, policy, workdir=workdir, env=env)
        assert result.decision == "ask", result.reasons
        assert "core.fsmonitor" in result.reason and "evil/config" in result.reason
    # The same command in the workspace root, whose .git is ordinary, runs.
    assert check_command("git status", repo, policy, env=env).decision == "allow"


def test_finding_2_writing_the_gitfile_asks(repo: Path) -> None:
    from hermes.safety.classify import classify
    from tests.safety.test_paths import WRITE

    c = classify(WRITE, "write_file", {"path": "sub/.git", "content": "gitdir: ../e"}, repo)
    assert ApprovalPolicy(mode="auto-edit").decide(c.facts).action == "ask"


def test_a_git_folder_outside_any_dot_git_folder_asks(repo: Path, env: dict[str, str]) -> None:
    # Even with a harmless config: its hooks (post-index-change runs on `git status`)
    # and config were writable without asking.
    shutil.copytree(repo / ".git", repo / "plain")
    (repo / "sub").mkdir()
    (repo / "sub" / ".git").write_text("gitdir: ../plain\n")
    v = analyze_command("git -C sub status", ctx_for(repo, env))
    assert not v.read_only and "not a .git folder" in v.reason


def test_a_bare_repository_in_a_subfolder_is_found(repo: Path, env: dict[str, str]) -> None:
    bare = repo / "b"
    shutil.copytree(repo / ".git", bare)
    with (bare / "config").open("a") as f:
        f.write('[diff "x"]\n\ttextconv = "sh -c id"\n')
    v = analyze_command("cd b && git log -p", ctx_for(repo, env))
    assert not v.read_only and "diff.x.textconv" in v.reason


# ---------------------------------------------------------------- repository-side config


@pytest.mark.parametrize(
    ("snippet", "key"),
    [
        ("[core]\n\tfsmonitor = ./watch.sh\n", "core.fsmonitor"),
        ("[core]\n\thooksPath = .husky/_\n", "core.hookspath"),
        ("[core]\n\tpager = less\n", "core.pager"),
        ("[core]\n\teditor = vim\n", "core.editor"),
        ("[core]\n\tsshCommand = ssh -i k\n", "core.sshcommand"),
        ("[pager]\n\tstatus = sh -c id\n", "pager.status"),
        ("[diff]\n\texternal = ./d.sh\n", "diff.external"),
        ('[diff "img"]\n\ttextconv = exiftool\n', "diff.img.textconv"),
        ('[diff "x"]\n\tcommand = ./x\n', "diff.x.command"),
        ('[merge "m"]\n\tdriver = ./m %O %A %B\n', "merge.m.driver"),
        ('[filter "f"]\n\tclean = ./clean\n', "filter.f.clean"),
        ('[filter "f"]\n\tprocess = ./p\n', "filter.f.process"),
        ("[alias]\n\tst = !sh -c id\n", "alias.st"),
        ("[credential]\n\thelper = ./h\n", "credential.helper"),
        ('[credential "https://x"]\n\thelper = ./h\n', "credential.https://x.helper"),
        ("[gpg]\n\tprogram = ./g\n", "gpg.program"),
        ('[gpg "ssh"]\n\tprogram = ./g\n', "gpg.ssh.program"),
        ("[core]\n\taskPass = ./a\n", "core.askpass"),
        ("[sequence]\n\teditor = ./e\n", "sequence.editor"),
        ("[uploadpack]\n\tpackObjectsHook = ./h\n", "uploadpack.packobjectshook"),
        ("[core]\nfsmonitor=x", "core.fsmonitor"),
        ("[core] fsmonitor = x\n", "core.fsmonitor"),
        ("[CORE]\n\tFSMONITOR = x\n", "core.fsmonitor"),
        ("[core.x]\n\ttextconv = y\n", "core.x.textconv"),
    ],
)
def test_repository_config_naming_a_program_asks(
    snippet: str, key: str, repo: Path, env: dict[str, str]
) -> None:
    with (repo / ".git" / "config").open("a") as f:
        f.write(snippet)
    v = analyze_command("git status", ctx_for(repo, env))
    assert not v.read_only, v.reason
    assert key in v.reason.lower(), v.reason


@pytest.mark.parametrize(
    "snippet",
    [
        "[core]\n\tfsmonitor = false\n",
        "[core]\n\tfsmonitor = true\n",
        "[pager]\n\tlog = false\n",
        "[alias]\n\tst = status\n",
        '[remote "origin"]\n\turl = https://example.com/x.git\n',
        "[user]\n\tname = x # a comment\n",
        "# only a comment\n",
    ],
)
def test_repository_config_naming_no_program_is_fine(
    snippet: str, repo: Path, env: dict[str, str]
) -> None:
    with (repo / ".git" / "config").open("a") as f:
        f.write(snippet)
    assert analyze_command("git status", ctx_for(repo, env)).read_only


def test_includes_are_followed_into_the_workspace(repo: Path, env: dict[str, str]) -> None:
    with (repo / ".git" / "config").open("a") as f:
        f.write("[include]\n\tpath = ../project.gitconfig\n")
    (repo / "project.gitconfig").write_text("[include]\n\tpath = more.gitconfig\n")
    (repo / "more.gitconfig").write_text('[filter "x"]\n\tsmudge = ./s\n')
    v = analyze_command("git status", ctx_for(repo, env))
    assert not v.read_only and "more.gitconfig" in v.reason


def test_include_if_is_followed_whatever_its_condition(repo: Path, env: dict[str, str]) -> None:
    with (repo / ".git" / "config").open("a") as f:
        f.write('[includeIf "onbranch:never-*"]\n\tpath = ../x.gitconfig\n')
    (repo / "x.gitconfig").write_text("[core]\n\tfsmonitor = ./w\n")
    assert not analyze_command("git diff", ctx_for(repo, env)).read_only


def test_unparseable_config_fails_closed(repo: Path, env: dict[str, str]) -> None:
    with (repo / ".git" / "config").open("a") as f:
        f.write('[core\n\tfsmonitor = "x\n')
    v = analyze_command("git status", ctx_for(repo, env))
    assert not v.read_only and "cannot check the git configuration" in v.reason


def test_unreadable_gitfile_fails_closed(repo: Path, env: dict[str, str]) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / ".git").write_text("not a gitfile\n")
    v = analyze_command("git -C sub log", ctx_for(repo, env))
    assert not v.read_only and "cannot check" in v.reason


def test_linked_worktrees_read_the_common_config(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    wt = repo / "wt"
    assert git(repo, env, "worktree", "add", "-q", str(wt)).returncode == 0
    assert analyze_command("git status", ctx_for(repo, env, wt)).read_only
    with (repo / ".git" / "config").open("a") as f:
        f.write("[core]\n\tfsmonitor = ./w\n")
    v = analyze_command("git status", ctx_for(repo, env, wt))
    assert not v.read_only and "core.fsmonitor" in v.reason


# ---------------------------------------------------------------- the user's own config


def write_global(env: dict[str, str], text: str) -> None:
    Path(env["HOME"], ".gitconfig").write_text(text)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ('[filter "x"]\n\tclean = ./c\n', "git status"),
        ("[core]\n\tfsmonitor = watchman-hook\n", "git status"),
        ("[core]\n\thooksPath = .githooks\n", "git status"),
        ("[diff]\n\texternal = difft\n", "git diff"),
        ('[diff "pdf"]\n\ttextconv = pdftotext\n', "git log -p"),
        ("[gpg]\n\tprogram = ./sign\n", "git log --show-signature"),
        ("[gpg]\n\tprogram = ./sign\n[log]\n\tshowSignature = true\n", "git log"),
        ("[include]\n\tpath = ~/extra.gitconfig\n", None),
    ],
)
def test_user_config_counts_where_the_subcommand_can_start_it(
    text: str, command: str | None, repo: Path, env: dict[str, str]
) -> None:
    write_global(env, text)
    if command is None:  # the include: a program in the included file
        Path(env["HOME"], "extra.gitconfig").write_text('[filter "y"]\n\tprocess = ./p\n')
        command = "git status"
    v = analyze_command(command, ctx_for(repo, env))
    assert not v.read_only, v.reason
    assert "may start a program" in v.reason


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("[credential]\n\thelper = osxkeychain\n", "git status"),
        ("[core]\n\tpager = delta\n[pager]\n\tlog = less -R\n", "git log"),
        ("[core]\n\teditor = vim\n", "git status"),
        ("[alias]\n\tlg = !git log --graph\n", "git log"),
        (
            '[filter "lfs"]\n\tclean = git-lfs clean -- %f\n\tprocess = git-lfs filter-process\n',
            "git status",
        ),
        ("[diff]\n\texternal = difft\n", "git status"),
        ("[gpg]\n\tprogram = gpg2\n", "git log --oneline"),
        ("[core]\n\thooksPath = /opt/company/hooks\n", "git status"),
    ],
)
def test_user_config_a_read_only_subcommand_never_starts(
    text: str, command: str, repo: Path, env: dict[str, str]
) -> None:
    write_global(env, text)
    v = analyze_command(command, ctx_for(repo, env))
    assert v.read_only, v.reason


def test_a_global_config_inside_the_workspace_is_held_to_repository_rules(
    repo: Path, env: dict[str, str]
) -> None:
    (repo / "cfg").write_text("[core]\n\tpager = sh -c id\n")
    v = analyze_command("git log", ctx_for(repo, {**env, "GIT_CONFIG_GLOBAL": str(repo / "cfg")}))
    assert not v.read_only and "core.pager" in v.reason


@pytest.mark.parametrize(
    "extra",
    [
        {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.fsmonitor", "GIT_CONFIG_VALUE_0": "x"},
        {"GIT_CONFIG_PARAMETERS": "'core.fsmonitor'='touch /tmp/x'"},
        {"GIT_EXTERNAL_DIFF": "./d"},
        {"GIT_EXEC_PATH": "bin"},
    ],
)
def test_git_environment_overrides_count(
    extra: dict[str, str], repo: Path, env: dict[str, str]
) -> None:
    v = analyze_command("git diff", ctx_for(repo, {**env, **extra}))
    assert not v.read_only, v.reason


def test_git_dir_in_the_environment_is_followed(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "other.git"
    shutil.copytree(repo / ".git", other)
    with (other / "config").open("a") as f:
        f.write("[core]\n\tfsmonitor = ./w\n")
    v = analyze_command("git status", ctx_for(repo, {**env, "GIT_DIR": str(other)}))
    assert not v.read_only and str(other) in v.reason


def test_outside_any_repository_only_user_config_counts(
    workspace: Path, env: dict[str, str]
) -> None:
    assert analyze_command("git status", ctx_for(workspace, env)).read_only


def test_without_a_context_git_is_judged_by_its_words_only() -> None:
    assert analyze_command("git status").read_only


# ---------------------------------------------------------------- hooks and lazy fetches
# Found by the independent command suite (issue 15): a repository makes `git status`
# run its post-index-change hook, and a partial clone makes reading old blobs fetch them.


def plant_index_hook(repo: Path, marker: Path) -> Path:
    hook = repo / ".git" / "hooks" / "post-index-change"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    return hook


def test_the_index_hook_attack_is_real(repo: Path, env: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    plant_index_hook(repo, marker)
    (repo / "a.txt").touch()  # a stale index entry: status refreshes and writes the index
    git(repo, env, "status")
    assert marker.exists(), "git status ran the post-index-change hook"


@pytest.mark.parametrize("command", ["git status", "git status -s", "git describe --dirty"])
def test_a_command_writing_the_index_asks_when_a_hook_would_run(
    command: str, repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    hook = plant_index_hook(repo, tmp_path / "pwned")
    result = check_command(command, repo, ApprovalPolicy(mode="auto-edit"), env=env)
    sub = command.split()[1]
    assert (result.decision, result.reason) == (
        "ask",
        f"approval mode auto-edit: asks: git {sub} writes the index, which runs the hook {hook}",
    )


def test_hooks_that_do_not_run_leave_reads_alone(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    hook = plant_index_hook(repo, tmp_path / "pwned")
    for command in ("git log", "git diff", "git describe --always"):
        assert analyze_command(command, ctx_for(repo, env)).read_only, command
    hook.chmod(0o644)  # not executable: git ignores it
    assert analyze_command("git status", ctx_for(repo, env)).read_only
    hook.unlink()
    (repo / ".git" / "hooks" / "post-index-change.sample").write_text("#!/bin/sh\n")
    assert analyze_command("git status", ctx_for(repo, env)).read_only


@pytest.fixture
def partial(workspace: Path, env: dict[str, str], tmp_path: Path) -> Path:
    """A blobless clone (``--filter=blob:none``) of a three-commit repository."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    assert git(upstream, env, "init", "-q").returncode == 0
    for n in range(3):
        (upstream / "f.txt").write_text(f"v{n}\n")
        git(upstream, env, "add", "f.txt")
        assert git(upstream, env, "commit", "-qm", f"c{n}").returncode == 0
    git(upstream, env, "config", "uploadpack.allowFilter", "true")
    clone = workspace / "clone"
    done = git(
        workspace,
        env,
        "clone",
        "-q",
        "--filter=blob:none",
        "--no-local",
        f"file://{upstream}",
        str(clone),
    )
    assert done.returncode == 0, done.stderr
    return clone


def test_the_lazy_fetch_is_real(partial: Path, env: dict[str, str]) -> None:
    before = git(partial, env, "count-objects", "-v").stdout
    assert git(partial, env, "show", "HEAD~2").returncode == 0
    assert git(partial, env, "count-objects", "-v").stdout != before, "blobs were fetched"


@pytest.mark.parametrize(
    "command",
    [
        "git log -p",
        "git log --stat",
        "git show HEAD~1",
        "git diff HEAD~2",
        "git blame f.txt",
        "git cat-file -p HEAD~2:f.txt",
        "git grep v HEAD~2",
        "git log -Sv1",
    ],
)
def test_reading_old_blobs_of_a_partial_clone_asks(
    command: str, partial: Path, env: dict[str, str]
) -> None:
    v = analyze_command(command, ctx_for(partial, env))
    sub = command.split()[1]
    assert v.reason == (
        f"asks: git {sub} may fetch missing objects over the network from origin "
        "(a partial clone); git --no-lazy-fetch does not"
    )


@pytest.mark.parametrize(
    "command",
    [
        "git status",
        "git log --oneline",
        "git diff",
        "git diff f.txt",
        "git grep v",
        "git ls-tree -r HEAD~2",
        "git --no-lazy-fetch log -p",
    ],
)
def test_a_partial_clone_leaves_other_reads_alone(
    command: str, partial: Path, env: dict[str, str]
) -> None:
    assert analyze_command(command, ctx_for(partial, env)).read_only


def test_lazy_fetching_turned_off_in_the_environment_runs(
    partial: Path, env: dict[str, str]
) -> None:
    ctx = ctx_for(partial, {**env, "GIT_NO_LAZY_FETCH": "1"})
    assert analyze_command("git log -p", ctx).read_only


# ---------------------------------------------------------------- the reader itself


def test_we_read_at_least_what_git_reads(repo: Path, env: dict[str, str]) -> None:
    """Differential: every key `git config --list` shows is among ours."""
    write_global(env, "[user]\n\tname = me\n[include]\n\tpath = ~/inc\n")
    Path(env["HOME"], "inc").write_text('[color "diff"]\n\tmeta = blue\n')
    with (repo / ".git" / "config").open("a") as f:
        f.write(
            '[includeIf "gitdir:**"]\n\tpath = ../ci.gitconfig\n'
            '[section "Sub.Case"]\n\tKey = "quoted ; value" ; comment\n'
            "[multi]\n\tline = a \\\n b\n[empty]\n\tflag\n"
        )
    (repo / "ci.gitconfig").write_text("[ci]\n\tx = 1\n")
    listed = git(repo, env, "config", "--list").stdout.splitlines()
    theirs = {line.partition("=")[0].lower() for line in listed}
    repo_found = discover(repo, env)
    ours = {e.key.lower() for e in effective_entries(repo_found, ctx_for(repo, env), "status")}
    assert theirs and theirs <= ours, theirs - ours


def test_parse_config_values() -> None:
    text = '[a "B c"]\n\tk = " x" y \\"z\\" # c\n\tflag\n[d.e]\n\tv=1\n'
    entries = parse_config(text, "t", True)
    assert [(e.key, e.value) for e in entries] == [
        ("a.B c.k", ' x y "z"'),
        ("a.B c.flag", None),
        ("d.e.v", "1"),
    ]


@pytest.mark.parametrize("text", ['[a]\n\tk = "open\n', "k = 1\n", "[a]\n\t1k = v\n", "[a\n"])
def test_parse_config_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ConfigUnreadable):
        parse_config(text, "t", True)
