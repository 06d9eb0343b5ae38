"""``$HERMES_HOME/trust.json``: the folders the user trusts, each for one content hash.

Written atomically (a reader sees the old file or the new one) under an advisory lock, so
two hermes processes trusting folders at once both keep theirs. A file hermes cannot
read is never overwritten: a change says what is wrong instead, and no folder counts as
trusted until it is fixed (fail closed).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes import paths
from hermes.durable import write_atomic

VERSION = 1


class TrustError(Exception):
    """``trust.json`` cannot be read or written; the message says which file and why."""


@dataclass(frozen=True)
class TrustRecord:
    """One trusted folder: its real path, the content hash trusted, and when."""

    folder: str
    digest: str
    trusted_at: float


def trust_file() -> Path:
    """Where trust is recorded."""
    return paths.hermes_home() / "trust.json"


class TrustStore:
    """Trust records in one JSON file (default :func:`trust_file`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or trust_file()

    def records(self) -> list[TrustRecord]:
        """Every record, sorted by folder; TrustError when the file is unreadable."""
        return sorted(self._read().values(), key=lambda r: r.folder)

    def get(self, folder: Path) -> TrustRecord | None:
        """The record of ``folder`` (a real path), if any."""
        return self._read().get(str(folder))

    def is_trusted(self, folder: Path, digest: str) -> bool:
        """Whether ``folder`` (a real path) is trusted for content ``digest``. An
        unreadable file trusts nothing."""
        try:
            record = self.get(folder)
        except TrustError:
            return False
        return record is not None and record.digest == digest

    def trust(self, folder: Path, digest: str, now: float | None = None) -> TrustRecord:
        """Trust ``folder`` (a real path) for ``digest``, replacing an earlier record."""
        record = TrustRecord(str(folder), digest, time.time() if now is None else now)
        with self._locked():
            found = self._read()
            found[record.folder] = record
            self._write(found)
        return record

    def revoke(self, folder: Path) -> TrustRecord | None:
        """Forget ``folder``; returns the record removed, or None."""
        with self._locked():
            found = self._read()
            record = found.pop(str(folder), None)
            if record is not None:
                self._write(found)
        return record

    # ------------------------------------------------------------------ file

    def _read(self) -> dict[str, TrustRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise TrustError(f"{self.path}: cannot read the trust records: {exc}") from exc
        try:
            raw = json.loads(text)
            return _parse(raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise TrustError(
                f"{self.path}: not a trust file hermes can read ({exc}); fix or delete it "
                "(deleting it untrusts every folder)"
            ) from exc

    def _write(self, records: dict[str, TrustRecord]) -> None:
        doc: dict[str, Any] = {
            "version": VERSION,
            "folders": {
                r.folder: {"digest": r.digest, "trusted_at": r.trusted_at}
                for r in sorted(records.values(), key=lambda r: r.folder)
            },
        }
        data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            write_atomic(self.path, data, mode=0o600, sync_dir=True)
        except OSError as exc:
            raise TrustError(f"{self.path}: cannot write the trust records: {exc}") from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(
                self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600
            )
        except OSError as exc:
            raise TrustError(f"{self.path}: cannot lock the trust records: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _parse(raw: Any) -> dict[str, TrustRecord]:
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise ValueError(f"expected an object with version {VERSION}")
    folders = raw["folders"]
    if not isinstance(folders, dict):
        raise ValueError("'folders' must be an object")
    out: dict[str, TrustRecord] = {}
    for folder, entry in folders.items():
        digest, at = entry["digest"], entry["trusted_at"]
        if not isinstance(digest, str) or not isinstance(at, int | float):
            raise ValueError(f"bad record for {folder}")
        out[folder] = TrustRecord(folder, digest, float(at))
    return out
