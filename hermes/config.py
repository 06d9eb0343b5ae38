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

from hermes import paths, redact
from hermes.protocol import APPROVAL_MODES, ApprovalMode


class ConfigError(Exception):
    """A configuration problem a person can fix; the message says where and how."""


@dataclass(frozen=True)
class ToolLimits:
    """Caps that keep one call from flooding the model or hanging the session."""

    terminal_timeout: float = 120.0
    terminal_max_timeout: float = 600.0
    max_output_bytes: int = 30_000
    read_max_lines: int = 2_000
    read_max_line_chars: int = 2_000
    search_max_results: int = 200
    output_file_max_bytes: int = 16 << 20
    outputs_total_max_bytes: int = 256 << 20
    env_passthrough: tuple[str, ...] = ()  # credential variables commands may inherit


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
    request_deadline: float = 600.0
    stream: bool = True
    max_retries: int = 4
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    text_tool_calls: bool | None = None  # None: detected per endpoint
    provider: Literal["openai", "local"] = "openai"
    path: str | None = None
    threads: int | None = None
    # USD per million tokens, ``input`` and ``output``: the status line shows the cost
    pricing: dict[str, float] = field(default_factory=dict, hash=False)


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
    output_file_max_bytes: int = 16 << 20
    outputs_total_max_bytes: int = 256 << 20
    # Loosening (it hands hermes' credentials to commands and MCP servers): names of
    # variables passed to them although they hold a credential. A user-level setting;
    # from a workspace config it applies only once that folder is trusted.
    env_passthrough: tuple[str, ...] = ()

    def limits(self) -> ToolLimits:
        return ToolLimits(
            terminal_timeout=self.terminal_timeout,
            terminal_max_timeout=self.terminal_max_timeout,
            max_output_bytes=self.max_output_bytes,
            read_max_lines=self.read_max_lines,
            output_file_max_bytes=self.output_file_max_bytes,
            outputs_total_max_bytes=self.outputs_total_max_bytes,
            env_passthrough=self.env_passthrough,
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


SandboxMode = Literal["workspace-write", "read-only", "off"]
NetworkAccess = Literal["off", "on"]


@dataclass(frozen=True)
class SandboxConfig:
    """The OS sandbox commands and stdio MCP servers run in (see hermes/sandbox).

    ``writable_roots`` and ``hide`` are paths (``~`` expands; relative ones are relative
    to the workspace). ``backend`` forces one backend instead of the best available."""

    mode: SandboxMode = "workspace-write"
    writable_roots: tuple[str, ...] = ()
    network: NetworkAccess = "off"
    hide: tuple[str, ...] = ()
    backend: Literal["auto", "bubblewrap", "landlock"] = "auto"


@dataclass(frozen=True)
class McpServerSandbox:
    """A stdio MCP server's exception to ``sandbox`` (None: as ``sandbox`` says)."""

    network: NetworkAccess | None = None


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
    sandbox: McpServerSandbox = field(default_factory=McpServerSandbox)


@dataclass(frozen=True)
class McpConfig:
    timeout: float = 60.0
    connect_timeout: float = 30.0
    description_max_chars: int = 500
    server_description_budget_chars: int = 4_000
    servers: dict[str, McpServerConfig] = field(default_factory=dict)


# Hooks (hermes/hooks): ``hooks.<Event>: [{matcher, hooks: [{type: command, command,
# timeout}]}]``, the shape of Claude Code's settings. Entries from every config file are
# kept (user first), each with the file it came from.
HOOK_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Notification",
    "PreCompact",
    "Stop",
    "SessionEnd",
)
DEFAULT_HOOK_TIMEOUT = 60.0


@dataclass(frozen=True)
class HookCommand:
    """One command a hook runs (``type: command``); ``timeout`` in seconds."""

    command: str
    timeout: float = DEFAULT_HOOK_TIMEOUT


@dataclass(frozen=True, repr=False)
class HookMatcher:
    """``{matcher, hooks}`` of one event; ``source`` is the config file it came from."""

    matcher: str = ""
    hooks: tuple[HookCommand, ...] = ()
    source: str = ""

    def __repr__(self) -> str:  # what the folder-trust question shows
        return f"{self.matcher or '*'}: " + "; ".join(h.command for h in self.hooks)


