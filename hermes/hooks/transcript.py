"""``transcript_path``: the session so far as JSON lines (the ``hermes sessions export
--format jsonl`` shape), written when a hook is about to run and the session has new
messages since the last write, never otherwise."""

from __future__ import annotations

from pathlib import Path

from hermes.durable import write_atomic
from hermes.paths import hermes_home
from hermes.store.export import export_jsonl
from hermes.store.sessions import Store


def transcripts_dir() -> Path:
    """Where the exports for hooks are kept."""
    return hermes_home() / "transcripts"


class TranscriptFile:
    """The export of one session, rewritten only when the session changed."""

    def __init__(self, store: Store, session_id: str, path: Path | None = None) -> None:
        self.store = store
        self.session_id = session_id
        self.path = path or transcripts_dir() / f"{session_id}.jsonl"
        self._written: tuple[int, float] | None = None

    def write(self) -> str:
        """Bring the file up to date (blocking: call it in a thread); its path."""
        record = self.store.get_session(self.session_id)
        key = (record.message_count, record.updated_at)
        if key != self._written or not self.path.exists():
            stored = self.store.load_messages(self.session_id)
            text = export_jsonl(record, stored, self.store.call_states(self.session_id))
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(self.path, text.encode("utf-8"), mode=0o600)
            self._written = key
        return str(self.path)
