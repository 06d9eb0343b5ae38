"""The shadow repository: objects written in process are real git objects, scans are
incremental and honour ignores and limits, and restores are byte-exact."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hermes.checkpoints.objects import EMPTY_TREE, Entry, current_entry
from hermes.checkpoints.restore import write_entry
from hermes.checkpoints.shadow import CheckpointError, ShadowRepo, shadow_dir


def repo_for(home: Path, ws: Path, **kw: int) -> ShadowRepo:
    return ShadowRepo(
        home,
        ws,
        max_file_bytes=kw.get("max_file_bytes", 1 << 20),
        max_files=kw.get("max_files", 1000),
    )


def git(repo: ShadowRepo, *args: str) -> str:
    run = subprocess.run(["git", *args], env=repo.env, capture_output=True, text=True, check=True)
    return run.stdout


def fill(ws: Path) -> None:
    for rel in ("a", "a.b", "a-b", "ab", "a/c", "a/d/e.txt", "z/y/x", "crlf.txt"):
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(b"line\r\n" if rel == "crlf.txt" else rel.encode() + b"\n")
    (ws / "tool.sh").write_text("#!/bin/sh\n")
    (ws / "tool.sh").chmod(0o755)
    (ws / "link").symlink_to("a.b")
    (ws / ".gitattributes").write_text("* text=auto eol=lf\n*.txt filter=nope\n")


def test_in_process_trees_and_commits_are_the_ones_git_writes(
    hermes_home: Path, workspace: Path
) -> None:
    (workspace / "a").mkdir()
    fill(workspace)
    repo = repo_for(hermes_home, workspace)
    everything = [p.relative_to(workspace).as_posix() for p in workspace.rglob("*")]
    rels = [r for r in everything if not (workspace / r).is_dir() or (workspace / r).is_symlink()]
    mine = repo.snapshot_paths(EMPTY_TREE, rels)
    assert mine.skipped == ()
    theirs = repo.snapshot_all()
    assert mine.tree == theirs.tree  # same ids: same sort order, modes, bytes (no filters)
    commit = repo.commit("s1", mine.tree, "test")
    assert git(repo, "cat-file", "-t", commit).strip() == "commit"
    git(repo, "fsck", "--strict", "--no-dangling")
    listing = git(repo, "ls-tree", "-r", commit)
    assert "120000 blob" in listing and "100755 blob" in listing
    assert repo.head("s1") == commit and repo.head("other") is None
    blob = repo.objects.lookup(mine.tree, "crlf.txt")
    assert blob is not None and repo.objects.read_blob(blob.sha) == b"line\r\n"
    assert repo.objects.lookup(mine.tree, "a/d/e.txt") is not None
    assert repo.objects.lookup(mine.tree, "a/d") is None  # a directory is not a file entry


def test_the_shadow_lives_under_hermes_home_and_never_in_the_workspace(
    hermes_home: Path, workspace: Path
) -> None:
    (workspace / "f").write_text("x")
    repo = repo_for(hermes_home, workspace)
    repo.snapshot_all()
    assert repo.git_dir == shadow_dir(hermes_home, workspace)
    assert repo.git_dir.parent == hermes_home / "checkpoints"
    assert sorted(p.name for p in workspace.iterdir()) == ["f"]
    assert not (repo.git_dir / "hooks").exists()


def test_scans_are_incremental_and_see_every_kind_of_change(
    hermes_home: Path, workspace: Path
) -> None:
    (workspace / "keep").write_text("keep")
    (workspace / "mod").write_text("aaaa")
    (workspace / "del").write_text("del")
    repo = repo_for(hermes_home, workspace)
    first = repo.snapshot_all()
    assert repo.snapshot_all().tree == first.tree
    (workspace / "mod").write_text("bbbb")  # same size, likely the same second
    (workspace / "del").unlink()
    (workspace / "sub").mkdir()
    (workspace / "sub" / "new").write_text("new")
    second = repo.snapshot_all()
    changed = repo.objects.diff(first.tree, second.tree)
    assert sorted(changed) == ["del", "mod", "sub/new"]
    assert changed["del"][1] is None and changed["sub/new"][0] is None


def test_scan_limits(hermes_home: Path, workspace: Path) -> None:
    for i in range(5):
        (workspace / f"f{i}").write_text("x")
    (workspace / "big").write_bytes(b"y" * 200)
    repo = repo_for(hermes_home, workspace, max_file_bytes=100, max_files=3)
    with pytest.raises(CheckpointError, match=r"more than 3 changed or new files"):
        repo.snapshot_all()
    repo = repo_for(hermes_home, workspace, max_file_bytes=100, max_files=100)
    snap = repo.snapshot_all()
    assert [(s.path, s.reason.split(" (")[0]) for s in snap.skipped] == [("big", "over size limit")]
    assert repo.objects.lookup(snap.tree, "big") is None


def test_internal_and_nested_repositories_are_left_out(hermes_home: Path, workspace: Path) -> None:
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text("x: 1\n")
    nested = workspace / "vendor" / "lib"
    nested.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(nested)], check=True, capture_output=True)
    (nested / "file").write_text("nested")
    (workspace / "ok").write_text("ok")
    repo = repo_for(hermes_home, workspace)
    snap = repo.snapshot_all()
    assert [p for p in repo.objects.diff(EMPTY_TREE, snap.tree)] == ["ok"]
    assert ("vendor/lib/", "nested git repository") in [(s.path, s.reason) for s in snap.skipped]
    paths = repo.snapshot_paths(snap.tree, [".hermes/config.yaml"])
    assert [s.path for s in paths.skipped] == [".hermes/config.yaml"]


def test_write_entry_restores_bytes_modes_and_links(hermes_home: Path, workspace: Path) -> None:
    (workspace / "run").write_bytes(b"\x00\x01binary")
    (workspace / "run").chmod(0o755)
    (workspace / "ln").symlink_to("run")
    repo = repo_for(hermes_home, workspace)
    snap = repo.snapshot_paths(EMPTY_TREE, ["run", "ln"])
    run, ln = (repo.objects.lookup(snap.tree, n) for n in ("run", "ln"))
    assert isinstance(run, Entry) and isinstance(ln, Entry)
    (workspace / "run").unlink()
    (workspace / "ln").unlink()
    (workspace / "ln").write_text("now a file")
    write_entry(repo, workspace / "run", run)
    write_entry(repo, workspace / "ln", ln)
    assert (workspace / "run").read_bytes() == b"\x00\x01binary"
    assert os.access(workspace / "run", os.X_OK)
    assert os.readlink(workspace / "ln") == "run"
    assert current_entry(workspace / "run") == run and current_entry(workspace / "ln") == ln
    write_entry(repo, workspace / "deep" / "er" / "f", run)
    write_entry(repo, workspace / "deep" / "er" / "f", None)
    assert not (workspace / "deep").exists()


def test_a_big_first_scan_goes_to_one_pack_and_reads_back(
    hermes_home: Path, workspace: Path
) -> None:
    (workspace / ".gitattributes").write_text("* text=auto eol=crlf\n")
    for i in range(300):
        (workspace / f"f{i:03d}.txt").write_bytes(f"line {i}\r\nnext\n".encode())
    repo = repo_for(hermes_home, workspace)
    snap = repo.snapshot_all()
    packs = list((repo.git_dir / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 1
    entry = repo.objects.lookup(snap.tree, "f123.txt")
    assert entry is not None and not repo.objects.has(entry.sha)  # not loose: in the pack
    assert repo.objects.read_blob(entry.sha) == b"line 123\r\nnext\n"
    (workspace / "f123.txt").write_text("changed")
    write_entry(repo, workspace / "f123.txt", entry)
    assert (workspace / "f123.txt").read_bytes() == b"line 123\r\nnext\n"
    git(repo, "fsck", "--strict", "--no-dangling")


def test_hermes_home_inside_the_workspace_is_never_recorded(workspace: Path) -> None:
    home = workspace / "state"
    (workspace / "f").write_text("x")
    repo = repo_for(home, workspace)
    snap = repo.snapshot_all()
    snap = repo.snapshot_all()  # the shadow now exists under state/
    assert list(repo.objects.diff(EMPTY_TREE, snap.tree)) == ["f"]


def test_checkpoint_packs_are_valid_and_merge_without_losing_objects(
    hermes_home: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hermes.checkpoints import pack as checkpoint_pack

    monkeypatch.setattr(checkpoint_pack, "REPACK_AFTER", 3)
    repo = repo_for(hermes_home, workspace)
    commits = []
    for i in range(6):
        (workspace / "d" / str(i)).mkdir(parents=True)
        (workspace / "d" / str(i) / "f.txt").write_text(f"version {i}\n")
        commits.append(repo.record("s", [f"d/{i}/f.txt"], f"c{i}")[0])
    packs = repo.git_dir / "objects" / "pack"
    assert len(list(packs.glob("*.idx"))) == 6  # one small pack per checkpoint
    assert git(repo, "cat-file", "-p", f"{commits[-1]}:d/5/f.txt") == "version 5\n"
    thread = repo.maybe_repack()
    assert thread is not None
    thread.join(60)
    assert len(list(packs.glob("*.idx"))) == 1
    git(repo, "fsck", "--strict", "--no-dangling")
    for i, commit in enumerate(commits):  # read in process, after the packs moved
        entry = repo.objects.lookup(repo.tree_of(commit), f"d/{i}/f.txt")
        assert entry is not None and repo.objects.read_blob(entry.sha) == f"version {i}\n".encode()
    assert git(repo, "rev-list", "--count", "refs/hermes/sessions/s").strip() == "6"


def test_a_stale_index_lock_left_by_a_killed_scan_is_cleared(
    hermes_home: Path, workspace: Path
) -> None:
    (workspace / "f").write_text("x")
    repo = repo_for(hermes_home, workspace)
    repo.snapshot_all()
    (repo.git_dir / "hermes-index.lock").write_text("")  # git was killed mid-write
    (workspace / "g").write_text("y")
    snap = repo.snapshot_all()
    assert sorted(repo.objects.diff(EMPTY_TREE, snap.tree)) == ["f", "g"]


def test_checkpoint_rows_go_with_their_session(tmp_path: Path) -> None:
    from hermes.checkpoints import records as cs
    from hermes.store.sessions import Store

    store = Store(tmp_path / "db")
    try:
        sid = store.create_session(str(tmp_path), "m", "ask").id
        turn = cs.start_turn(store, sid, "hello").turn
        cs.add_checkpoint(store, sid, turn, "c1", "write", "0" * 40, ("a",), ())
        assert [r.call_id for r in cs.checkpoints(store, sid)] == ["c1"]
        store.delete_session(sid)
        assert cs.checkpoints(store, sid) == [] and cs.turns(store, sid) == []
    finally:
        store.close()
