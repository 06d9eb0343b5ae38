"""Checkpoint cost for a turn that patches one file in a 10,000-file workspace.

    python bench/bench_checkpoints.py [--files 10000] [--runs 30]

A throwaway HERMES_HOME and workspace (100 directories x 100 files of ~1 KB) are made
in a temp dir. Reported (median / p95 over ``--runs``):

- ``pre``: the checkpoint before the patch runs (blob + trees + commit written in
  process and fsynced, ref moved, checkpoint row committed to SQLite) — the part on the
  turn's critical path;
- ``post``: recording what the agent left when the turn ends;
- ``turn total``: pre + post, the checkpoint cost of the turn (goal < 50 ms);
- for reference, the workspace scan before a command (incremental, the index warm) and
  the one-off first scan that warms the shadow index (done in the background at the
  first turn of a session).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
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


def _stats(samples: list[float]) -> str:
    data = sorted(samples)
    p95 = data[min(len(data) - 1, int(0.95 * len(data)))]
    return f"median {statistics.median(data):6.2f} ms   p95 {p95:6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hermes-bench-ckpt-"))
    os.environ["HERMES_HOME"] = str(tmp / "home")
    from hermes import checkpoint_ops as ops
    from hermes import checkpoint_store as cs
    from hermes.checkpoint_objects import EMPTY_TREE
    from hermes.config import CheckpointsConfig
    from hermes.store import Store

    ws = tmp / "ws"
    ws.mkdir()
    rels = _make_workspace(ws, args.files)
    store = Store(tmp / "home" / "hermes.db")
    session = store.create_session(str(ws), "bench", "yolo")
    repo = ops.open_repo(ws, CheckpointsConfig(max_files=max(50_000, args.files * 2)))

    started = time.perf_counter()
    repo.snapshot_all(list_ignored=False)
    warm_ms = (time.perf_counter() - started) * 1000

    pre_ms: list[float] = []
    post_ms: list[float] = []
    scan_ms: list[float] = []
    for run in range(args.runs):
        turn = cs.start_turn(store, session.id, f"patch run {run}").turn
        rel = rels[(run * 7919) % len(rels)]
        t0 = time.perf_counter()
        commit, snap = repo.record(session.id, [rel], f"turn {turn}: before patch")
        cs.add_checkpoint(store, session.id, turn, f"p{run}", "write", commit, (rel,), snap.skipped)
        t1 = time.perf_counter()
        path = ws / rel
        path.write_text(path.read_text().replace("x + 1", f"x + {run + 2}", 1))  # the patch
        t2 = time.perf_counter()
        ops.record_post(store, repo, session.id, turn)
        t3 = time.perf_counter()
        pre_ms.append((t1 - t0) * 1000)
        post_ms.append((t3 - t2) * 1000)
        t4 = time.perf_counter()
        repo.snapshot_all()
        scan_ms.append((time.perf_counter() - t4) * 1000)
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
    print(f"pre  (before the patch)       {_stats(pre_ms)}")
    print(f"post (what the agent left)    {_stats(post_ms)}")
    print(
        f"turn total (pre + post)       {_stats([a + b for a, b in zip(pre_ms, post_ms, strict=True)])}"
    )
    print(f"command scan (incremental)    {_stats(scan_ms)}")
    print(f"first scan (warms the index)  {warm_ms:8.1f} ms (once per workspace)")
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
