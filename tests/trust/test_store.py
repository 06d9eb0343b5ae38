"""``$HERMES_HOME/trust.json``: records kept, replaced, revoked; a bad file trusts nothing
and is never overwritten."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hermes.trust.store import TrustError, TrustRecord, TrustStore, trust_file


def test_trust_replace_list_revoke(hermes_home: Path) -> None:
    store = TrustStore()
    assert store.path == hermes_home / "trust.json" == trust_file()
    assert (store.records(), store.is_trusted(Path("/a"), "sha256:1")) == ([], False)
    store.trust(Path("/b"), "sha256:2", now=20.0)
    store.trust(Path("/a"), "sha256:1", now=10.0)
    assert store.is_trusted(Path("/a"), "sha256:1")
    assert not store.is_trusted(Path("/a"), "sha256:other")
    store.trust(Path("/a"), "sha256:3", now=30.0)  # replaces: one record per folder
    assert TrustStore().records() == [
        TrustRecord("/a", "sha256:3", 30.0),
        TrustRecord("/b", "sha256:2", 20.0),
    ]
    assert store.revoke(Path("/a")) == TrustRecord("/a", "sha256:3", 30.0)
    assert store.revoke(Path("/a")) is None
    assert store.records() == [TrustRecord("/b", "sha256:2", 20.0)]
    assert json.loads(store.path.read_text()) == {
        "version": 1,
        "folders": {"/b": {"digest": "sha256:2", "trusted_at": 20.0}},
    }
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_home_is_created_when_missing(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "new-home" / "trust.json")
    store.trust(Path("/a"), "sha256:1", now=1.0)
    assert store.get(Path("/a")) == TrustRecord("/a", "sha256:1", 1.0)


@pytest.mark.parametrize(
    "text",
    ["{not json", '{"version": 2, "folders": {}}', '{"version": 1, "folders": {"/a": {}}}', "[]"],
)
def test_a_bad_file_trusts_nothing_and_is_not_overwritten(hermes_home: Path, text: str) -> None:
    path = hermes_home / "trust.json"
    path.write_text(text)
    store = TrustStore()
    assert store.is_trusted(Path("/a"), "sha256:1") is False
    with pytest.raises(TrustError) as info:
        store.trust(Path("/a"), "sha256:1")
    assert str(path) in str(info.value) and "fix or delete it" in str(info.value)
    with pytest.raises(TrustError):
        store.records()
    assert path.read_text() == text