@dataclass(frozen=True)
class HooksConfig:
    """The configured hooks of each event (field names are the event names)."""

    SessionStart: tuple[HookMatcher, ...] = ()
    UserPromptSubmit: tuple[HookMatcher, ...] = ()
    PreToolUse: tuple[HookMatcher, ...] = ()
    PostToolUse: tuple[HookMatcher, ...] = ()
    Notification: tuple[HookMatcher, ...] = ()
    PreCompact: tuple[HookMatcher, ...] = ()
    Stop: tuple[HookMatcher, ...] = ()
    SessionEnd: tuple[HookMatcher, ...] = ()


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
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)
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
    text_tool_calls: str | None = None  # --text-tool-calls auto|true|false
    no_sandbox: bool = False


_SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "approvals": ApprovalsConfig,
    "tools": ToolsConfig,
    "compaction": CompactionConfig,
    "session": SessionConfig,
    "prompt": PromptConfig,
    "mcp": McpConfig,
    "checkpoints": CheckpointsConfig,
    "sandbox": SandboxConfig,
    "hooks": HooksConfig,
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
        if isinstance(value, bool) and {"off", "on"} <= set(get_args(tp)):
            value = "on" if value else "off"  # YAML 1.1 reads a bare on/off as a boolean
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
        if cls is HooksConfig:  # a list of mappings per event, appended to earlier files'
            cfg = dataclasses.replace(cfg, hooks=parse_hooks(value, cfg.hooks, where))
            continue
        section = _section_from(value or {}, cls, getattr(cfg, key), where, key)
        cfg = dataclasses.replace(cfg, **{key: section})
    _check_ranges(cfg, where)
    return cfg


def parse_hooks(raw: Any, base: HooksConfig, where: str) -> HooksConfig:
    """``hooks:`` of one config file, added after ``base``'s entries (an entry equal to
    one already there is not added twice); every entry remembers ``where``."""
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'hooks' must be a mapping of event names to lists")
    changes: dict[str, tuple[HookMatcher, ...]] = {}
    for event, entries in raw.items():
        if event not in HOOK_EVENTS:
            raise ConfigError(
                f"{where}: unknown hook event 'hooks.{event}' (hermes runs: "
                f"{', '.join(HOOK_EVENTS)})"
            )
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise ConfigError(
                f"{where}: 'hooks.{event}' must be a list of {{matcher, hooks}} entries"
            )
        found = list(getattr(base, event))
        for i, entry in enumerate(entries):
            matcher = _hook_matcher(entry, f"hooks.{event}[{i}]", where)
            if all((m.matcher, m.hooks) != (matcher.matcher, matcher.hooks) for m in found):
                found.append(matcher)
        changes[event] = tuple(found)
    return dataclasses.replace(base, **changes)


def _hook_matcher(entry: Any, key: str, where: str) -> HookMatcher:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: '{key}' must be a mapping with 'matcher' and 'hooks'")
    unknown = sorted(str(k) for k in entry if k not in ("matcher", "hooks"))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{key}.{unknown[0]}' (known: hooks, matcher)")
    matcher = entry.get("matcher") or ""
    if not isinstance(matcher, str):
        raise ConfigError(f"{where}: '{key}.matcher' must be a tool name or regex, got {matcher!r}")
    if matcher not in ("", "*"):
        try:
            re.compile(matcher)
        except re.error as exc:
            raise ConfigError(f"{where}: '{key}.matcher' is not a valid regex: {exc}") from exc
    commands = entry.get("hooks")
    if not isinstance(commands, list) or not commands:
        raise ConfigError(f"{where}: '{key}.hooks' must be a non-empty list of commands")
    return HookMatcher(
        matcher,
        tuple(_hook_command(c, f"{key}.hooks[{j}]", where) for j, c in enumerate(commands)),
        where,
    )


