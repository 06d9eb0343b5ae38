"""What trust covers: the config file and the commands/agents folders, by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import ConfigError
from hermes.trust.material import read_material


def test_digest_follows_the_content_of_every_trusted_file(workspace: Path) -> None:
    empty = read_material(workspace)
    assert (empty.folder, empty.config_data) == (workspace.resolve(), None)
    assert empty.digest.startswith("sha256:") and read_material(workspace) == empty
    seen = {empty.digest}
    hermes_dir = workspace / ".hermes"
    hermes_dir.mkdir()
    config = hermes_dir / "config.yaml"
    for step in (
        lambda: config.write_text("model: {name: a}\n"),
        lambda: config.write_text("model: {name: b}\n"),
        lambda: (hermes_dir / "commands").mkdir(),
        lambda: (hermes_dir / "commands" / "fix.md").write_text("fix it"),
        lambda: (hermes_dir / "commands" / "fix.md").write_text("fix it now"),
        lambda: (hermes_dir / "agents" / "sub").mkdir(parents=True),
        lambda: (hermes_dir / "agents" / "sub" / "r.md").write_text("review"),
        lambda: (hermes_dir / "agents" / "sub" / "r.md").rename(hermes_dir / "agents" / "r.md"),
    ):
        step()
        digest = read_material(workspace).digest
        assert digest not in seen
        seen.add(digest)
    (hermes_dir / "skills").mkdir()  # not covered: skills only add prompt text
    (hermes_dir / "skills" / "x.md").write_text("x")
    assert read_material(workspace).digest in seen
    assert read_material(workspace).config_data == b"model: {name: b}\n"


def test_a_symlinked_path_is_the_same_folder(workspace: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(workspace)
    assert read_material(link) == read_material(workspace)


def test_an_unreadable_config_is_an_error(workspace: Path) -> None:
    (workspace / ".hermes" / "config.yaml").mkdir(parents=True)  # unreadable even for root
    with pytest.raises(ConfigError, match="cannot read the config file"):
        read_material(workspace)
