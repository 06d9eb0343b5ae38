"""The tools the model calls, installed as ``hermes.tools``. One module per family."""

from __future__ import annotations

from hermes.execution.spec import ToolSpec

from .files import PATCH, READ_FILE, WRITE_FILE
from .search import SEARCH_FILES
from .terminal import TERMINAL
from .todo import TODO_READ, TODO_WRITE


def builtin_tools() -> list[ToolSpec]:
    """The core tools, in the order they are offered to the model."""
    return [READ_FILE, SEARCH_FILES, WRITE_FILE, PATCH, TERMINAL, TODO_WRITE, TODO_READ]


__all__ = ["builtin_tools"]
