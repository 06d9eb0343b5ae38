"""Time the rule-based fact extractor over 10,000 realistic user messages.

Messages cycle through the labeled corpus (tests/data/facts_corpus.jsonl); every
fifth one is replaced by a longer message that mixes prose and facts with a fenced
code block, a pasted traceback or command output (which the extractor must skip).

Run: python bench/bench_facts.py [--messages N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from hermes.memory.facts.extract import extract_facts

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "facts_corpus.jsonl"

_CODE = '''```python
import os
from dataclasses import dataclass


@dataclass
class Settings:
    # always use tabs here (a comment in code, never mined)
    port: int = 8080
    database_url: str = os.environ.get("DATABASE_URL", "sqlite:///dev.db")
    debug: bool = False


def load() -> Settings:
    """We use env vars for everything."""
    return Settings(port=int(os.environ.get("PORT", "8080")))


def main() -> None:
    settings = load()
    for attempt in range(3):
        if connect(settings.database_url):
            break
        print(f"retry {attempt}")
```'''

_TRACE = """Traceback (most recent call last):
  File "/srv/app/main.py", line 42, in <module>
    main()
  File "/srv/app/main.py", line 37, in main
    if connect(settings.database_url):
psycopg.OperationalError: connection refused: port 5432"""

_OUTPUT = """$ docker compose ps
NAME        IMAGE         STATUS          PORTS
db          postgres:16   Up 3 minutes    0.0.0.0:5432->5432/tcp
web         app:latest    Restarting      0.0.0.0:8000->8000/tcp"""

_LONG = (
    "Here's what I'm seeing when I start the app. We use Postgres 16 in docker compose "
    "and the API listens on port 8000.\n\n{code}\n\nand the log says:\n\n{trace}\n\n"
    "I'm on macOS with zsh, if that matters. From now on, please always run the "
    "integration tests before telling me it's fixed. Can you figure out why it can't "
    "connect?",
    "Context first: our CI runs on GitHub Actions and I prefer small, focused commits.\n"
    "{output}\n\nThe web container keeps restarting. Maybe we should add a healthcheck? "
    "Here's the settings module:\n\n{code}\n\nActually, the port is 8001 now, not 8000.",
)


def build_messages(n: int) -> list[str]:
    """``n`` messages: the corpus cycled, every fifth one a long mixed message."""
    corpus = [json.loads(line)["text"] for line in CORPUS.read_text().splitlines() if line]
    longs = [t.format(code=_CODE, trace=_TRACE, output=_OUTPUT) for t in _LONG]
    out: list[str] = []
    for i in range(n):
        out.append(longs[(i // 5) % len(longs)] if i % 5 == 4 else corpus[i % len(corpus)])
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    messages = build_messages(args.messages)
    chars = sum(len(m) for m in messages)
    timings: list[float] = []
    cpu: list[float] = []
    facts = 0
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        facts = sum(len(extract_facts(m)) for m in messages)
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)

    best, median = min(timings), statistics.median(timings)
    print(f"machine: nproc={os.cpu_count()} cpu={_cpu_model()!r}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    print(f"input:   {len(messages)} messages, {chars / 1e6:.2f} M chars, {facts} facts found")
    print(f"runs:    {', '.join(f'{t:.3f}' for t in timings)} s wall")
    print(f"cpu:     {', '.join(f'{t:.3f}' for t in cpu)} s process time")
    print(f"best:    {best:.3f} s total, {best / len(messages) * 1e6:.1f} µs/message")
    print(f"median:  {median:.3f} s total, {median / len(messages) * 1e6:.1f} µs/message")


if __name__ == "__main__":
    main()
