"""What the interactive front ends remember between runs, besides sessions (no textual).

The text left in the input when hermes quit, per workspace, so the next start there
shows it again (``$HERMES_HOME/drafts/``); and notices to say only once ever, like an
unknown context window (``$HERMES_HOME/notices_seen``). Both are conveniences: a
failure to read or write them is ignored, never shown.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hermes.durable import write_atomic
from hermes.paths import hermes_home

MAX_SEEN = 500


def _draft_file(workspace: Path | str) -> Path:
    key = hashlib.sha256(str(workspace).encode()).hexdigest()[:20]
    return hermes_home() / "drafts" / key


def load_input_draft(workspace: Path | str) -> str:
    """The input text kept when hermes last quit in ``workspace`` ("" when none)."""
    try:
        data = json.loads(_draft_file(workspace).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    text = data.get("text") if isinstance(data, dict) else None
    return text if isinstance(text, str) and data.get("workspace") == str(workspace) else ""


def save_input_draft(workspace: Path | str, text: str) -> None:
    """Keep ``text`` for the next start in ``workspace`` (blank: forget the draft)."""
    path = _draft_file(workspace)
    try:
        if not text.strip():
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"workspace": str(workspace), "text": text}, ensure_ascii=False)
        write_atomic(path, data.encode("utf-8"))
    except OSError:
        pass


def first_time(key: str) -> bool:
    """True the first time ``key`` is asked about (ever, in this HERMES_HOME); False
    after. A notice keyed by its text is thus shown once, not in every session."""
    path = hermes_home() / "notices_seen"
    try:
        seen = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        seen = []
    if not isinstance(seen, list):
        seen = []
    if key in seen:
        return False
    seen = [*seen, key][-MAX_SEEN:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(seen, ensure_ascii=False).encode("utf-8"))
    except OSError:
        pass
    return True
