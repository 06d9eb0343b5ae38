"""``hermes trust [PATH]``, ``hermes trust list [--json]``, ``hermes trust revoke PATH``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hermes.cli.main import main
from hermes.trust.material import read_material
from hermes.trust.store import TrustStore


def ws_config(workspace: Path, text: str) -> Path:
    path = workspace / ".hermes" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_trust_says_what_now_applies_and_records_the_content(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws_config(workspace, "approvals: {mode: yolo}\n")
    code, out, _ = run(capsys, "trust", str(workspace))
    assert code == 0
    assert out.splitlines() == [
        f"trusted {workspace} (as its .hermes files are now; a change asks again)",
        "  now applies:",
        "    approvals.mode = 'yolo' (now 'ask'): asks less before running calls",
    ]
    [record] = TrustStore().records()
    assert (record.folder, record.digest) == (str(workspace), read_material(workspace).digest)


def test_trust_defaults_to_the_current_folder(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    code, out, _ = run(capsys, "trust")
    assert code == 0
    assert out.splitlines() == [
        f"trusted {workspace} (as its .hermes files are now; a change asks again)",
        "  its config changes nothing that needed trust",
    ]


def test_list_shows_trusted_changed_and_missing(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "trust", "list") == (
        0,
        "no trusted folders (hermes trust [PATH] trusts one)\n",
        "",
    )
    config = ws_config(workspace, "approvals: {mode: yolo}\n")
    gone = tmp_path / "gone"
    gone.mkdir()
    run(capsys, "trust", str(workspace))
    run(capsys, "trust", str(gone))
    gone.rmdir()
    code, out, _ = run(capsys, "trust", "list", "--json")
    assert code == 0
    assert [(r["folder"], r["state"]) for r in json.loads(out)] == [
        (str(gone), "missing"),
        (str(workspace), "trusted"),
    ]
    config.write_text("approvals: {mode: auto-edit}\n")
    code, out, _ = run(capsys, "trust", "list")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["missing", "changed"]
    assert lines[1].endswith(f"{workspace}  (changed since: untrusted until trusted again)")


def test_revoke_forgets_a_folder(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "trust", str(workspace))
    assert run(capsys, "trust", "revoke", str(workspace)) == (
        0,
        f"revoked trust in {workspace}\n",
        "",
    )
    assert TrustStore().records() == []
    code, out, err = run(capsys, "trust", "revoke", str(workspace))
    assert (code, out) == (1, "")
    assert err == f"hermes: error: {workspace} is not a trusted folder (see 'hermes trust list')\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("trust", "revoke"), "'hermes trust revoke' needs the folder to forget"),
        (("trust", "list", "x"), "'hermes trust list' takes no folder"),
        (("trust", "a", "b"), "trust one folder at a time: hermes trust [PATH]"),
        (("trust", "no-such-dir"), "no-such-dir is not a directory"),
    ],
)
def test_bad_usage_exits_2(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *argv) == (2, "", f"hermes: error: {message}\n")


def test_a_broken_config_is_not_trusted(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ws_config(workspace, "approvals: {mode: sometimes}\n")
    code, _, err = run(capsys, "trust", str(workspace))
    assert code == 2 and str(config) in err and "fix the config before trusting" in err
    assert TrustStore().records() == []


def test_a_damaged_trust_file_is_an_error_and_kept(
    workspace: Path, hermes_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (hermes_home / "trust.json").write_text("{oops")
    code, _, err = run(capsys, "trust", str(workspace))
    assert code == 1 and "trust.json: not a trust file hermes can read" in err
    assert run(capsys, "trust", "list")[0] == 1
    assert (hermes_home / "trust.json").read_text() == "{oops"
