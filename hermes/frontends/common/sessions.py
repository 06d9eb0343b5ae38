"""Opening and finding sessions for the interactive front ends (no textual here).

:class:`Launcher` turns the command-line flags into a ready engine for a new or a
resumed session (through :func:`hermes.engine.startup.prepare_session`, like every front end);
:func:`find_sessions` is what the session picker lists: recent sessions of this
workspace first, or full-text search hits when the store can search.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass
from pathlib import Path

from hermes.config import ConfigError
from hermes.engine.startup import (
    Setup,
    StartupError,
    find_resume,
    load,
    load_checked,
    load_workspace_config,
    open_db,
    prepare_session,
)
from hermes.model.endpoint import check_endpoint
from hermes.store.sessions import SessionNotFound, SessionRecord, Store, StoreError
from hermes.trust.store import TrustError
from hermes.trust.workspace import TrustQuestion, trust_answer


class NotReady(RuntimeError):
    """The session is still being opened (the TUI opens it after the first frame)."""


class Launcher:
    """Opens sessions as the flags say; ``/new`` and ``/resume`` come back here."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._declined: set[tuple[Path, str]] = set()  # "n" to trust: not asked again

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
        workspace, config = load(args, quiet=True)  # untrusted settings: asked in the UI
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
        return self._unasked(prepare_session(self._first_args(), interactive=True))

    def open(self, resume: str | None = None) -> Setup:
        """A new session, or session ``resume``; raises StartupError."""
        return self._unasked(prepare_session(self._open_args(resume), interactive=True))

    def _open_args(self, resume: str | None) -> argparse.Namespace:
        args = copy.copy(self.args)
        args.resume = resume
        args.continue_ = False
        return args

    def _unasked(self, setup: Setup) -> Setup:
        if setup.trust is not None and setup.trust.key in self._declined:
            setup.trust = None
        return setup

    # ------------------------------------------------------------------ folder trust

    def first_question(self) -> TrustQuestion | None:
        """What the first session's workspace config would change untrusted (None:
        nothing to ask); raises StartupError."""
        return self._question(self._first_args())

    def open_question(self, resume: str | None = None) -> TrustQuestion | None:
        """The same for :meth:`open` (``/new``, ``/resume``)."""
        return self._question(self._open_args(resume))

    def _question(self, args: argparse.Namespace) -> TrustQuestion | None:
        workspace, _config, question = load_checked(args)
        store = open_db()
        try:
            record = find_resume(args, store, workspace)
        finally:
            store.close()
        stored = Path(record.workspace) if record is not None else workspace
        if stored != workspace and stored.is_dir():  # resume runs that folder's config
            question = load_workspace_config(stored, args).question
        if question is not None and question.key in self._declined:
            return None
        return question

    def answer_trust(self, question: TrustQuestion, trusted: bool) -> None:
        """``y``: trust the folder for the content shown; ``n``: run without it and do
        not ask again in this process. Raises StartupError when trust cannot be saved."""
        if not trusted:
            self._declined.add(question.key)
            return
        try:
            trust_answer(question)
        except TrustError as exc:
            raise StartupError(str(exc), exit_code=1) from exc


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
