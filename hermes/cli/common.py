"""What the ``hermes`` subcommands share: exit codes, the error line, opening the session
database around a command, the workspace ``-C/--cwd`` names, and "how long ago".

Exit codes: 0 done, 1 the command failed (or the database cannot be used), 2 bad usage,
configuration or an unknown session id, 130 stopped with Ctrl+C.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store loads when a command opens it; `hermes -p` imports this module
    from hermes.store.sessions import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


def err(message: str) -> None:
    """Print ``hermes: error: MESSAGE`` on stderr."""
    print(f"hermes: error: {message}", file=sys.stderr)


def with_store(body: Callable[[Store], int]) -> int:
    """Open the session database, return ``body(store)`` and close the database. A
    database that cannot be used is printed and exit 1; an unknown or ambiguous session
    id exit 2."""
    from hermes.store.sessions import SessionNotFound, StoreError, open_store

    try:
        store = open_store()
    except StoreError as exc:
        err(str(exc))
        return EXIT_FAILED
    try:
        return body(store)
    except SessionNotFound as exc:
        err(str(exc))
        return EXIT_USAGE
    except StoreError as exc:
        err(str(exc))
        return EXIT_FAILED
    finally:
        store.close()


def workspace_arg(args: argparse.Namespace) -> Path:
    """The workspace ``-C/--cwd`` names (default: the current directory), resolved.

    Unlike :func:`hermes.engine.startup.workspace_from` it need not exist: listing, or a
    stored session's own workspace, does not depend on it."""
    return Path(getattr(args, "cwd", None) or ".").expanduser().resolve()


def ago(ts: float) -> str:
    """``ts`` (a Unix time) as ``3d ago``, ``5h ago``, ``2m ago`` or ``just now``."""
    delta = max(0.0, time.time() - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return "just now"
