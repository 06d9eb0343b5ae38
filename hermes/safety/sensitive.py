"""The one rule set for files whose content may hold secrets.

``read_file`` (through :mod:`hermes.safety.classify`) and the shell analysis (arguments,
redirections and glob expansions of commands) both ask before such a file is read, so
its content cannot reach the model unasked. Names are compared in the normal form of
:mod:`hermes.safety.pathnames` (case, Unicode, trailing dots and spaces), and a path is
checked both as written and with symlinks resolved. Pure apart from ``realpath``, and
:func:`secret_in_tree`, which walks a folder a recursive search (``grep -r``, ``rg``)
would read.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
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
    ("ssh_host_*key", "SSH host private key"),
    (".boto", "cloud credentials"),
    (".s3cfg", "cloud credentials"),
    ("logins.json", "browser passwords"),
    ("key4.db", "browser passwords"),
    ("login data", "browser passwords"),
    ("cookies.sqlite", "browser cookies"),
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
    ((".m2", "settings.xml"), "Maven credentials"),
    ((".gradle", "gradle.properties"), "Gradle credentials"),
    ((".composer", "auth.json"), "Composer credentials"),
    ((".config", "composer", "auth.json"), "Composer credentials"),
    ((".config", "rclone"), "rclone credentials"),
    ((".config", "doctl"), "DigitalOcean token"),
    ((".oci",), "Oracle Cloud credentials"),
    ((".config", "op"), "1Password CLI"),
    ((".mozilla", "firefox"), "browser profile"),
    ((".config", "google-chrome"), "browser profile"),
    ((".config", "chromium"), "browser profile"),
    (("library", "keychains"), "keychain"),
)
_PROC_FILES = frozenset({"environ", "mem", "auxv"})
_PROC_LINKS = frozenset({"cwd", "root", "fd", "exe", "map_files"})
# System files and folders (absolute) that hold secrets: (path, what).
_SYSTEM_RULES: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    (normal_parts(path), what)
    for path, what in (
        ("/etc/shadow", "password hashes"),
        ("/etc/shadow-", "password hashes"),
        ("/etc/gshadow", "password hashes"),
        ("/etc/gshadow-", "password hashes"),
        ("/etc/master.passwd", "password hashes"),
        ("/etc/security/opasswd", "password hashes"),
        ("/etc/ssl/private", "TLS private keys"),
        ("/run/secrets", "container secrets"),
        ("/var/run/secrets", "container secrets"),
    )
)


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
    if os.path.isabs(text):
        for rule, what in _SYSTEM_RULES:
            if parts[: len(rule)] == rule:
                return what
    if text.startswith("/proc/") and len(parts) >= 3 and parts[-1] in _PROC_FILES:
        return "a process's environment or memory"
    if text in ("/proc/kcore", "/dev/mem", "/dev/kmem"):
        return "kernel memory"
    return None


def _proc_link(text: str) -> str | None:
    """``/proc/self/cwd/x`` and the like, as written: resolved here they would be the
    checker's own folders and files, not those of the command that reads them."""
    if not text.startswith("/proc/"):
        return None
    parts = normal_parts(text)
    if _PROC_LINKS & set(parts[2:3] + parts[4:5]):
        return "a link in /proc to a process's folders or files, which may lead anywhere"
    return None


def sensitive_kind(path: str | Path, home: Path | None = None) -> tuple[str, str] | None:
    """``(path as shown, what it is)`` when reading ``path`` may expose secrets.

    ``path`` is checked as written and, when it is absolute, with symlinks resolved;
    anything in hermes' own home (``home``, default ``$HERMES_HOME``) counts.
    """
    shown = os.fspath(path)
    kind = lexical_reason(shown) or _proc_link(shown)
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


# ---------------------------------------------------------------- whole folders

