"""Time hermes.safety.shell.analyze.analyze_command over a mix of commands.

Run: python bench/bench_shellsafety.py [rounds]
Prints microseconds per call (p50, p95, max) over every call made.
"""

from __future__ import annotations

import statistics
import sys
import time

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


def main(rounds: int = 200) -> None:
    """Run every command ``rounds`` times and print per-call latency percentiles."""
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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
