"""Benchmark resuming a 10,000-message session until the first request reaches the model.

Run: ``python bench/bench_resume.py [--messages 10000] [--runs 5]``.

Builds a session of ``--messages`` messages (user prompts, assistant replies with tool
calls, tool results; the last call left unanswered as after a kill -9, so resume also
synthesizes a result), then measures, against the scripted server:

- in process: ``prepare_session`` (config, open the database, find the session, build
  the engine) + ``Engine.start`` (load, rebuild the view, synthesize, replay) + the new
  user message, until the server has received the request;
- the CLI: ``hermes -p ... --resume ID`` from process spawn until the server has received
  the request (adds interpreter start-up and imports).

Wall time depends on the machine's load; the in-process CPU time (every thread of the
process, the scripted server's parsing of the request included) is steadier. The context
window is set large enough that the history is sent as it is (no compaction
request comes first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hermes.messages import Message, ToolCall
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply

WORDS = "the file test error config path value function return module parser session".split()


def build(store: Store, workspace: str, n: int) -> str:
    rng = random.Random(5)
    sid = store.create_session(workspace, "scripted-model", "yolo", "long session").id
    i = 0
    with store.write() as db:
        while i < n - 2:
            store._insert(
                db, sid, Message("user", " ".join(rng.choices(WORDS, k=20))), False, False, "done"
            )
            calls = tuple(
                ToolCall(f"c{i}_{k}", "read_file", json.dumps({"path": f"src/m{k}.py"}))
                for k in range(rng.randrange(1, 3))
            )
            store._insert(db, sid, Message("assistant", None, calls), False, False, "done")
            for c in calls:
                out = " ".join(rng.choices(WORDS, k=rng.choice((10, 30, 60))))
                store._insert(
                    db, sid, Message("tool", out, tool_call_id=c.id), False, False, "done"
                )
            store._insert(
                db,
                sid,
                Message("assistant", "Done: " + " ".join(rng.choices(WORDS, k=15))),
                False,
                False,
                "done",
            )
            i += 3 + len(calls)
        lost = ToolCall("lost", "terminal", '{"command": "make"}')
        store._insert(db, sid, Message("user", "build it"), False, False, "done")
        store._insert(db, sid, Message("assistant", None, (lost,)), False, False, "running")
    return sid


async def in_process(server: ScriptedServer, sid: str, workspace: Path) -> tuple[float, float]:
    from hermes import protocol as p
    from hermes.cli.main import build_parser
    from hermes.engine.startup import prepare_session

    server.add(ScriptedReply(text="ok"))
    before = len(server.requests)
    args = build_parser().parse_args(
        ["-p", "go on", "--resume", sid, "--base-url", server.base_url, "-C", str(workspace)]
    )
    t, cpu = time.perf_counter(), time.process_time()
    setup = prepare_session(args, interactive=False)
    engine = setup.engine
    await engine.start()
    await engine.submit(p.UserTurn("go on"))
    arrived = await asyncio.to_thread(server.wait_for_requests, before + 1, 60)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    assert arrived and not server.rejections, server.rejections
    async for ev in engine.events():
        if isinstance(ev, p.TurnComplete | p.TurnAborted):
            break
    await engine.submit(p.Shutdown())
    setup.close()
    return elapsed, cpu


def cli(server: ScriptedServer, sid: str, workspace: Path) -> float:
    server.add(ScriptedReply(text="ok"))
    before = len(server.requests)
    t = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hermes",
            "-p",
            "go on",
            "--resume",
            sid,
            "--base-url",
            server.base_url,
        ],
        cwd=workspace,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert server.wait_for_requests(before + 1, 60)
    elapsed = time.perf_counter() - t
    proc.wait(60)
    assert not server.rejections
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        os.environ["HERMES_HOME"] = str(home)
        (home / "config.yaml").write_text("model:\n  context_window: 2000000\n")
        store = Store(home / "hermes.db")
        sids = [build(store, str(workspace), args.messages) for _ in range(2 * args.runs + 1)]
        count = store.get_session(sids[0]).message_count
        store.close()
        print(f"session of {count:,} messages ({args.runs} runs each, every run on a fresh copy)")
        with ScriptedServer() as server:
            asyncio.run(in_process(server, sids[-1], workspace))  # warm imports and caches
            inproc = [asyncio.run(in_process(server, sids[i], workspace)) for i in range(args.runs)]
            sent = server.requests[-1]
            print(f"request: {len(sent.messages):,} messages, {sent.raw_size / 1e6:.1f} MB")
            spawned = [cli(server, sids[args.runs + i], workspace) for i in range(args.runs)]
    cpu = [c * 1e3 for _, c in inproc]
    for name, xs in (
        ("in process", [w for w, _ in inproc]),
        ("hermes -p --resume (spawn)", spawned),
    ):
        ms = [x * 1e3 for x in xs]
        print(
            f"{name:<28} median {statistics.median(ms):7.1f} ms  min {min(ms):7.1f}  max {max(ms):7.1f}"
        )
    print(
        f"{'in process, CPU time':<28} median {statistics.median(cpu):7.1f} ms  min {min(cpu):7.1f}"
        "  (every thread of the process, the scripted server's included)"
    )


if __name__ == "__main__":
    main()
