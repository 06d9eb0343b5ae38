"""Configuration: defaults < config file(s) < environment < flags, into typed dataclasses.

Every key is declared once, in the dataclasses below; the loader walks YAML against
them so an unknown key or a wrong type names the key and the file (exit code 2).
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from hermes import paths
from hermes.protocol import APPROVAL_MODES, ApprovalMode
from hermes.toolspec import ToolLimits


class ConfigError(Exception):
    """A configuration problem a person can fix; the message says where and how."""


@dataclass(frozen=True)
class ModelConfig:
    name: str = "gpt-4o-mini"
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    context_window: int | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    encoding: str | None = None
    request_timeout: float = 600.0
    stream_idle_timeout: float = 120.0
    max_retries: int = 4
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    text_tool_calls: bool = False
    provider: Literal["openai", "local"] = "openai"
    path: str | None = None
    threads: int | None = None


@dataclass(frozen=True)
class ApprovalsConfig:
    mode: ApprovalMode = "ask"
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    persist: bool = False


@dataclass(frozen=True)
class ToolsConfig:
    terminal_timeout: float = 120.0
    terminal_max_timeout: float = 600.0
    max_output_bytes: int = 30_000
    read_max_lines: int = 2_000
    read_pool_size: int = 8
    batch_window_ms: float = 20.0

    def limits(self) -> ToolLimits:
        return ToolLimits(
            terminal_timeout=self.terminal_timeout,
            terminal_max_timeout=self.terminal_max_timeout,
            max_output_bytes=self.max_output_bytes,
            read_max_lines=self.read_max_lines,
        )


@dataclass(frozen=True)
class CompactionConfig:
    threshold: float = 0.8
    keep_recent_tokens: int = 8_000


@dataclass(frozen=True)
class SessionConfig:
    max_turns: int = 50
    max_repairs: int = 3


@dataclass(frozen=True)
class PromptConfig:
    facts_budget_tokens: int = 500
    skills_budget_tokens: int = 600
    instructions_budget_tokens: int = 2_000


@dataclass(frozen=True)
class CheckpointsConfig:
    """Workspace checkpoints for /undo, /redo and /rewind (see hermes/checkpoints.py)."""

    enabled: bool = True
    max_file_bytes: int = 5 * 1024 * 1024
    max_files: int = 50_000


@dataclass(frozen=True)
class McpToolFilter:
    """Which of a server's tools are offered: globs on the server's own tool names."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class McpServerConfig:
    """One MCP server: stdio (``command``) or streamable HTTP (``url``)."""

    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    tools: McpToolFilter = field(default_factory=McpToolFilter)
    trust_annotations: bool = False
    enabled: bool = True
    timeout: float | None = None


