"""Opening and finding sessions for the interactive front ends (no textual here).

:class:`Launcher` turns the command-line flags into a ready engine for a new or a
resumed session (through :func:`hermes.startup.prepare_session`, like every front end);
:func:`find_sessions` is what the session picker lists: recent sessions of this
workspace first, or full-text search hits when the store can search.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass
from pathlib import Path

from hermes.config import ConfigError, check_endpoint
from hermes.startup import Setup, StartupError, find_resume, load, open_db, prepare_session
from hermes.store import SessionNotFound, SessionRecord, Store, StoreError


class Launcher:
    """Opens sessions as the flags say; ``/new`` and ``/resume`` come back here."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @property
    def wants_picker(self) -> bool:
        """``--resume`` without an ID: the picker opens first."""
        return getattr(self.args, "resume", None) == ""

    def _first_args(self) -> argparse.Namespace:
        if not self.wants_picker:
            return self.args
        args = copy.copy(self.args)
        args.resume = None
        return args

    def check(self) -> None:
        """Raise StartupError for what a person can fix (config, endpoint, database,
        session id) before a screen is drawn; the engine itself loads later."""
        args = self._first_args()
        workspace, config = load(args)
        try:
            check_endpoint(config)
        except ConfigError as exc:
            raise StartupError(str(exc)) from exc
        store = open_db()
        try:
            find_resume(args, store, workspace)
        finally:
            store.close()

    @property
    def workspace(self) -> Path:
        """The workspace the flags name (the session may move to a resumed one's)."""
        return Path(getattr(self.args, "cwd", None) or ".").expanduser().resolve()

    def first(self) -> Setup:
        """The session the flags ask for (a new one when the picker will choose)."""
        return prepare_session(self._first_args(), interactive=True)

    def open(self, resume: str | None = None) -> Setup:
        """A new session, or session ``resume``; raises StartupError."""
        args = copy.copy(self.args)
        args.resume = resume
        args.continue_ = False
        return prepare_session(args, interactive=True)


def discard_if_empty(setup: Setup) -> None:
    """Delete the session when nothing was said in it, then close the store."""
    try:
        sid = setup.engine.state.id
        if setup.store.get_session(sid).message_count == 0:
            setup.store.delete_session(sid)
    except (SessionNotFound, StoreError):
        pass
    finally:
        setup.close()


@dataclass(frozen=True)
class SessionRow:
    """One line of the picker."""

    record: SessionRecord
    here: bool
    snippet: str = ""


def find_sessions(
    store: Store,
    workspace: Path | str,
    query: str = "",
    *,
    exclude: str = "",
    limit: int = 200,
) -> list[SessionRow]:
    """Sessions for the picker: this workspace's first, newest first; empty ones left out.

    With a query: the store's full-text search when it has one (``Store.search``), else
    a match on the title or id.
    """
    ws = str(workspace)
    query = query.strip()
    rows: list[SessionRow] = []
    search = getattr(store, "search", None)
    if query and callable(search):
        seen: set[str] = set()
        for hit in search(query, workspace=None, limit=limit):
            sid = str(getattr(hit, "session_id", ""))
            if not sid or sid in seen or sid == exclude:
                continue
            seen.add(sid)
            try:
                record = store.get_session(sid)
            except StoreError:
                continue
            snippet = str(getattr(hit, "snippet", "") or "")
            rows.append(SessionRow(record, record.workspace == ws, snippet))
    else:
        needle = query.lower()
        for record in store.list_sessions(limit=limit):
            if record.id == exclude or record.message_count == 0:
                continue
            if needle and needle not in record.title.lower() and not record.id.startswith(needle):
                continue
            rows.append(SessionRow(record, record.workspace == ws))
    rows.sort(key=lambda r: (not r.here, -r.record.updated_at))
    return rows
