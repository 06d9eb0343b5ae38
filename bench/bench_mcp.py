"""MCP at session start: is input ready as fast with MCP servers configured as with none?

Run: python bench/bench_mcp.py [--runs N]

Each run is a fresh Python process (so the MCP SDK is imported cold, as in a real
start) that builds an interactive engine against the scripted model server, starts
it, and at once submits a prompt, as a user typing fast would. Measured, per process:

- ready: ``Engine.create`` + ``await engine.start()`` until ``SessionStarted`` arrives
  (the moment a front end can take input);
- first request: from the same start until the prompt's request reaches the model;
- max loop stall: the longest gap of a 5 ms ticker on the engine's loop during the
  first 7 s (what a TUI would feel as a frozen keystroke; the SDK is imported in a
  worker thread, servers start as background tasks);
- tools: when the fast servers' tools became available, and the slow one's.

Configurations: no MCP servers; three stdio servers written with the SDK
(tests/mcp_servers/tools_server.py), one of them taking 5 s to start.
Goal (issue 8): input ready as fast with the three servers as with none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = str(ROOT / "tests" / "mcp_servers" / "tools_server.py")


def servers(kind: str) -> dict[str, Any]:
    if kind == "none":
        return {}
    fast = {"command": sys.executable, "args": [SERVER]}
    slow = {"command": sys.executable, "args": [SERVER, "--delay", "5"]}
    return {"one": fast, "two": fast, "slow": slow}


async def one_run(kind: str, phase: str, base_url: str, tmp: Path) -> dict[str, float]:
    from hermes import protocol as p
    from hermes.config import Overrides, load_config, parse_config
    from hermes.engine.engine import Engine
    from hermes.store.sessions import Store

    ws = tmp / "ws"
    ws.mkdir()
    cfg = load_config(ws, Overrides(base_url=base_url, api_key="x"), env={})
    cfg = parse_config({"mcp": {"servers": servers(kind)}}, "bench", cfg)
    store = Store(tmp / "hermes.db")
    loop = asyncio.get_running_loop()
    stall = 0.0
    stop_ticker = False

    async def ticker() -> None:
        nonlocal stall
        last = loop.time()
        while not stop_ticker:
            await asyncio.sleep(0.005)
            now = loop.time()
            stall = max(stall, now - last - 0.005)
            last = now

    tick = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    engine = Engine.create(config=cfg, store=store, workspace=ws, interactive=True)
    await engine.start()
    events = engine.events()
    first = await anext(events)
    assert isinstance(first, p.SessionStarted)
    out = {"ready_ms": (time.perf_counter() - t0) * 1000}
    if phase == "prompt":  # a prompt typed at once: how long until it is answered?
        await engine.submit(p.UserTurn("hi"))
        async for ev in events:
            if isinstance(ev, p.TurnComplete | p.TurnAborted):
                break
        out["turn_ms"] = (time.perf_counter() - t0) * 1000
    else:  # idle for 7 s while servers start: the loop must stay responsive
        tools: dict[str, float] = {}
        while time.perf_counter() - t0 < 7 or len(tools) < len(servers(kind)):
            for s in engine.mcp.statuses():
                if s.state != "starting" and s.name not in tools:
                    tools[s.name] = time.perf_counter() - t0
            await asyncio.sleep(0.01)
        out["stall_ms"] = stall * 1000
        out["fast_tools_s"] = max((v for k, v in tools.items() if k != "slow"), default=0.0)
        out["slow_tools_s"] = tools.get("slow", 0.0)
    stop_ticker = True
    await tick
    await engine.submit(p.Shutdown())
    store.close()
    return out


def child(kind: str, phase: str, base_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["HERMES_HOME"] = str(Path(tmp) / "home")
        result = asyncio.run(one_run(kind, phase, base_url, Path(tmp)))
    print(json.dumps(result))


def _fig(res: dict[str, list[float]], key: str, unit: str = "ms", digits: int = 1) -> str:
    vals = res[key]
    return f"{statistics.median(vals):.{digits}f} {unit} ({max(vals):.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=("none", "three"))
    parser.add_argument("--phase", choices=("idle", "prompt"))
    parser.add_argument("--base-url")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.phase, args.base_url)
        return 0
    from hermes.testing.scripted.server import ScriptedServer
    from hermes.testing.scripted.types import ScriptedReply

    results: dict[str, dict[str, list[float]]] = {"none": {}, "three": {}}
    with ScriptedServer(lambda request: ScriptedReply(text="ok")) as server:
        for _ in range(args.runs):
            for kind in ("none", "three"):
                for phase in ("prompt", "idle"):
                    cmd = [sys.executable, __file__, "--child", kind, "--phase", phase]
                    cmd += ["--base-url", server.base_url]
                    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                    if run.returncode != 0:
                        print(run.stderr, file=sys.stderr)
                        return 1
                    got = json.loads(run.stdout.strip().splitlines()[-1])
                    for key, value in got.items():
                        results[kind].setdefault(key, []).append(value)
    print(f"{args.runs} runs of each, fresh process each: median (max)")
    for kind, res in results.items():
        line = (
            f"  {kind:>5} servers: input ready {_fig(res, 'ready_ms')}; a prompt typed at "
            f"once answered {_fig(res, 'turn_ms')}; max loop stall while idle "
            f"{_fig(res, 'stall_ms')}"
        )
        if kind == "three":
            line += (
                f"; fast servers' tools at {_fig(res, 'fast_tools_s', 's', 2)}, "
                f"slow server's at {_fig(res, 'slow_tools_s', 's', 2)}"
            )
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