@dataclass(frozen=True)
class McpConfig:
    timeout: float = 60.0
    connect_timeout: float = 30.0
    description_max_chars: int = 500
    server_description_budget_chars: int = 4_000
    servers: dict[str, McpServerConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    approvals: ApprovalsConfig = field(default_factory=ApprovalsConfig)
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    compaction: CompactionConfig = field(default_factory=CompactionConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    mcp: McpConfig = field(default_factory=McpConfig)
    checkpoints: CheckpointsConfig = field(default_factory=CheckpointsConfig)
    api_key: str | None = None


@dataclass(frozen=True)
class Overrides:
    """Values from command-line flags; None means "not given"."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    approval_mode: str | None = None
    max_turns: int | None = None
    local: bool = False


_SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "approvals": ApprovalsConfig,
    "tools": ToolsConfig,
    "compaction": CompactionConfig,
    "session": SessionConfig,
    "prompt": PromptConfig,
    "mcp": McpConfig,
    "checkpoints": CheckpointsConfig,
}
_MCP_SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is dict:
        return f"mapping of str to {_type_name(get_args(tp)[1])}"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """Return (ok, value) for ``value`` checked against the annotation ``tp``."""
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        for arg in get_args(tp):
            ok, out = _coerce(value, arg)
            if ok:
                return True, out
        return False, None
    if origin is typing.Literal:
        return (value in get_args(tp)), value
    if origin is tuple:
        if not isinstance(value, list):
            return False, None
        items = []
        for item in value:
            ok, out = _coerce(item, get_args(tp)[0])
            if not ok:
                return False, None
            items.append(out)
        return True, tuple(items)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return False, None
        out_map = {}
        item_tp = get_args(tp)[1]
        for k, item in value.items():
            if item_tp is str and isinstance(item, int | float) and not isinstance(item, bool):
                item = str(item)  # env: {DEBUG: 1}
            ok, out = _coerce(item, item_tp)
            if not ok:
                return False, None
            out_map[k] = out
        return True, out_map
    if tp is type(None):
        return value is None, None
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else None
    if tp is str:
        return isinstance(value, str), value
    return False, None


def _section_from(raw: Any, cls: type, base: Any, where: str, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: '{prefix}' must be a mapping of keys, not {type(raw).__name__}"
        )
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"{where}: unknown key '{prefix}.{key}' (known keys: {known})")
        if dataclasses.is_dataclass(hints[key]):
            changes[key] = _section_from(
                value or {}, hints[key], getattr(base, key), where, f"{prefix}.{key}"
            )
            continue
        if get_origin(hints[key]) is dict and dataclasses.is_dataclass(get_args(hints[key])[1]):
            changes[key] = _named_sections(value, get_args(hints[key])[1], base, key, where, prefix)
            continue
        ok, out = _coerce(value, hints[key])
        if not ok:
            raise ConfigError(
                f"{where}: '{prefix}.{key}' must be {_type_name(hints[key])}, got {value!r}"
            )
        changes[key] = out
    return dataclasses.replace(base, **changes)


def _named_sections(
    raw: Any, cls: type, base: Any, key: str, where: str, prefix: str
) -> dict[str, Any]:
    """``key: {NAME: {...}, ...}`` (e.g. ``mcp.servers``): each NAME merges over its earlier
    definition, if any."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: '{prefix}.{key}' must be a mapping of names, not {type(raw).__name__}"
        )
    sections = dict(getattr(base, key))
    for name, value in raw.items():
        if not isinstance(name, str):
            raise ConfigError(
                f"{where}: '{prefix}.{key}.{name}': a name must be text (YAML reads unquoted "
                "yes/no/on/off as booleans and digits as numbers; quote it)"
            )
        if not _MCP_SERVER_NAME.match(name):
            raise ConfigError(
                f"{where}: '{prefix}.{key}.{name}': names may use letters, digits, '_' and '-' "
                "(at most 40)"
            )
        sections[name] = _section_from(
            value, cls, sections.get(name) or cls(), where, f"{prefix}.{key}.{name}"
        )
    return sections


def parse_config(raw: Any, where: str, base: Config | None = None) -> Config:
    """Validate a parsed YAML document and merge it over ``base`` (defaults if None)."""
    cfg = base or Config()
    if raw is None:
        return cfg
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of sections")
    for key, value in raw.items():
        cls = _SECTIONS.get(key)
        if cls is None:
            known = ", ".join(_SECTIONS)
            raise ConfigError(f"{where}: unknown key '{key}' (known sections: {known})")
        section = _section_from(value or {}, cls, getattr(cfg, key), where, key)
        cfg = dataclasses.replace(cfg, **{key: section})
    _check_ranges(cfg, where)
    return cfg


def _check_ranges(cfg: Config, where: str) -> None:
    problems = []
    if not 0.1 <= cfg.compaction.threshold <= 0.99:
        problems.append("'compaction.threshold' must be between 0.1 and 0.99")
    if cfg.model.context_window is not None and cfg.model.context_window < 1024:
        problems.append("'model.context_window' must be at least 1024")
    if cfg.model.max_output_tokens is not None and cfg.model.max_output_tokens < 1:
        problems.append("'model.max_output_tokens' must be positive")
    if cfg.tools.terminal_timeout <= 0 or cfg.tools.terminal_max_timeout <= 0:
        problems.append(
            "'tools.terminal_timeout' and 'tools.terminal_max_timeout' must be positive"
        )
    if cfg.tools.max_output_bytes < 1000:
        problems.append("'tools.max_output_bytes' must be at least 1000")
    if cfg.session.max_turns < 1:
        problems.append("'session.max_turns' must be at least 1")
    if cfg.model.max_retries < 0:
        problems.append("'model.max_retries' must not be negative")
    if cfg.model.threads is not None and cfg.model.threads < 1:
        problems.append("'model.threads' must be at least 1")
    problems.extend(_mcp_problems(cfg.mcp))
    if cfg.checkpoints.max_file_bytes < 1 or cfg.checkpoints.max_files < 1:
        problems.append("'checkpoints.max_file_bytes' and 'checkpoints.max_files' must be positive")
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))


def _mcp_problems(mcp: McpConfig) -> list[str]:
    problems = []
    if mcp.timeout <= 0 or mcp.connect_timeout <= 0:
        problems.append("'mcp.timeout' and 'mcp.connect_timeout' must be positive")
    if mcp.description_max_chars < 40 or mcp.server_description_budget_chars < 40:
        problems.append(
            "'mcp.description_max_chars' and 'mcp.server_description_budget_chars' "
            "must be at least 40"
        )
    for name, server in mcp.servers.items():
        where = f"'mcp.servers.{name}'"
        if (server.command is None) == (server.url is None):
            problems.append(f"{where} needs either 'command' (stdio) or 'url' (streamable HTTP)")
        elif server.url is not None and not server.url.startswith(("http://", "https://")):
            problems.append(f"{where}: 'url' must be an http(s) URL, got {server.url!r}")
        if server.timeout is not None and server.timeout <= 0:
            problems.append(f"{where}: 'timeout' must be positive")
    return problems


