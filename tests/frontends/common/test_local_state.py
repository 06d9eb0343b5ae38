"""The input draft per workspace and notices said once."""

from __future__ import annotations

from pathlib import Path

from hermes.frontends.common.local_state import first_time, load_input_draft, save_input_draft


def test_the_draft_is_per_workspace(tmp_path: Path, hermes_home: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    save_input_draft(a, "half a thought\nsecond line")
    assert load_input_draft(a) == "half a thought\nsecond line"
    assert load_input_draft(b) == ""
    save_input_draft(a, "   ")
    assert load_input_draft(a) == ""


def test_first_time_is_once_per_key(hermes_home: Path) -> None:
    assert first_time("the window of m is unknown") is True
    assert first_time("the window of m is unknown") is False
    assert first_time("the window of n is unknown") is True
    (hermes_home / "notices_seen").write_text("not json")
    assert first_time("after a broken file") is True
