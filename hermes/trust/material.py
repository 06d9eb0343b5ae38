"""What folder trust covers: the workspace files that can loosen policy or start
processes, read once and hashed.

The config file's bytes are handed to :func:`hermes.config.load_config_report` as read
here, so the content that is parsed is exactly the content whose hash was trusted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hermes.config import ConfigError, WorkspaceLayer, workspace_config_file

# Relative to the workspace. Hooks and MCP servers live in the config file.
TRUSTED_DIRS = (".hermes/commands", ".hermes/agents")
Update = Callable[[bytes], None]
MAX_FILES = 2_000  # per folder; more than that is hashed as "too many" (never trusted twice)


@dataclass(frozen=True)
class WorkspaceMaterial:
    """A workspace's trust-relevant content as read at one moment."""

    folder: Path  # the real path (symlinks followed)
    config_data: bytes | None  # .hermes/config.yaml, None when there is none
    digest: str  # "sha256:<hex>" over the config file and the trusted folders

    def layer(self, trusted: bool) -> WorkspaceLayer:
        """The config layer for :func:`hermes.config.load_config_report`."""
        return WorkspaceLayer(self.config_data, trusted)


def real_folder(path: Path) -> Path:
    """The real path trust is recorded under (``~`` expanded, symlinks followed)."""
    return Path(os.path.realpath(path.expanduser()))


def read_material(workspace: Path) -> WorkspaceMaterial:
    """Read and hash the workspace's config file and trusted folders; ConfigError when
    the config file exists but cannot be read."""
    folder = real_folder(workspace)
    config_file = workspace_config_file(folder)
    h = hashlib.sha256(b"hermes-trust-1\0")
    try:
        config_data: bytes | None = config_file.read_bytes()
    except FileNotFoundError:
        config_data = None
    except OSError as exc:
        raise ConfigError(f"{config_file}: cannot read the config file: {exc}") from exc
    _add(h.update, ".hermes/config.yaml", config_data)
    for rel in TRUSTED_DIRS:
        _add_folder(h.update, folder, rel)
    return WorkspaceMaterial(folder, config_data, "sha256:" + h.hexdigest())


def _add(update: Update, rel: str, data: bytes | None) -> None:
    name = rel.encode("utf-8", "surrogateescape")
    update(len(name).to_bytes(4, "big") + name)
    if data is None:
        update(b"-")
    else:
        update(b"F" + len(data).to_bytes(8, "big") + data)


def _add_folder(update: Update, folder: Path, rel: str) -> None:
    root = folder / rel
    if not root.is_dir():
        _add(update, rel + "/", None)
        return
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in filenames:
            found.append(os.path.relpath(os.path.join(dirpath, name), folder))
        if len(found) > MAX_FILES:
            _add(update, rel + "/", os.urandom(16))  # too many to vouch for: never equal twice
            return
    _add(update, rel + "/", b"")
    for name in sorted(found):
        try:
            data: bytes | None = (folder / name).read_bytes()
        except OSError as exc:
            data = f"unreadable: {type(exc).__name__}".encode()
            name += "\0?"
        _add(update, name, data)