def _hook_command(entry: Any, key: str, where: str) -> HookCommand:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: '{key}' must be a mapping with 'type' and 'command'")
    unknown = sorted(str(k) for k in entry if k not in ("type", "command", "timeout"))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{key}.{unknown[0]}' (known: command, timeout, type)"
        )
    if entry.get("type", "command") != "command":
        raise ConfigError(
            f"{where}: '{key}.type' must be 'command' (the only kind hermes runs), "
            f"got {entry.get('type')!r}"
        )
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ConfigError(f"{where}: '{key}.command' must be a non-empty string")
    timeout = entry.get("timeout", DEFAULT_HOOK_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{where}: '{key}.timeout' must be a positive number of seconds")
    return HookCommand(command, float(timeout))


def _check_ranges(cfg: Config, where: str) -> None:
    problems = []
    if not 0.1 <= cfg.compaction.threshold <= 0.99:
        problems.append("'compaction.threshold' must be between 0.1 and 0.99")
    if cfg.model.context_window is not None and cfg.model.context_window < 1024:
        problems.append("'model.context_window' must be at least 1024")
    if set(cfg.model.pricing) - {"input", "output"} or any(
        v < 0 for v in cfg.model.pricing.values()
    ):
        problems.append(
            "'model.pricing' takes 'input' and 'output' (USD per million tokens, not negative)"
        )
    if cfg.model.max_output_tokens is not None and cfg.model.max_output_tokens < 1:
        problems.append("'model.max_output_tokens' must be positive")
    if cfg.tools.terminal_timeout <= 0 or cfg.tools.terminal_max_timeout <= 0:
        problems.append(
            "'tools.terminal_timeout' and 'tools.terminal_max_timeout' must be positive"
        )
    if cfg.tools.max_output_bytes < 1000:
        problems.append("'tools.max_output_bytes' must be at least 1000")
    if cfg.tools.output_file_max_bytes < 4096:
        problems.append("'tools.output_file_max_bytes' must be at least 4096")
    if cfg.tools.outputs_total_max_bytes < cfg.tools.output_file_max_bytes:
        problems.append(
            "'tools.outputs_total_max_bytes' must be at least 'tools.output_file_max_bytes'"
        )
    if cfg.session.max_turns < 1:
        problems.append("'session.max_turns' must be at least 1")
    if cfg.model.max_retries < 0:
        problems.append("'model.max_retries' must not be negative")
    if cfg.model.request_deadline <= 0 or cfg.model.stream_idle_timeout <= 0:
        problems.append("'model.request_deadline' and 'model.stream_idle_timeout' must be positive")
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
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return base or Config()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    return parse_config(_yaml_document(data, path), str(path), base)


def _yaml_document(data: bytes, path: Path) -> Any:
    """The parsed YAML of a config file's bytes, or ConfigError naming the file."""
    import yaml  # deferred: only needed when a file exists

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


_TRISTATE = {
    "auto": None,
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def parse_tristate(value: str, where: str) -> bool | None:
    """``auto`` -> None, ``true/yes/on/1`` -> True, ``false/no/off/0`` -> False (for
    ``HERMES_TEXT_TOOL_CALLS`` and ``--text-tool-calls``)."""
    key = value.strip().lower()
    if key not in _TRISTATE:
        raise ConfigError(f"{where}: must be auto, true or false, got {value!r}")
    return _TRISTATE[key]


def _apply_env(cfg: Config, env: typing.Mapping[str, str]) -> Config:
    model = cfg.model
    if env.get("HERMES_MODEL"):
        model = dataclasses.replace(model, name=env["HERMES_MODEL"])
    base_url = env.get("HERMES_BASE_URL") or env.get("OPENAI_BASE_URL")
    if base_url:
        model = dataclasses.replace(model, base_url=base_url)
    if env.get("HERMES_TEXT_TOOL_CALLS"):
        text_calls = parse_tristate(env["HERMES_TEXT_TOOL_CALLS"], "HERMES_TEXT_TOOL_CALLS")
        model = dataclasses.replace(model, text_tool_calls=text_calls)
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
    if flags.text_tool_calls is not None:
        text_calls = parse_tristate(flags.text_tool_calls, "--text-tool-calls")
        model = dataclasses.replace(model, text_tool_calls=text_calls)
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
    sandbox = cfg.sandbox
    if flags.no_sandbox:
        sandbox = dataclasses.replace(sandbox, mode="off")
    return dataclasses.replace(
        cfg, model=model, approvals=approvals, session=session, sandbox=sandbox
    )


def resolve_api_key(cfg: Config, flags: Overrides, env: typing.Mapping[str, str]) -> str | None:
    """Flag, then ``HERMES_API_KEY``, then the configured env var (default OPENAI_API_KEY)."""
    return (
        flags.api_key
        or env.get("HERMES_API_KEY")
        or env.get(cfg.model.api_key_env)
        or env.get("OPENAI_API_KEY")
    )


# ------------------------------------------------------------------ the workspace layer
#
# A workspace's .hermes/config.yaml comes with the folder (a cloned repository), not from
# the user. Until the user trusts the folder for exactly that content (hermes.trust keeps
# the record), a setting in it applies only where this table says it cannot loosen
# anything; the rest is left out and reported, so front ends can say what was ignored.

WorkspaceRule = Literal["tighten", "lower", "higher", "stricter", "neutral", "loosen", "servers"]
"""How a workspace setting is judged before the folder is trusted:

- ``tighten``: always applies; a list is added to the user's (deny rules), never replaces it.
- ``lower``: applies when not above the value it replaces (``null`` counts as no limit).
- ``higher``: applies when not below it (a safeguard such as checkpoints).
- ``stricter``: an approval mode; applies when at least as strict.
- ``neutral``: cannot loosen approvals, start a process or move requests; applies.
- ``loosen``: applies only in a trusted folder.
- ``servers``: MCP servers; one that only disables a server of the user's applies, any
  other starts a process or connects somewhere, so it loosens.

A key missing from the table loosens (fail closed).
"""

WORKSPACE_RULES: dict[str, tuple[WorkspaceRule, str]] = {
    "model.name": ("neutral", "picks another model at your endpoint"),
    "model.base_url": ("loosen", "sends your requests and API key to this endpoint"),
    "model.api_key_env": ("loosen", "sends this environment variable as the API key"),
    "model.context_window": ("neutral", "sets the context window"),
    "model.pricing": ("neutral", "sets the prices the status line counts the cost with"),
    "model.max_output_tokens": ("lower", "raises the output token limit"),
    "model.temperature": ("neutral", "sets the temperature"),
    "model.encoding": ("neutral", "sets the token encoding"),
    "model.request_timeout": ("lower", "raises a timeout"),
    "model.stream_idle_timeout": ("lower", "raises a timeout"),
    "model.request_deadline": ("lower", "raises a timeout"),
    "model.stream": ("neutral", "sets whether replies stream"),
    "model.max_retries": ("lower", "retries more"),
    "model.retry_base_delay": ("neutral", "sets retry delays"),
    "model.retry_max_delay": ("neutral", "sets retry delays"),
    "model.text_tool_calls": ("neutral", "sets how tool calls are read"),
    "model.provider": ("loosen", "runs another model backend"),
    "model.path": ("loosen", "loads a model file this folder names"),
    "model.threads": ("neutral", "sets CPU threads"),
    "approvals.mode": ("stricter", "asks less before running calls"),
    "approvals.allow": ("loosen", "runs these calls without asking"),
    "approvals.deny": ("tighten", "denies these calls"),
    "approvals.persist": ("lower", "saves 'always' answers for later sessions"),
    "tools.terminal_timeout": ("lower", "lets commands run longer"),
    "tools.terminal_max_timeout": ("lower", "lets commands run longer"),
    "tools.max_output_bytes": ("lower", "raises an output limit"),
    "tools.read_max_lines": ("lower", "raises a read limit"),
    "tools.read_pool_size": ("lower", "runs more reads at once"),
    "tools.batch_window_ms": ("neutral", "sets the batching window"),
    "tools.output_file_max_bytes": ("lower", "keeps larger output files"),
    "tools.outputs_total_max_bytes": ("lower", "keeps more output files"),
    "tools.env_passthrough": ("loosen", "passes these credential variables to commands"),
    "compaction.threshold": ("neutral", "sets when to compact"),
    "compaction.keep_recent_tokens": ("neutral", "sets what compaction keeps"),
    "session.max_turns": ("lower", "lets a turn make more requests"),
    "session.max_repairs": ("lower", "lets a turn repair more calls"),
    "prompt.facts_budget_tokens": ("neutral", "sets a prompt budget"),
    "prompt.skills_budget_tokens": ("neutral", "sets a prompt budget"),
    "prompt.instructions_budget_tokens": ("neutral", "sets a prompt budget"),
    "mcp.timeout": ("lower", "lets MCP calls run longer"),
    "mcp.connect_timeout": ("lower", "lets MCP servers take longer to start"),
    "mcp.description_max_chars": ("neutral", "sets a prompt budget"),
    "mcp.server_description_budget_chars": ("neutral", "sets a prompt budget"),
    "mcp.servers": ("servers", "starts a process at start-up"),
    **{
        f"hooks.{event}": ("loosen", f"runs these commands on every {event} event")
        for event in HOOK_EVENTS
    },
    "checkpoints.enabled": ("higher", "turns checkpoints off"),
    "checkpoints.max_file_bytes": ("higher", "checkpoints fewer files"),
    "checkpoints.max_files": ("higher", "checkpoints fewer files"),
    "sandbox.mode": ("stricter", "confines commands less"),
    "sandbox.writable_roots": ("loosen", "lets commands write outside the workspace"),
    "sandbox.network": ("stricter", "gives commands the network"),
    "sandbox.hide": ("tighten", "hides these paths from commands"),
    "sandbox.backend": ("loosen", "picks the sandbox backend"),
    **{f"hooks.{event}": ("loosen", f"runs these commands on {event}") for event in HOOK_EVENTS},
}
UNCLASSIFIED: tuple[WorkspaceRule, str] = ("loosen", "not known to be safe in an untrusted folder")
_MODE_STRICTNESS = ("plan", "ask", "auto-edit", "auto", "yolo")  # strictest first
_STRICTNESS_ORDERS = (  # each strictest first; a "stricter" key uses the one holding both
    _MODE_STRICTNESS,
    ("read-only", "workspace-write", "off"),  # sandbox.mode
    ("off", "on"),  # sandbox.network
)
_SHOW_MAX = 120


@dataclass(frozen=True)
class IgnoredSetting:
    """A workspace setting left out because the folder is not trusted for its content."""

    key: str  # dotted, e.g. "approvals.mode" or "mcp.servers.docs"
    value: str  # the workspace's value, as shown to the user
    current: str | None  # what applies instead (None: nothing)
    why: str  # what it would do

    def describe(self) -> str:
        """One line: ``approvals.mode = 'yolo' (now 'ask'): asks less before ...``."""
        now = f" (now {self.current})" if self.current is not None else ""
        return f"{self.key} = {self.value}{now}: {self.why}"


@dataclass(frozen=True)
class WorkspaceLayer:
    """The workspace's config file as read once (``data`` None: there is none), and
    whether the user trusts the folder for exactly these bytes (hermes.trust decides)."""

    data: bytes | None
    trusted: bool = False


@dataclass(frozen=True)
class ConfigReport:
    """The effective config and what of the workspace's config it leaves out."""

    config: Config
    workspace_file: Path
    trusted: bool
    ignored: tuple[IgnoredSetting, ...] = ()


def workspace_config_file(workspace: Path) -> Path:
    """The workspace's own config file."""
    return workspace / ".hermes" / "config.yaml"


def workspace_rule(key: str) -> tuple[WorkspaceRule, str]:
    """The rule for a dotted key (``mcp.servers.NAME...`` share one); unknown keys loosen."""
    if key.startswith("mcp.servers.") or key == "mcp.servers":
        return WORKSPACE_RULES["mcp.servers"]
    return WORKSPACE_RULES.get(key, UNCLASSIFIED)


def _show(value: Any) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, tuple):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
    elif isinstance(value, McpServerConfig):
        text = _show_server(value)
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    else:
        text = repr(value)
    return text if len(text) <= _SHOW_MAX else text[: _SHOW_MAX - 1] + "…"


def _show_server(server: McpServerConfig) -> str:
    import shlex

    if server.command is not None:
        text = "command " + shlex.join([server.command, *server.args])
        if server.env:
            text += f", env {', '.join(sorted(server.env))}"
        if server.cwd:
            text += f", cwd {server.cwd}"
    else:
        text = f"url {server.url}"
        if server.headers:  # names only: values may hold secrets
            text += f", headers {', '.join(sorted(server.headers))}"
    return text if server.enabled else text + " (disabled)"


def _tightens(rule: WorkspaceRule, old: Any, new: Any) -> bool:
    """Whether ``new`` replacing the user's ``old`` can only make hermes stricter."""
    try:
        if rule in ("tighten", "neutral"):
            return True
        if rule == "lower":
            return new is not None and (old is None or new <= old)
        if rule == "higher":
            return old is not None and new is not None and new >= old
        if rule == "stricter":
            order = next((o for o in _STRICTNESS_ORDERS if new in o and old in o), ())
            return bool(order) and order.index(new) <= order.index(old)
    except TypeError:
        return False
    return False


def _split_layer(
    raw: dict[str, Any],
    cls: type,
    user: Any,
    full: Any,
    prefix: str,
    trusted: bool,
    ignored: list[IgnoredSetting],
) -> dict[str, Any]:
    """The part of a validated workspace document that applies; what does not is added
    to ``ignored``. ``user``/``full``: the config without and with the whole document."""
    hints = typing.get_type_hints(cls)
    applied: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}.{key}" if prefix else key
        tp = hints[key]
        if path not in WORKSPACE_RULES and isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if isinstance(value, dict):
                sub = _split_layer(
                    value, tp, getattr(user, key), getattr(full, key), path, trusted, ignored
                )
                if sub:
                    applied[key] = sub
            continue
        rule, why = workspace_rule(path)
        old, new = getattr(user, key), getattr(full, key)
        if rule == "servers":
            kept = _split_servers(value or {}, old, new, path, why, trusted, ignored)
            if kept:
                applied[key] = kept
        elif rule == "tighten" and isinstance(new, tuple):
            applied[key] = [*old, *(x for x in new if x not in old)]  # added, never replaced
        elif trusted or new == old or _tightens(rule, old, new):
            applied[key] = value
        else:
            ignored.append(IgnoredSetting(path, _show(new), _show(old), why))
    return applied


