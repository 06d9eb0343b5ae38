"""Protected and sensitive paths: the normal form of names, the rule sets, and what the
file tools' classification makes of them (findings 1 and 3 of issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hermes.execution.spec import ToolSpec
from hermes.safety.classify import classify
from hermes.safety.pathnames import is_named, normal_name, within
from hermes.safety.policy import ApprovalPolicy
from hermes.safety.protected import protected_reason
from hermes.safety.sensitive import sensitive_reason


def spec(name: str, tool_class: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        description="",
        parameters={},
        tool_class=tool_class,  # type: ignore[arg-type]
        handler=lambda ctx, args: None,  # type: ignore[arg-type,return-value]
    )


WRITE = spec("write_file", "write")
READ = spec("read_file", "read")


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        (".GIT", ".git"),
        (".git.", ".git"),
        (".git ", ".git"),
        (".git. . ", ".git"),
        (".g\u200cit", ".git"),  # HFS+ ignores zero-width non-joiner
        (".git::$INDEX_ALLOCATION", ".git"),  # NTFS stream syntax
        ("Cafe\u0301", "café"),  # decomposed é composes
        ("..", ".."),
        ("README.md", "readme.md"),
    ],
)
def test_normal_name(name: str, normal: str) -> None:
    assert normal_name(name) == normal


def test_ntfs_short_names_count() -> None:
    assert is_named("GIT~1", ".git")
    assert is_named("HERMES~1", ".hermes")
    assert not is_named("GITX~1", ".git")


def test_within_compares_normal_forms() -> None:
    assert within(Path("/Home/U/.HERMES/x"), Path("/home/u/.hermes"))
    assert not within(Path("/home/u/.hermes2/x"), Path("/home/u/.hermes"))


# ---------------------------------------------------------------- protected writes


@pytest.mark.parametrize(
    "rel",
    [
        ".git/hooks/pre-commit",
        ".GIT/hooks/pre-commit",
        ".Git/config",
        ".git./config",
        ".g\u200cit/hooks/post-checkout",
        "sub/.git",
        "sub/.GIT",
        "vendor/lib/.git/config",
        ".hermes/config.yaml",
        ".HERMES/config.yaml",
        ".hermes/commands/x.md",
        "bare.git/hooks/post-update",
        "bare.git/config",
    ],
)
def test_protected_paths(rel: str, tmp_path: Path) -> None:
    assert protected_reason(tmp_path / rel, home=tmp_path / "home") is not None


@pytest.mark.parametrize("rel", ["src/git.py", ".github/workflows/ci.yml", "gitignore", ".gitx/a"])
def test_ordinary_paths_are_not_protected(rel: str, tmp_path: Path) -> None:
    assert protected_reason(tmp_path / rel, home=tmp_path / "home") is None


def test_a_folder_shaped_like_a_git_directory_is_protected(tmp_path: Path) -> None:
    gd = tmp_path / "elsewhere"
    (gd / "objects").mkdir(parents=True)
    (gd / "refs").mkdir()
    (gd / "HEAD").write_text("ref: refs/heads/main\n")
    why = protected_reason(gd / "hooks" / "post-index-change", home=tmp_path / "home")
    assert why is not None and "git directory" in why
    assert protected_reason(tmp_path / "other" / "config", home=tmp_path / "home") is None


def test_hermes_home_is_protected_case_insensitively(tmp_path: Path) -> None:
    home = tmp_path / "hh"
    assert protected_reason(home / "config.yaml", home=home)
    assert protected_reason(Path(str(home).upper()) / "config.yaml", home=home)


def test_a_symlink_into_git_internals_is_protected(tmp_path: Path) -> None:
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / "innocent").symlink_to(tmp_path / ".git" / "hooks")
    assert protected_reason(tmp_path / "innocent" / "pre-commit", home=tmp_path / "h")


@pytest.mark.parametrize("mode", ["ask", "auto-edit", "yolo"])
@pytest.mark.parametrize(
    "rel", [".GIT/hooks/pre-commit", ".HERMES/config.yaml", "sub/.git", ".git/config"]
)
def test_writes_to_protected_paths_ask_in_every_mode(mode: str, rel: str, workspace: Path) -> None:
    (workspace / "sub").mkdir()
    c = classify(WRITE, "write_file", {"path": rel, "content": "x"}, workspace)
    policy = ApprovalPolicy.from_config(mode, ("write_file",), ())  # type: ignore[arg-type]
    decision = policy.decide(c.facts)
    assert decision.action == "ask", decision
    assert decision.reason.startswith("protected: ")
    assert decision.always_rules == ()


def test_gitfile_write_reason_says_why(workspace: Path) -> None:
    c = classify(WRITE, "write_file", {"path": "sub/.git", "content": "gitdir: ../x"}, workspace)
    assert c.facts.protected is not None and "gitfile" in c.facts.protected


def test_ordinary_writes_still_follow_the_mode(workspace: Path) -> None:
    c = classify(WRITE, "write_file", {"path": "src/a.py", "content": "x"}, workspace)
    assert c.facts.protected is None
    assert ApprovalPolicy(mode="auto-edit").decide(c.facts).action == "allow"


# ---------------------------------------------------------------- sensitive reads


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".ENV",
        ".env.local",
        "config/.env.production",
        "prod.env",
        ".envrc",
        "server.key",
        "certs/site.pem",
        "id_rsa",
        "id_ed25519",
        "/home/u/.ssh/id_ecdsa",
        "/home/u/.ssh/config",
        "credentials.json",
        "gcp-credentials.json",
        "secrets.yaml",
        ".npmrc",
        ".netrc",
        ".pypirc",
        ".pgpass",
        ".git-credentials",
        "/home/u/.aws/credentials",
        "/home/u/.docker/config.json",
        "/home/u/.kube/config",
        "/home/u/.config/gh/hosts.yml",
        "hermes.db",
        "hermes.db-wal",
        "terraform.tfstate",
        "/proc/self/environ",
        "keystore.jks",
        ".e\u200dnv",
        ".env.",
        # system secrets, container secrets and /proc links (resolved here, they would be
        # the checker's own folders, not the command's)
        "/etc/shadow",
        "/etc/gshadow-",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssl/private/site.crt",
        "/run/secrets/db_password",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "/proc/self/cwd/notes.txt",
        "/proc/1/root/etc/hostname",
        "/proc/self/task/7/cwd/x",
        "/proc/self/fd/3",
        # more credential stores
        "/home/u/.m2/settings.xml",
        "/home/u/.gradle/gradle.properties",
        "/home/u/.boto",
        "/home/u/.s3cfg",
        "/home/u/.config/rclone/rclone.conf",
        "/home/u/.mozilla/firefox/x.default/logins.json",
        "/home/u/.oci/config",
    ],
)
def test_sensitive_names(path: str) -> None:
    assert sensitive_reason(path) is not None


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        "src/credentials.py",
        "tests/test_secrets.py",
        ".env.example",
        ".env.sample",
        "id_rsa.pub",
        "/home/u/.ssh/id_ed25519.pub",
        "/home/u/.ssh/known_hosts",
        "package.json",
        "keys.py",
        "docs/environment.md",
        "/etc/passwd",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/proc/self/status",
        "/proc/cpuinfo",
        "gradle.properties",
        "src/settings.xml",
    ],
)
def test_not_sensitive(path: str) -> None:
    assert sensitive_reason(path) is None


def test_hermes_home_is_sensitive(hermes_home: Path) -> None:
    why = sensitive_reason(hermes_home / "config.yaml")
    assert why is not None and "hermes' own home" in why


def test_a_symlink_to_a_secret_is_sensitive(tmp_path: Path) -> None:
    secret = tmp_path / "keys" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("-----BEGIN")
    (tmp_path / "notes.txt").symlink_to(secret)
    why = sensitive_reason(tmp_path / "notes.txt")
    assert why is not None and "SSH private key" in why


@pytest.mark.parametrize("mode", ["ask", "auto-edit", "yolo"])
def test_read_file_of_a_secret_asks_and_offers_no_grant(mode: str, workspace: Path) -> None:
    (workspace / ".env").write_text("API_KEY=x\n")
    c = classify(READ, "read_file", {"path": ".env"}, workspace)
    policy = ApprovalPolicy(mode=mode)  # type: ignore[arg-type]
    decision = policy.decide(c.facts)
    assert decision.action == "ask"
    assert decision.reason == (
        f"read_file reads {workspace / '.env'}, which may hold secrets (environment file)"
    )
    assert decision.always_rules == ()
    policy.grant((f"read_file:{workspace / '.env'}",))
    assert policy.decide(c.facts).action == "ask"


def test_read_file_of_ordinary_files_runs(workspace: Path) -> None:
    (workspace / "a.py").write_text("x\n")
    c = classify(READ, "read_file", {"path": "a.py"}, workspace)
    assert ApprovalPolicy().decide(c.facts).action == "allow"


def test_read_file_through_a_symlink_to_a_key_asks(workspace: Path, tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    key.write_text("k")
    (workspace / "cfg").symlink_to(key)
    c = classify(READ, "read_file", {"path": "cfg"}, workspace)
    assert c.facts.sensitive is not None and "private key" in c.facts.sensitive


def test_file_tools_refuse_the_database_however_it_is_spelled(
    hermes_home: Path, workspace: Path
) -> None:
    from hermes.config import ToolLimits
    from hermes.execution.spec import ToolContext
    from tools.files import read_file

    (hermes_home / "hermes.db").write_bytes(b"SQLite format 3\x00")
    ctx = ToolContext(workspace=workspace, limits=ToolLimits(), output_dir=workspace)
    spelled = hermes_home / "x" / ".." / "hermes.db."
    (hermes_home / "x").mkdir()
    assert "Refused" in read_file(ctx, {"path": str(spelled)}).content
    if os.path.exists(str(hermes_home / "HERMES.DB")):  # a case-insensitive file system
        assert "Refused" in read_file(ctx, {"path": str(hermes_home / "HERMES.DB")}).content