def read_config_file(path: Path, base: Config | None = None) -> Config:
    """Load one YAML file over ``base``; a missing file changes nothing."""
    import yaml  # deferred: only needed when a file exists

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return base or Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_config(raw, str(path), base)


def _apply_env(cfg: Config, env: typing.Mapping[str, str]) -> Config:
    model = cfg.model
    if env.get("HERMES_MODEL"):
        model = dataclasses.replace(model, name=env["HERMES_MODEL"])
    base_url = env.get("HERMES_BASE_URL") or env.get("OPENAI_BASE_URL")
    if base_url:
        model = dataclasses.replace(model, base_url=base_url)
    approvals = cfg.approvals
    mode = env.get("HERMES_APPROVAL_MODE")
    if mode:
        if mode not in APPROVAL_MODES:
            raise ConfigError(
                f"HERMES_APPROVAL_MODE: must be one of {', '.join(APPROVAL_MODES)}, got {mode!r}"
            )
        approvals = dataclasses.replace(approvals, mode=mode)
    return dataclasses.replace(cfg, model=model, approvals=approvals)


def _apply_flags(cfg: Config, flags: Overrides) -> Config:
    model = cfg.model
    if flags.model:
        model = dataclasses.replace(model, name=flags.model)
    if flags.base_url:
        model = dataclasses.replace(model, base_url=flags.base_url)
    if flags.local:
        model = dataclasses.replace(model, provider="local")
    approvals = cfg.approvals
    if flags.approval_mode:
        if flags.approval_mode not in APPROVAL_MODES:
            raise ConfigError(
                f"--approval-mode must be one of {', '.join(APPROVAL_MODES)}, "
                f"got {flags.approval_mode!r}"
            )
        approvals = dataclasses.replace(approvals, mode=flags.approval_mode)
    session = cfg.session
    if flags.max_turns is not None:
        if flags.max_turns < 1:
            raise ConfigError("--max-turns must be at least 1")
        session = dataclasses.replace(session, max_turns=flags.max_turns)
    return dataclasses.replace(cfg, model=model, approvals=approvals, session=session)


def resolve_api_key(cfg: Config, flags: Overrides, env: typing.Mapping[str, str]) -> str | None:
    """Flag, then ``HERMES_API_KEY``, then the configured env var (default OPENAI_API_KEY)."""
    return (
        flags.api_key
        or env.get("HERMES_API_KEY")
        or env.get(cfg.model.api_key_env)
        or env.get("OPENAI_API_KEY")
    )


def load_config(
    workspace: Path,
    flags: Overrides | None = None,
    env: typing.Mapping[str, str] | None = None,
) -> Config:
    """Build the effective config: defaults, ``$HERMES_HOME/config.yaml``, the workspace's
    ``.hermes/config.yaml``, environment variables, then flags."""
    env = os.environ if env is None else env
    flags = flags or Overrides()
    cfg = read_config_file(paths.config_path())
    cfg = read_config_file(workspace / ".hermes" / "config.yaml", cfg)
    cfg = _apply_env(cfg, env)
    cfg = _apply_flags(cfg, flags)
    return dataclasses.replace(cfg, api_key=resolve_api_key(cfg, flags, env))


def is_local_endpoint(base_url: str) -> bool:
    """Loopback endpoints (Ollama, llama.cpp, vLLM on this machine) need no API key."""
    from urllib.parse import urlparse

    host = (urlparse(base_url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def check_endpoint(cfg: Config) -> None:
    """Raise ConfigError with how-to-fix text when the endpoint or key is missing (for
    the local provider: when its backend or model is missing)."""
    if cfg.model.provider == "local":
        from hermes.local_files import ModelFileError, check_local_setup

        try:
            check_local_setup(cfg.model.path)
        except ModelFileError as exc:
            raise ConfigError(str(exc)) from exc
        return
    if not cfg.model.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"model.base_url {cfg.model.base_url!r} is not an http(s) URL. Set it with "
            "--base-url URL, the OPENAI_BASE_URL environment variable, or model.base_url in "
            f"{paths.config_path()}."
        )
    if not cfg.api_key and not is_local_endpoint(cfg.model.base_url):
        raise ConfigError(
            f"no API key for {cfg.model.base_url}. Set one with --api-key KEY, or export "
            f"HERMES_API_KEY or {cfg.model.api_key_env} (the variable named by "
            f"model.api_key_env in {paths.config_path()})."
        )