def _split_servers(
    raw: dict[str, Any],
    user: dict[str, McpServerConfig],
    full: dict[str, McpServerConfig],
    path: str,
    why: str,
    trusted: bool,
    ignored: list[IgnoredSetting],
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, body in raw.items():
        new, old = full[name], user.get(name)
        only_disables = old is not None and dataclasses.replace(old, enabled=False) == new
        if trusted or new == old or only_disables:
            kept[name] = body
            continue
        what = why if new.command is not None else "connects to this server"
        current = _show_server(old) if old is not None else None
        ignored.append(IgnoredSetting(f"{path}.{name}", _show_server(new), current, what))
    return kept


def _lookup(cfg: Any, key: str) -> Any:
    value = cfg
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value


def _finish(cfg: Config, flags: Overrides, env: typing.Mapping[str, str]) -> Config:
    cfg = _apply_env(cfg, env)
    cfg = _apply_flags(cfg, flags)
    cfg = dataclasses.replace(cfg, api_key=resolve_api_key(cfg, flags, env))
    redact.register_credentials(cfg.api_key, cfg.model.api_key_env, env)
    return cfg


def load_config_report(
    workspace: Path,
    flags: Overrides | None = None,
    env: typing.Mapping[str, str] | None = None,
    *,
    layer: WorkspaceLayer | None = None,
) -> ConfigReport:
    """Build the effective config: defaults, ``$HERMES_HOME/config.yaml``, the workspace's
    ``.hermes/config.yaml`` (``layer``: its bytes as read once and whether they are
    trusted; None reads the file, untrusted), environment variables, then flags.

    The whole workspace file is validated; in an untrusted folder only what tightens
    (or cannot loosen) applies, and ``ignored`` lists the rest, leaving out what a flag
    or the environment sets anyway."""
    env = os.environ if env is None else env
    flags = flags or Overrides()
    user = read_config_file(paths.config_path())
    where = workspace_config_file(workspace)
    if layer is None:
        try:
            layer = WorkspaceLayer(where.read_bytes())
        except FileNotFoundError:
            layer = WorkspaceLayer(None)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the config file: {exc}") from exc
    raw = _yaml_document(layer.data, where) if layer.data is not None else None
    full = parse_config(raw, str(where), user)  # every error names the key and the file
    if not raw:
        return ConfigReport(_finish(full, flags, env), where, layer.trusted)
    assert isinstance(raw, dict)  # parse_config refused anything else
    found: list[IgnoredSetting] = []
    cfg = parse_config(
        _split_layer(raw, Config, user, full, "", layer.trusted, found), str(where), user
    )
    final = _finish(cfg, flags, env)
    if not found:
        return ConfigReport(final, where, layer.trusted)
    whole = parse_config(_split_layer(raw, Config, user, full, "", True, []), str(where), user)
    whole = _finish(whole, flags, env)
    ignored = tuple(i for i in found if _lookup(whole, i.key) != _lookup(final, i.key))
    return ConfigReport(final, where, layer.trusted, ignored)


def load_config(
    workspace: Path,
    flags: Overrides | None = None,
    env: typing.Mapping[str, str] | None = None,
    *,
    layer: WorkspaceLayer | None = None,
) -> Config:
    """The effective config (see :func:`load_config_report`; an untrusted workspace file
    only tightens)."""
    return load_config_report(workspace, flags, env, layer=layer).config
