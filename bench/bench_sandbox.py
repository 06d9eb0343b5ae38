"""What the OS sandbox adds to each command.

Run: python bench/bench_sandbox.py [--rounds N] [--workspace DIR]

For ``true``, ``ls`` and ``python -c pass`` (each as ``bash -c COMMAND``, as the terminal
tool runs it), in one run and interleaved round by round so drift hits every variant
alike:

1. the command alone: ``subprocess.run`` of the shell, no sandbox;
2. the same under bubblewrap and under Landlock: building the policy and the wrapped
   command line (``open_sandbox(...).command``), then ``subprocess.run`` of it;
3. end to end through the real terminal tool (output capture, process group, result
   text), without and with the sandbox. The tool polls its child every 30 ms, so these
   figures move in 30 ms steps; the lines above are the sandbox's own cost.

Prints p50 and p95 per variant and what each sandbox adds at p50 (goal: under 15 ms).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hermes.config import SandboxConfig
from hermes.execution.spec import ToolContext
from hermes.sandbox.backends import open_sandbox, select_backend
from hermes.tools.terminal import shell_argv, terminal

COMMANDS = {"true": "true", "ls": "ls", "python -c pass": f"{sys.executable} -c pass"}


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _direct(command: str, workspace: Path, backend: str | None) -> Callable[[], None]:
    def run() -> None:
        argv = shell_argv(command)
        if backend is not None:
            argv = open_sandbox(SandboxConfig(backend=backend), workspace).command(argv, workspace)  # type: ignore[arg-type]
        subprocess.run(argv, cwd=workspace, stdout=subprocess.DEVNULL, check=True)

    return run


def _tool(command: str, workspace: Path, backend: str | None, out: Path) -> Callable[[], None]:
    sandbox = SandboxConfig(backend=backend) if backend else None  # type: ignore[arg-type]
    ctx = ToolContext(workspace=workspace, output_dir=out, sandbox=sandbox)

    def run() -> None:
        result = terminal(ctx, {"command": command})
        assert result.exit_code == 0, result.content

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--workspace", type=Path)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="hermes-bench-sandbox-"))
    workspace = args.workspace or scratch / "ws"
    workspace.mkdir(parents=True, exist_ok=True)
    for i in range(20):
        (workspace / f"file{i}.txt").write_text("x\n")
    backends = ["none"]
    for name in ("bubblewrap", "landlock"):
        found, why = select_backend(name)
        if found is None:
            print(f"({name} skipped: {why})")
        else:
            backends.append(name)
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}; bwrap {shutil.which('bwrap')}"
    )
    variants: dict[tuple[str, str, str], Callable[[], None]] = {}
    for label, command in COMMANDS.items():
        for backend in backends:
            wrapped = None if backend == "none" else backend
            variants[("direct", label, backend)] = _direct(command, workspace, wrapped)
            variants[("tool", label, backend)] = _tool(command, workspace, wrapped, scratch / "o")
    for run in variants.values():  # warm up: caches, the bwrap probe, page cache
        run()
    samples: dict[tuple[str, str, str], list[float]] = {key: [] for key in variants}
    for _ in range(args.rounds):
        for key, run in variants.items():
            started = time.perf_counter()
            run()
            samples[key].append((time.perf_counter() - started) * 1000)
    for way in ("direct", "tool"):
        title = "command alone" if way == "direct" else "through the terminal tool"
        print(f"\n{title} ({args.rounds} rounds, ms)")
        print(f"{'command':<16}{'sandbox':<12}{'p50':>8}{'p95':>8}{'added p50':>11}")
        for label in COMMANDS:
            base = statistics.median(samples[(way, label, "none")])
            for backend in backends:
                got = samples[(way, label, backend)]
                p50 = statistics.median(got)
                added = "" if backend == "none" else f"{p50 - base:+.1f}"
                print(f"{label:<16}{backend:<12}{p50:8.1f}{_pct(got, 0.95):8.1f}{added:>11}")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
