"""Checkpoint cost for a turn that patches one file in a 10,000-file workspace.

    python bench/bench_checkpoints.py [--files 10000] [--runs 30]

A throwaway HERMES_HOME and workspace (100 directories x 100 files of ~1.2 KB) are made
in a temp dir; the shadow index is warmed first, as the background scan at a session's
first turn does. Each run is one turn that patches one file, through the same calls the
engine makes (``ShadowRepo.record`` + the checkpoint row, then ``record_post``):

- ``pre``: the checkpoint before the patch runs (blob, trees and commit written in
  process as one fsynced pack, ref moved, row committed to SQLite): the part on the
  turn's critical path;
- ``post``: recording what the agent left, when the turn ends;
- ``turn total``: pre + post, the checkpoint cost of the turn (goal < 50 ms);
- for reference: the workspace scan a command's checkpoint makes (incremental, one file
  changed) and the one-off first scan that warms the shadow index.

Median and p95 over ``--runs`` of wall time and of CPU time (this process plus its git
children: it leaves out waiting for fsync and for a CPU, so it says more on a busy
machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _make_workspace(root: Path, count: int) -> list[str]:
    rels = []
    per_dir = 100
    for i in range(count):
        rel = f"pkg{i // per_dir:03d}/mod{i % per_dir:03d}.py"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# module {i}\n" + "def f(x):\n    return x + 1\n" * 30)
        rels.append(rel)
    return rels


def _measure(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms of this process and its git children) of one call."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    wall_ms = (time.perf_counter() - wall) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return wall_ms, (time.process_time() - cpu + child) * 1000


def _stats(samples: list[tuple[float, float]]) -> str:
    def med_p95(values: list[float]) -> tuple[float, float]:
        data = sorted(values)
        return statistics.median(data), data[min(len(data) - 1, int(0.95 * len(data)))]

    wall, cpu = med_p95([s[0] for s in samples]), med_p95([s[1] for s in samples])
    return (
        f"wall median {wall[0]:6.2f} ms  p95 {wall[1]:6.2f} ms | "
        f"CPU median {cpu[0]:6.2f} ms  p95 {cpu[1]:6.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hermes-bench-ckpt-"))
    os.environ["HERMES_HOME"] = str(tmp / "home")
    from hermes.checkpoints import ops
    from hermes.checkpoints import records as cs
    from hermes.checkpoints.objects import EMPTY_TREE
    from hermes.config import CheckpointsConfig
    from hermes.store.sessions import Store

    ws = tmp / "ws"
    ws.mkdir()
    rels = _make_workspace(ws, args.files)
    store = Store(tmp / "home" / "hermes.db")
    session = store.create_session(str(ws), "bench", "yolo")
    repo = ops.open_repo(ws, CheckpointsConfig(max_files=max(50_000, args.files * 2)))

    started = time.perf_counter()
    repo.snapshot_all(list_ignored=False)
    warm_ms = (time.perf_counter() - started) * 1000

    pre: list[tuple[float, float]] = []
    post: list[tuple[float, float]] = []
    scan: list[tuple[float, float]] = []
    for run in range(args.runs):
        turn = cs.start_turn(store, session.id, f"patch run {run}").turn
        rel = rels[(run * 7919) % len(rels)]

        def before(turn: int = turn, rel: str = rel, run: int = run) -> None:
            commit, snap = repo.record(session.id, [rel], f"turn {turn}: before patch")
            cs.add_checkpoint(
                store, session.id, turn, f"p{run}", "write", commit, (rel,), snap.skipped
            )

        pre.append(_measure(before))
        path = ws / rel
        path.write_text(path.read_text().replace("x + 1", f"x + {run + 2}", 1))  # the patch
        post.append(_measure(lambda turn=turn: ops.record_post(store, repo, session.id, turn)))
        scan.append(_measure(repo.snapshot_all))
    changes = ops.changes_of(store, repo, session.id, turn, finish=False)
    assert [c.path for c in changes.changes] == [rel], changes
    assert repo.tree_of(repo.head(session.id)) != EMPTY_TREE
    store.close()

    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"workspace: {args.files:,} files; {args.runs} runs; {git}; "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs, load average {load}"
    )
    total = [(a[0] + b[0], a[1] + b[1]) for a, b in zip(pre, post, strict=True)]
    print(f"pre  (before the patch)       {_stats(pre)}")
    print(f"post (what the agent left)    {_stats(post)}")
    print(f"turn total (pre + post)       {_stats(total)}")
    print(f"command scan (incremental)    {_stats(scan)}")
    print(f"first scan (warms the index)  {warm_ms:8.1f} ms wall (once per workspace)")
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