TREE_LIMIT = 50_000
"""Entries a folder searched recursively may have before the check gives up (and asks)."""
# Ignore files besides .gitignore that rg and ag read (their negations can re-include
# what .gitignore leaves out, so where one exists no ignore rule is relied on).
_OTHER_IGNORE_FILES = (".ignore", ".rgignore", ".agignore", ".hgignore")
_IGNORE_FILE_BYTES = 65_536


@dataclass(frozen=True)
class TreeRead:
    """Which files under a folder a recursive reader (``grep -r``, ``rg`` ...) opens.

    A file is only left out when the program surely leaves it out; whatever this
    cannot model exactly counts as read.
    """

    hidden: bool = True
    """Dot-files and dot-folders are read."""
    follow_links: bool = False
    """Symbolic links met inside the folder are followed."""
    gitignore: bool = False
    """Inside a git work tree, what ``.gitignore`` files exclude is not read (rg, ag)."""
    only_names: tuple[str, ...] = ()
    """When given, only files whose base name matches one of these are read. Only the
    shapes ``name`` and ``*suffix`` narrow anything; any other shape reads everything."""
    skip_dirs: tuple[str, ...] = ()
    """Folders whose base name matches one of these globs are not entered."""


@dataclass(frozen=True)
class TreeSecret:
    """What a recursive search reaches that may hold secrets."""

    path: Path | None
    """The file (or folder), or None when the folder had too many entries to check."""
    kind: str


@dataclass(frozen=True)
class _Ignore:
    glob: str
    dirs_only: bool
    folder: Path | None
    """For an anchored pattern (``/build``): the only folder it applies in."""


def _simple_name_glob(glob: str) -> bool:
    return bool(glob) and not any(ch in glob for ch in "?[]\\/") and "*" not in glob[1:]


def _name_matches(glob: str, name: str) -> bool:
    return name.endswith(glob[1:]) if glob.startswith("*") else name == glob


def _gitignore(folder: Path) -> tuple[list[_Ignore], bool]:
    """The patterns of ``folder/.gitignore`` this check understands, and whether the
    file has a negation (``!x``, which may re-include anything below)."""
    try:
        with open(folder / ".gitignore", "rb") as f:
            data = f.read(_IGNORE_FILE_BYTES + 1)
    except OSError:
        return [], False
    if len(data) > _IGNORE_FILE_BYTES:
        return [], True  # not read to the end: a negation may follow
    found: list[_Ignore] = []
    for raw in data.decode("utf-8", "replace").split("\n"):
        if raw.startswith("!"):
            return [], True
        line = raw.rstrip(" ")
        if not line or line.startswith("#") or "\r" in line:
            continue  # a carriage return is not modelled: git may keep it in the pattern
        if "\\" in line or "[" in line or "**" in line:
            continue  # not modelled: matches nothing here, so nothing is skipped for it
        dirs_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = line.startswith("/")
        line = line.lstrip("/")
        if not line or "/" in line:
            continue
        found.append(_Ignore(line, dirs_only, folder if anchored else None))
    return found, False


def _in_git_work_tree(folder: Path) -> bool:
    for p in (folder, *folder.parents):
        if os.path.lexists(p / ".git"):
            return True
    return False


def _other_ignore_files(folder: Path) -> bool:
    return any(os.path.lexists(folder / name) for name in _OTHER_IGNORE_FILES)


def _folder_kind(parts: tuple[str, ...], path: Path, homes: tuple[Path, ...]) -> str | None:
    """What a folder is when everything in it may hold secrets."""
    for i in range(len(parts)):
        for seq, what in _DIR_RULES:
            if parts[i : i + len(seq)] == seq:
                return what
    if path.is_absolute():
        for rule, what in _SYSTEM_RULES:
            if parts[: len(rule)] == rule:
                return what
    if any(within(path, h) for h in homes):
        return "hermes' own home"
    return None


