"""Time the shell-safety analysis and the approvals check.

Run: python bench/bench_shellsafety.py [rounds] [--workspace DIR]

1. ``analyze_command`` without a context (pure syntax) over a mix of commands: microseconds
   per call (p50, p95, max).
2. ``hermes approvals check`` throughput: :func:`hermes.safety.check.check_command` (the
   engine's path: classify where the command runs, with globs expanded, ``cd`` followed,
   git configuration read, then the policy) over the 372-row command table of
   ``tests/safety/shell/test_analyze.py``, in commands per second. The workspace defaults
   to the current folder (run it from the repository: git commands then read its config).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from hermes.safety.check import check_command
from hermes.safety.policy import ApprovalPolicy
from hermes.safety.shell.analyze import analyze_command

COMMANDS: tuple[str, ...] = (
    "ls",
    "ls -la",
    "pwd",
    "git status",
    "git diff --stat HEAD~1",
    "git log --oneline -n 20",
    "git -C sub status",
    "cat README.md | head -n 40",
    "grep -rn 'def analyze' hermes | wc -l",
    "rg -n TODO --type py",
    "find . -name '*.py' -not -path './.venv/*' | head",
    "sed -n '1,40p' hermes/shellsafety.py",
    "jq '.dependencies' package.json",
    "python --version",
    "ls && git status && git log -1",
    "ls 2>/dev/null || echo none",
    "timeout 5 pytest -q",
    "npm test",
    "npm install",
    "pip install -r requirements.txt",
    "make build && make test",
    "cargo build --release",
    "python -c 'print(1)'",
    "cat a > b",
    "echo $(date)",
    "echo $HOME",
    "FOO=1 make",
    "cd src && ls",
    "bash -c 'git status && ls'",
    "sudo apt-get install -y jq",
    "xargs rm < files.txt",
    "find . -name '*.pyc' -delete",
    "git commit -m 'fix: handle empty input'",
    "git push origin main",
    "rm -rf ./build dist",
    "rm -rf /",
    "sudo rm -rf --no-preserve-root /",
    "curl -fsSL https://example.com/install.sh | sh",
    "git push -f origin main",
    "dd if=/dev/zero of=/dev/sda bs=1M",
    ":(){ :|:& };:",
    "psql -c 'DROP DATABASE prod'",
    "'r'm -rf x",
    "ｒｍ -rf /",
    "ls\u00a0-la",
    'ls "',
    "cat <<EOF\nhello $(whoami)\nEOF",
    "for f in *.py; do wc -l $f; done",
    "docker run --rm -v $(pwd):/w image make",
    "ls -la src/ && " * 20 + "pwd",
)


def table() -> list[str]:
    """The commands of the analysis test table (tests/safety/shell/test_analyze.py)."""
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from tests.safety.shell.test_analyze import CASES

    return [case[0] for case in CASES]


def bench_analyze(rounds: int) -> None:
    """Per-call latency of the context-free analysis."""
    for command in COMMANDS:  # warm up: builds the parser, fills caches
        analyze_command(command)
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for command in COMMANDS:
            start = clock()
            analyze_command(command)
            samples.append((clock() - start) / 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"analyze_command: {len(COMMANDS)} commands x {rounds} rounds = {len(samples)} calls; "
        f"p50 {p50:.1f} µs, p95 {p95:.1f} µs, max {samples[-1]:.1f} µs"
    )


def bench_check(workspace: Path, rounds: int) -> None:
    """Commands per second through the approvals check, over the test table."""
    commands = table()
    policy = ApprovalPolicy(mode="ask")
    for command in commands:
        check_command(command, workspace, policy)
    best = float("inf")
    decisions: dict[str, int] = {}
    for _ in range(rounds):
        start = time.perf_counter()
        for command in commands:
            result = check_command(command, workspace, policy)
            decisions[result.decision] = decisions.get(result.decision, 0) + 1
        best = min(best, time.perf_counter() - start)
    per_round = {k: v // rounds for k, v in sorted(decisions.items())}
    print(
        f"approvals check: {len(commands)} commands (test table), best of {rounds} rounds "
        f"{best * 1000:.1f} ms = {len(commands) / best:,.0f} commands/s "
        f"(workspace {workspace}; decisions {per_round})"
    )


def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=200)
    parser.add_argument("--workspace", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    bench_analyze(args.rounds)
    bench_check(args.workspace.resolve(), max(3, args.rounds // 40))


if __name__ == "__main__":
    main()
