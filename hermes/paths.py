"""Where hermes keeps its state. ``HERMES_HOME`` decides; default ``~/.hermes``."""

from __future__ import annotations

import os
from pathlib import Path


def hermes_home() -> Path:
    """The state directory (not created here)."""
    env = os.environ.get("HERMES_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".hermes"


def database_path() -> Path:
    return hermes_home() / "hermes.db"


def config_path() -> Path:
    return hermes_home() / "config.yaml"


def outputs_dir() -> Path:
    """Where full tool outputs are saved when what the model sees was capped."""
    return hermes_home() / "outputs"
