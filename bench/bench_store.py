"""Benchmark the cost of committing one tool result (WAL, ``synchronous=FULL``).

Run: ``python bench/bench_store.py [--n 2000] [--dir DIR]``.

Each sample is one ``Store.append_message`` of a tool result (an ``IMMEDIATE``
transaction: insert, FTS index trigger, call status update, session counter, fsync of
the WAL), exactly what the turn loop does as each result is produced. Output sizes
follow a mix of small and large tool outputs; secrets redaction is included. The
database lives in ``--dir`` (default: a temp dir on the same disk as ``$TMPDIR``), so the
figure includes a real fsync. Also reported: the ``set_call_status`` commit that
precedes a command, and an assistant message with three calls.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from hermes.messages import Message, ToolCall
from hermes.store.sessions import Store

WORDS = (
    "def return self path config error retry server request module tests parser token "
    "session database migration schema approval import class value data result output"
).split()


def text(rng: random.Random, size: int) -> str:
    out: list[str] = []
    n = 0
    while n < size:
        line = " ".join(rng.choices(WORDS, k=rng.randrange(4, 12)))
        out.append(line)
        n += len(line) + 1
    return "\n".join(out)[:size]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    return (
        statistics.median(s),
        s[min(len(s) - 1, int(0.95 * len(s)))],
        s[min(len(s) - 1, int(0.99 * len(s)))],
    )


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="tool results to commit")
    parser.add_argument("--dir", help="directory for the database (default: a temp dir)")
    parser.add_argument(
        "--sync",
        choices=("full", "off"),
        default="full",
        help="full: as hermes runs; off: no fsync, to see what the fsync costs (reference only)",
    )
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        store = Store(Path(tmp) / "bench.db")
        if args.sync == "off":
            store._db.execute("PRAGMA synchronous=OFF")
        sync = store._db.execute("PRAGMA synchronous").fetchone()[0]
        mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
        sid = store.create_session(tmp, "bench", "ask").id
        results: list[float] = []
        statuses: list[float] = []
        assistants: list[float] = []
        sizes = [200, 800, 2000, 8000, 30_000]
        for i in range(args.n):
            calls = tuple(
                ToolCall(f"c{i}_{k}", "read_file", f'{{"path": "f{k}.py"}}') for k in range(3)
            )
            reply = Message("assistant", None, calls)
            assistants.append(timed(partial(store.append_message, sid, reply)))
            statuses.append(timed(partial(store.set_call_status, sid, calls[0].id, "running")))
            for call in calls:
                body = text(rng, rng.choice(sizes))
                msg = Message("tool", body, tool_call_id=call.id)
                results.append(timed(partial(store.append_message, sid, msg)))
        store.close()
    print(
        f"python {platform.python_version()}, sqlite {__import__('sqlite3').sqlite_version}, "
        f"{os.cpu_count()} CPUs, journal_mode={mode}, synchronous={sync} (2 = FULL)"
    )
    for name, samples in (
        ("tool result commit", results),
        ("call status commit", statuses),
        ("assistant + 3 calls", assistants),
    ):
        p50, p95, p99 = percentiles(samples)
        print(
            f"{name:<22} n={len(samples):>6}  p50 {p50:.3f} ms  p95 {p95:.3f} ms  p99 {p99:.3f} ms"
        )


if __name__ == "__main__":
    main()
