"""Vocabulary of the fact extractor: tools and topics mapped to a *subject* key.

The subject is the short, lowercase key under which a fact supersedes an older one
("package manager", "editor", "port"). Patterns are lowercase and matched against
lowercased text (case-sensitive matching lets ``re`` skip positions quickly).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, Literal

__all__ = ["Scope", "find_terms", "first_term"]

Scope = Literal["env", "tool", "topic"]

# --- lexicon: (regex, subject, scope) -------------------------------------------
# scope "env": things on the user's machine (can make an environment fact);
# "tool": project tooling; "topic": coding-style topics for preferences.
# Longer phrases must come before their prefixes ("ruff format" before "ruff").
_LEXICON: Final[tuple[tuple[str, str, Scope], ...]] = (
    # language / runtime versions (only with a version number)
    (r"python\s*v?3(?:\.\d+)*|python\s*v?2\.\d+|py3\d{1,2}", "python version", "env"),
    (r"node(?:\.?js)?\s*v?\d+(?:\.\d+)*", "node version", "env"),
    (r"go\s+v?1\.\d+", "go version", "env"),
    (r"(?:java|openjdk|jdk)\s*\d+", "java version", "env"),
    (r"ruby\s*\d+(?:\.\d+)*", "ruby version", "env"),
    (r"php\s*\d+(?:\.\d+)*", "php version", "env"),
    (r"rust\s*1\.\d+", "rust version", "env"),
    # operating systems
    (
        r"mac\s?os(?:\s*x)?|osx|windows(?:\s*1[01])?|wsl2?|ubuntu(?:\s*[\d.]+)?|debian|"
        r"fedora(?:\s*\d+)?|arch(?:\s+linux)?|manjaro|centos|rhel|linux(?:\s+mint)?|"
        r"pop!?_os|nixos|freebsd",
        "os",
        "env",
    ),
    (
        r"oh-my-zsh|zsh|bash|fish(?= shell| as)|fish|powershell|pwsh|cmd\.exe|cmd|nushell",
        "shell",
        "env",
    ),
    (
        r"vs\s?code|visual studio code|neovim|nvim|vim|emacs|pycharm|intellij(?: idea)?|"
        r"webstorm|goland|helix|sublime(?: text)?|zed|xcode|android studio|jetbrains",
        "editor",
        "env",
    ),
    (
        r"iterm2?|alacritty|kitty|wezterm|windows terminal|gnome terminal|tmux|ghostty|warp",
        "terminal",
        "env",
    ),
    (
        r"m[1-4](?: (?:pro|max))? macbook|macbook(?: pro| air)?|thinkpad|raspberry pi|m[1-4] mac|"
        r"chromebook|imac|mac mini|mac studio|surface (?:pro|laptop)|framework laptop|"
        r"(?:corporate |work |company |old |new )?(?:laptop|desktop|workstation)",
        "machine",
        "env",
    ),
    (r"nvidia|rtx\s*\d+|cuda(?:\s*[\d.]+)?|gpu", "gpu", "env"),
    (r"\d+\s*gb of ram|ram|memory", "memory", "env"),
    (r"firefox|chrome|chromium|safari|brave", "browser", "env"),
    (r"corporate network|proxy|vpn", "network", "env"),
    (r"homebrew|brew|chocolatey|scoop|apt-get|apt|pacman|dnf", "system package manager", "env"),
    (
        r"ssh|remote dev box|remote machine|dev container|devcontainer|codespaces?",
        "remote machine",
        "env",
    ),
    (r"podman|docker desktop|docker|colima|orbstack", "container runtime", "env"),
    (r"pyenv|asdf|nvm", "version manager", "env"),
    (r"timezone|time zone|utc|cet|cest|pst|est", "timezone", "env"),
    # project tooling
    (r"pytest fixtures|fixtures", "test fixtures", "topic"),
    (
        r"pytest|unittest|nose2?|jest|vitest|mocha|rspec|junit|go test|cargo test",
        "test runner",
        "tool",
    ),
    (r"pnpm|npm|yarn|poetry|pipenv|pdm|hatch|uv|conda|pip|bun", "package manager", "tool"),
    (
        r"postgres(?:ql)?(?:\s*\d+)?|mysql(?:\s*\d+)?|mariadb|sqlite3?|mongodb|mongo|dynamodb|"
        r"cassandra|cockroachdb|supabase|oracle db",
        "database",
        "tool",
    ),
    (
        r"django|flask|fastapi|starlette|rails|ruby on rails|express|nestjs|spring boot|spring|"
        r"laravel|axum|actix|gin|phoenix|sqlalchemy",
        "web framework",
        "tool",
    ),
    (
        r"next\.js|nextjs|nuxt|react|vue(?:\.js)?|svelte(?:kit)?|angular|solidjs|remix|tailwind",
        "frontend framework",
        "tool",
    ),
    (
        r"ruff format|black|prettier|yapf|autopep8|gofmt|rustfmt|clang-format|isort",
        "formatter",
        "tool",
    ),
    (r"ruff|flake8|pylint|eslint|clippy|golangci-lint|rubocop", "linter", "tool"),
    (r"mypy|pyright|pyre|tsc", "type checker", "tool"),
    (
        r"github actions|gitlab ci|travis(?: ci)?|jenkins|circleci|circle ci|buildkite|"
        r"azure pipelines|drone ci|bitbucket pipelines",
        "ci",
        "tool",
    ),
    (
        r"heroku|fly\.io|vercel|netlify|render|kubernetes|k8s|aws lambda|aws|gcp|google cloud|"
        r"azure|ecs|cloud run|digitalocean|argo cd|cloudflare workers|railway",
        "deploy target",
        "tool",
    ),
    (r"sphinx|mkdocs|docusaurus|read the docs", "docs tool", "tool"),
    (r"alembic|flyway|liquibase|django migrations", "migrations", "tool"),
    (r"celery|rq|sidekiq|dramatiq|huey|bullmq", "task queue", "tool"),
    (r"sentry|rollbar|bugsnag|datadog", "error tracking", "tool"),
    (r"terraform|pulumi|ansible|cloudformation|helm", "infrastructure", "tool"),
    (r"nx|turborepo|lerna|bazel|pants", "monorepo tool", "tool"),
    (r"pre-commit", "pre-commit", "tool"),
    (r"semantic versioning|semver|calver", "versioning", "tool"),
    (r"conventional commits", "commit convention", "tool"),
    (r"httpx|requests|aiohttp|urllib3", "http client", "tool"),
    (r"redis|memcached", "cache", "tool"),
    (r"kafka|rabbitmq|sqs|nats", "message broker", "tool"),
    (r"graphql|grpc|rest api", "api style", "tool"),
    (r"typescript|javascript|rust|golang|kotlin|swift|scala|elixir", "language", "tool"),
    # coding-style topics
    (r"type hints?|type annotations?|typing", "type hints", "topic"),
    (r"commit messages?", "commit messages", "topic"),
    (r"commits?|squash", "commits", "topic"),
    (r"print(?:\(\))?(?: statements?)?|logging|logger|log messages", "logging", "topic"),
    (
        r"push(?:es|ing)?|force-push|pull requests?|prs?\b|main branch|merge",
        "git workflow",
        "topic",
    ),
    (r"f-strings?|\.format\(\)|string formatting|%-formatting", "string formatting", "topic"),
    (r"pathlib|os\.path", "path handling", "topic"),
    (r"run(?:ning)? (?:the )?(?:tests?|test suite|suite)", "running tests", "topic"),
    (r"(?:single|double) quotes|quotes", "quotes", "topic"),
    (r"indentation|indent|tabs|\d[- ]spaces?|spaces", "indentation", "topic"),
    (r"docstrings?", "docstrings", "topic"),
    (r"bare except|except(?:ion)?s?|error handling", "exception handling", "topic"),
    (r"imports?", "imports", "topic"),
    (r"dataclass(?:es)?|namedtuples?|pydantic", "dataclasses", "topic"),
    (r"comments?", "comments", "topic"),
    (r"line length|characters per line|columns", "line length", "topic"),
    (r"emojis?", "emojis", "topic"),
    (r"diffs?", "diffs", "topic"),
    (r"(?:british|american) spelling|spelling", "spelling", "topic"),
    (r"async(?:io)?|await", "async", "topic"),
    (r"dependenc(?:y|ies)|packages?|libraries", "dependencies", "topic"),
    (r"explanations?|answers?|responses?|replies|essays?|summaries", "response style", "topic"),
    (r"early returns?|guard clauses?", "early returns", "topic"),
    (r"composition|inheritance", "composition", "topic"),
    (r"regression tests?", "regression tests", "topic"),
    (r"snake_case|camelcase|kebab-case|file names?|naming", "naming", "topic"),
    (r"tests?", "tests", "topic"),
)

_LEX_META: Final[tuple[tuple[str, Scope], ...]] = tuple((subj, sc) for _, subj, sc in _LEXICON)
_DIGITS: Final = frozenset("0123456789")


def _split_top(pattern: str) -> list[str]:
    """Split a regex on its top-level ``|``."""
    parts: list[str] = []
    depth, begin, i = 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = pattern.index("]", i + 1)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[begin:i])
            begin = i + 1
        i += 1
    parts.append(pattern[begin:])
    return parts


def _first_chars(alt: str) -> frozenset[str] | None:
    """Characters a match of ``alt`` can start with (None: could not tell)."""
    if not alt:
        return None
    if alt.startswith("(?:"):
        depth, i = 0, 0
        while True:
            if alt[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(alt[i], 0)
            if depth == 0:
                break
            i += 1
        heads = [_first_chars(part) for part in _split_top(alt[3:i])]
        rest, optional = alt[i + 1 :], alt[i + 1 : i + 2] in ("?", "*")
    elif alt.startswith("\\d"):
        heads, rest, optional = [_DIGITS], alt[2:], alt[2:3] in ("?", "*")
    elif alt.startswith("\\"):
        heads, rest, optional = [frozenset(alt[1])], alt[2:], alt[2:3] in ("?", "*")
    elif alt.startswith("["):
        end = alt.index("]")
        body = alt[1:end]
        chars: set[str] = set()
        if body.startswith("^"):
            return None
        for j, ch in enumerate(body):
            if ch == "-" and 0 < j < len(body) - 1:
                chars.update(chr(c) for c in range(ord(body[j - 1]), ord(body[j + 1]) + 1))
            else:
                chars.add(ch)
        heads, rest, optional = [frozenset(chars)], alt[end + 1 :], alt[end + 1 : end + 2] in "?*"
    else:
        heads, rest, optional = [frozenset(alt[0])], alt[1:], alt[1:2] in ("?", "*")
    if any(h is None for h in heads):
        return None
    out = frozenset().union(*(h for h in heads if h is not None))
    if optional:
        tail = _first_chars(rest[1:])
        return None if tail is None else out | tail
    return out


def _build_index() -> dict[str, re.Pattern[str]]:
    """One regex per possible first character, each keeping the lexicon's order."""
    by_char: dict[str, list[str]] = {}
    anywhere: list[str] = []
    count = 0
    for i, (pattern, _, _) in enumerate(_LEXICON):
        for alt in _split_top(pattern):
            count += 1
            named = f"(?P<t{i}_{count}>{alt})"
            chars = _first_chars(alt)
            if chars is None:
                anywhere.append(named)
                continue
            for ch in chars:
                by_char.setdefault(ch, []).append(named)
    index: dict[str, re.Pattern[str]] = {}
    for ch, alts in by_char.items():
        index[ch] = re.compile("(?:" + "|".join(alts + anywhere) + r")(?![\w\-])")
        for name in index[ch].groupindex:
            _GROUP_ENTRY[name] = int(name[1:].split("_", 1)[0])
    return index