def _file_kind(parts: tuple[str, ...], absolute: bool, name: str) -> str | None:
    """What the file ``name`` in a folder with normal-form ``parts`` is, if secret."""
    kind = name_reason(name)
    if kind:
        return kind
    n = normal_name(name)
    full = (*parts, n)
    for seq, what in _DIR_RULES:
        if len(seq) > 1 and seq[-1] == n and full[-len(seq) :] == seq:
            return what
    if absolute:
        for rule, what in _SYSTEM_RULES:
            if full[: len(rule)] == rule:
                return what
        if full[:1] == ("proc",) and len(full) >= 3 and n in _PROC_FILES:
            return "a process's environment or memory"
    return None


def secret_in_tree(
    root: Path, how: TreeRead, home: Path | None = None, limit: int = TREE_LIMIT
) -> TreeSecret | None:
    """The first file under the folder ``root`` (absolute) that may hold secrets and
    that a program searching it the way ``how`` says would read, or None.

    Gives up (``path`` None) after ``limit`` entries: a search that big cannot be
    shown to stay clear of secrets.
    """
    home = home if home is not None else hermes_home()
    homes = (home, real(home))
    start = real(root)
    if not start.is_dir():
        return None
    only = how.only_names if all(_simple_name_glob(g) for g in how.only_names) else ()
    skips = tuple(g for g in how.skip_dirs if g and "[" not in g and "\\" not in g)
    use_ignore = how.gitignore and _in_git_work_tree(start)
    if use_ignore and any(_other_ignore_files(p) for p in (start, *start.parents)):
        use_ignore = False
    # (folder as reached, its real path, inherited ignore patterns; None: rely on none)
    stack: list[tuple[Path, Path, list[_Ignore] | None]] = [
        (root, start, [] if use_ignore else None)
    ]
    seen = {start}
    count = 0
    while stack:
        folder, folder_real, inherited = stack.pop()
        for where in (folder, folder_real):
            kind = _folder_kind(normal_parts(where), where, homes)
            if kind:
                return TreeSecret(folder, kind)
        patterns = inherited
        if patterns is not None:
            if _other_ignore_files(folder_real):
                patterns = None
            else:
                if os.path.lexists(folder_real / ".git") and folder_real != start:
                    patterns = []  # a nested repository: the outer .gitignore stops here
                own, negated = _gitignore(folder_real)
                patterns = None if negated else [*patterns, *own]
        try:
            with os.scandir(folder_real) as it:
                entries = list(it)
        except OSError:
            continue
        parts = normal_parts(folder)
        parts_real = normal_parts(folder_real)
        for entry in entries:
            count += 1
            if count > limit:
                return TreeSecret(None, f"more than {limit} entries")
            name = entry.name
            if not how.hidden and name.startswith("."):
                continue
            try:
                link = entry.is_symlink()
                if link and not how.follow_links:
                    continue
                is_dir = entry.is_dir()
            except OSError:
                continue
            if patterns and _ignored(patterns, name, is_dir, folder_real):
                continue
            path = folder / name
            if is_dir:
                if any(fnmatch.fnmatchcase(name, g) for g in skips):
                    continue
                target = real(path) if link else folder_real / name
                if target not in seen:
                    seen.add(target)
                    stack.append((path, target, patterns))
                continue
            if only and not any(_name_matches(g, name) for g in only):
                continue
            kind = _file_kind(parts, folder.is_absolute(), name)
            if kind is None and (link or folder_real != folder):
                target = real(path) if link else folder_real / name
                kind = lexical_reason(target)
                if kind is None and any(within(target, h) for h in homes):
                    kind = "hermes' own home"
            if kind is None and parts_real != parts:
                kind = _file_kind(parts_real, True, name)
            if kind:
                return TreeSecret(path, kind)
    return None


def _ignored(patterns: list[_Ignore], name: str, is_dir: bool, folder: Path) -> bool:
    for p in patterns:
        if p.dirs_only and not is_dir:
            continue
        if p.folder is not None and p.folder != folder:
            continue
        if fnmatch.fnmatchcase(name, p.glob):
            return True
    return False
