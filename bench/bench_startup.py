"""Start-up of `hermes -p`: process start to the first request reaching the model, and the
size of that first request for a one-line prompt.

Run: python bench/bench_startup.py [--runs N] [--baseline TREE]
Goals (issue 2): under 0.4 s to the first request; under 12 KB for the first request.
``--baseline TREE``: also time the hermes source tree at TREE (e.g. a `git worktree` of an
older commit), alternating runs with this one, so both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ChatRequest, ScriptedReply


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="another hermes source tree to compare")
    args = parser.parse_args()
    arrivals: list[float] = []

    def script(request: ChatRequest) -> ScriptedReply:
        arrivals.append(time.perf_counter())
        return ScriptedReply(text="ok")

    trees: dict[str, Path | None] = {"this tree": None}
    if args.baseline is not None:
        trees["baseline"] = args.baseline.resolve()
    times: dict[str, list[float]] = {name: [] for name in trees}
    sizes: dict[str, int] = {}
    with ScriptedServer(script) as server, tempfile.TemporaryDirectory() as tmp:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
        ws = Path(tmp) / "ws"
        ws.mkdir()
        for i in range(args.runs + 1):
            for name, tree in trees.items():
                env = dict(base_env)
                env["HERMES_HOME"] = str(Path(tmp) / f"home-{name}")  # schemas may differ
                if tree is not None:
                    env["PYTHONPATH"] = str(tree)  # found before the installed hermes
                before = len(arrivals)
                start = time.perf_counter()
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "hermes",
                        "-p",
                        "Say hello in one line.",
                        "--base-url",
                        server.base_url,
                    ],
                    cwd=ws,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                if proc.returncode != 0 or len(arrivals) != before + 1:
                    print(proc.stderr, file=sys.stderr)
                    return 1
                if i == 0:
                    continue  # warm the OS file cache once
                times[name].append(arrivals[-1] - start)
                sizes[name] = server.requests[-1].raw_size
    print(f"runs: {args.runs} each")
    for name, runs in times.items():
        runs.sort()
        print(
            f"{name}: process start -> first request: p50 {statistics.median(runs) * 1000:.0f} ms,"
            f" min {runs[0] * 1000:.0f} ms, max {runs[-1] * 1000:.0f} ms (goal < 400 ms); "
            f"first request {sizes[name]:,} bytes (goal < 12,000)"
        )
    if "baseline" in times:
        ratio = statistics.median(times["this tree"]) / statistics.median(times["baseline"])
        print(f"this tree / baseline (p50): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
