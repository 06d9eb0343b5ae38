"""Approval rules kept in config files: the workspace's ``.hermes/config.yaml`` takes the
"always" grants when ``approvals.persist`` is on, and ``hermes approvals`` lists and
revokes them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hermes import paths
from hermes.config import ConfigError, parse_config
from hermes.durable import write_atomic
from hermes.trust.workspace import keeping_trust

RuleList = Literal["allow", "deny"]


@dataclass(frozen=True)
class StoredRule:
    rule: str
    kind: RuleList
    source: Path


def workspace_config_path(workspace: Path) -> Path:
    return workspace / ".hermes" / "config.yaml"


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return raw


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    import yaml

    parse_config(data, str(path))  # never write a file hermes would then refuse
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False)
    write_atomic(path, text.encode("utf-8"), mode=0o600)


def persist_allow_rules(workspace: Path, rules: Iterable[str]) -> Path:
    """Append ``rules`` to ``approvals.allow`` of the workspace config (no duplicates).
    The user's own answer: a folder trusted before (or needing no trust) stays trusted."""
    path = workspace_config_path(workspace)
    with keeping_trust(workspace):
        data = _read_yaml(path)
        approvals = data.setdefault("approvals", {}) or {}
        data["approvals"] = approvals
        allow = list(approvals.get("allow") or [])
        for rule in rules:
            if rule not in allow:
                allow.append(rule)
        approvals["allow"] = allow
        _write_yaml(path, data)
    return path


def list_rules(workspace: Path) -> list[StoredRule]:
    """Allow and deny rules from the user and the workspace config files."""
    out: list[StoredRule] = []
    for path in (paths.config_path(), workspace_config_path(workspace)):
        approvals = _read_yaml(path).get("approvals") or {}
        if not isinstance(approvals, dict):
            continue
        for kind in ("allow", "deny"):
            for rule in approvals.get(kind) or []:
                out.append(StoredRule(str(rule), kind, path))
    return out


def revoke_rule(workspace: Path, rule: str) -> Path | None:
    """Remove an allow rule from the workspace config; returns the file, or None."""
    path = workspace_config_path(workspace)
    data = _read_yaml(path)
    approvals = data.get("approvals")
    if not isinstance(approvals, dict) or rule not in (approvals.get("allow") or []):
        return None
    approvals["allow"] = [r for r in approvals["allow"] if r != rule]
    with keeping_trust(workspace):
        _write_yaml(path, data)
    return path
