"""Start-up of `hermes -p`: process start to the first request reaching the model, and the
size of that first request for a one-line prompt.

Run: python bench/bench_startup.py [--runs N]
Goals (issue 2): under 0.4 s to the first request; under 12 KB for the first request.
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

from hermes.testing.scripted_server import ScriptedServer
from hermes.testing.scripted_types import ChatRequest, ScriptedReply


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    arrivals: list[float] = []

    def script(request: ChatRequest) -> ScriptedReply:
        arrivals.append(time.perf_counter())
        return ScriptedReply(text="ok")

    times: list[float] = []
    sizes: list[int] = []
    with ScriptedServer(script) as server, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
        env["HERMES_HOME"] = str(Path(tmp) / "home")
        ws = Path(tmp) / "ws"
        ws.mkdir()
        for i in range(args.runs + 1):
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
            times.append(arrivals[-1] - start)
            sizes.append(server.requests[-1].raw_size)
    times.sort()
    print(f"runs: {len(times)}")
    print(
        f"process start -> first request: p50 {statistics.median(times) * 1000:.0f} ms, "
        f"min {times[0] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms (goal < 400 ms)"
    )
    print(f"first request size: {sizes[0]:,} bytes (goal < 12,000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