_GROUP_ENTRY: Final[dict[str, int]] = {}  # regex group name -> index into _LEXICON
# Regexes are keyed by first character: trying ~100 alternatives at every position
# is the slow part of a big alternation in ``re``.
_INDEX: Final = _build_index()
_START_RE: Final = re.compile(r"(?<![\w.\-])[\w.%]")


def _matches(text: str) -> Iterator[tuple[int, int, int]]:
    """(lexicon index, start, end) of each term, left to right, without overlaps."""
    end = 0
    for s in _START_RE.finditer(text):
        pos = s.start()
        if pos < end:
            continue
        rx = _INDEX.get(text[pos])
        m = rx.match(text, pos) if rx is not None else None
        if m is not None and m.lastgroup is not None:
            end = m.end()
            yield _GROUP_ENTRY[m.lastgroup], pos, end


def find_terms(text: str) -> list[tuple[str, Scope, int, int]]:
    """Every lexicon term in lowercase ``text``: (subject, scope, start, end), in order."""
    return [(*_LEX_META[i], s, e) for i, s, e in _matches(text)]


def first_term(text: str, scopes: tuple[Scope, ...] = ("env", "tool", "topic")) -> str | None:
    """Subject of the first term in lowercase ``text`` whose scope is in ``scopes``."""
    for i, _, _ in _matches(text):
        subject, scope = _LEX_META[i]
        if scope in scopes:
            return subject
    return None
