"""The one rule set for files whose content may hold secrets.

``read_file`` (through :mod:`hermes.safety.classify`) and the shell analysis (arguments,
redirections and glob expansions of commands) both ask before such a file is read, so
its content cannot reach the model unasked. Names are compared in the normal form of
:mod:`hermes.safety.pathnames` (case, Unicode, trailing dots and spaces), and a path is
checked both as written and with symlinks resolved. Pure apart from ``realpath``.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from hermes.paths import hermes_home
from hermes.safety.pathnames import normal_name, normal_parts, real, within

# (glob on the normal form of the file name, what it is)
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (".env", "environment file"),
    (".env.*", "environment file"),
    ("*.env", "environment file"),
    (".envrc", "direnv environment file"),
    ("*.pem", "certificate or private key"),
    ("*.key", "private key"),
    ("id_rsa*", "SSH private key"),
    ("id_dsa*", "SSH private key"),
    ("id_ecdsa*", "SSH private key"),
    ("id_ed25519*", "SSH private key"),
    ("*.p12", "key store"),
    ("*.pfx", "key store"),
    ("*.jks", "key store"),
    ("*.keystore", "key store"),
    ("*.kdbx", "password database"),
    (".netrc", "login credentials"),
    ("_netrc", "login credentials"),
    (".pgpass", "database passwords"),
    (".my.cnf", "database passwords"),
    (".npmrc", "registry token"),
    (".yarnrc.yml", "registry token"),
    (".pypirc", "registry token"),
    (".git-credentials", "git credentials"),
    (".vault-token", "Vault token"),
    (".htpasswd", "password hashes"),
    ("*.tfstate", "Terraform state"),
    ("*.tfstate.backup", "Terraform state"),
    (".*_history", "shell or REPL history"),
    ("hermes.db", "hermes' own database"),
    ("hermes.db-*", "hermes' own database"),
)
# A name containing one of these words is secret material unless it is source code or
# documentation (``credentials.py`` is code; ``credentials``, ``secrets.yaml`` are not).
_SECRET_WORDS = ("credential", "secret")
_CODE_SUFFIXES = frozenset(
    (
        ".py .pyi .js .mjs .cjs .ts .tsx .jsx .go .rs .java .kt .kts .scala .rb .php .c .h .cc "
        ".cpp .hpp .cs .swift .m .mm .lua .pl .pm .sh .bash .zsh .fish .ps1 .md .rst "
        ".adoc .html .css .scss .vue .svelte .ex .exs .erl .hs .ml .clj .dart .r .jl .sql .proto "
        ".graphql .snap .lock"
    ).split()
)
# Committed templates of environment files: conventionally hold no secrets.
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl")
_PUBLIC_SUFFIXES = (".pub",)

# Folders whose every file is secret material: (normal-form component sequence, what).
_DIR_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".ssh",), "SSH folder"),
    ((".gnupg",), "GnuPG keys"),
    ((".aws",), "AWS credentials"),
    ((".azure",), "Azure credentials"),
    ((".config", "gcloud"), "Google Cloud credentials"),
    ((".config", "gh"), "GitHub CLI token"),
    ((".config", "hub"), "GitHub token"),
    ((".password-store",), "password store"),
    ((".local", "share", "keyrings"), "keyring"),
    ((".kube",), "Kubernetes credentials"),
    ((".docker", "config.json"), "Docker registry credentials"),
    ((".cargo", "credentials"), "Cargo registry token"),
    ((".cargo", "credentials.toml"), "Cargo registry token"),
    ((".gem", "credentials"), "RubyGems token"),
    ((".terraform.d", "credentials.tfrc.json"), "Terraform token"),
    ((".config", "git", "credentials"), "git credentials"),
)
_PROC_FILES = frozenset({"environ", "mem", "auxv"})


def name_reason(name: str) -> str | None:
    """What a file called ``name`` is when its name marks it as secret, else None."""
    n = normal_name(name)
    if not n or n.endswith(_PUBLIC_SUFFIXES):
        return None
    for glob, kind in _NAME_RULES:
        if fnmatch.fnmatchcase(n, glob):
            if kind == "environment file" and n.endswith(_TEMPLATE_SUFFIXES):
                return None
            return kind
    if any(word in n for word in _SECRET_WORDS):
        stem, dot, suffix = n.rpartition(".")
        if not (dot and stem and f".{suffix}" in _CODE_SUFFIXES) and not n.endswith(
            _TEMPLATE_SUFFIXES
        ):
            return "credentials or secrets file"
    return None


def lexical_reason(path: str | Path) -> str | None:
    """What ``path`` is when its name or folders mark it as secret (no disk access)."""
    parts = normal_parts(path)
    if not parts:
        return None
    kind = name_reason(os.fspath(path).replace("\\", "/").rstrip("/").rpartition("/")[2])
    if kind:
        return kind
    for i in range(len(parts)):
        for seq, what in _DIR_RULES:
            if parts[i : i + len(seq)] == seq:
                if seq == (".ssh",) and len(parts) > i + 1 and parts[-1].endswith(_PUBLIC_SUFFIXES):
                    continue
                if seq == (".ssh",) and len(parts) > i + 1 and parts[-1] in ("known_hosts",):
                    continue
                return what
    text = os.fspath(path)
    if text.startswith("/proc/") and len(parts) >= 3 and parts[-1] in _PROC_FILES:
        return "a process's environment or memory"
    if text in ("/proc/kcore", "/dev/mem", "/dev/kmem"):
        return "kernel memory"
    return None


def sensitive_kind(path: str | Path, home: Path | None = None) -> tuple[str, str] | None:
    """``(path as shown, what it is)`` when reading ``path`` may expose secrets.

    ``path`` is checked as written and, when it is absolute, with symlinks resolved;
    anything in hermes' own home (``home``, default ``$HERMES_HOME``) counts.
    """
    shown = os.fspath(path)
    kind = lexical_reason(shown)
    if kind is None and os.path.isabs(shown):
        p = Path(shown)
        home = home if home is not None else hermes_home()
        if within(p, home) or within(p, real(home)):
            kind = "hermes' own home"
        else:
            resolved = real(p)
            if resolved != p:
                kind = lexical_reason(resolved)
                if kind is None and (within(resolved, home) or within(resolved, real(home))):
                    kind = "hermes' own home"
                if kind:
                    shown = f"{shown} (-> {resolved})"
    return (shown, kind) if kind else None


def sensitive_reason(path: str | Path, home: Path | None = None) -> str | None:
    """Why reading ``path`` may expose secrets, or None (see :func:`sensitive_kind`)."""
    found = sensitive_kind(path, home)
    if found is None:
        return None
    shown, kind = found
    return f"{shown} may hold secrets ({kind})"


# Names standing for each rule above, to test a glob against.
_EXAMPLES = (
    ".env",
    ".env.local",
    ".env.production",
    "prod.env",
    ".envrc",
    "server.key",
    "cert.pem",
    "id_rsa",
    "id_ed25519",
    "id_ecdsa",
    "store.p12",
    "store.pfx",
    "store.jks",
    "credentials",
    "credentials.json",
    "secrets.yaml",
    "client_secret.json",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    "terraform.tfstate",
    ".bash_history",
    "hermes.db",
    "hermes.db-wal",
)


def glob_may_match_secret(pattern: str) -> str | None:
    """A secret file name the glob ``pattern`` (its last component) could match, or
    None. For globs that are not expanded here (``grep --include='.env*'``)."""
    last = pattern.replace("\\", "/").rstrip("/").rpartition("/")[2]
    if not last:
        return None
    rx = last.casefold()
    return next((name for name in _EXAMPLES if fnmatch.fnmatchcase(name, rx)), None)
