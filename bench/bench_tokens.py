"""Benchmark hermes.tokens on a ~100,000-token agent history.

Run: ``python bench/bench_tokens.py [--encoding o200k_base] [--messages 2000]``.

Prints the import time of hermes.tokens, the encoding load time (first count:
read + sha256 + parse the shipped rank file + build the tiktoken Encoding), the
cold count of the whole history (empty per-message cache), the warm count (every
message cached) and a per-turn recount (warm history plus one new message).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

_T0 = time.perf_counter()
import hermes.tokens as tokens_mod  # noqa: E402  (timed import)

IMPORT_MS = (time.perf_counter() - _T0) * 1e3

from hermes.messages import Message, ToolCall  # noqa: E402

WORDS = (
    "the function returns a list of paths when the config file is missing we should "
    "handle errors and retry the request because the server may time out under load "
    "please refactor this module so tests pass again then update the documentation "
    "cache invalidation parser tokenizer session database migration schema approval"
).split()

CODE_LINES = [
    "def load_config(path: Path) -> dict[str, Any]:",
    '    """Read the YAML config, falling back to defaults."""',
    "    if not path.exists():",
    "        return dict(DEFAULTS)",
    "    with path.open(encoding='utf-8') as fh:",
    "        data = yaml.safe_load(fh) or {}",
    "    for key, value in data.items():",
    "        if key not in DEFAULTS:",
    "            raise ConfigError(f'unknown key {key!r} in {path}')",
    "    return {**DEFAULTS, **data}",
    "class SessionStore:",
    "    def __init__(self, db: sqlite3.Connection) -> None:",
    "        self._db = db",
    "        self._db.execute('PRAGMA journal_mode=WAL')",
    "    async def stream(self, request: Request) -> AsyncIterator[Chunk]:",
    "        async for chunk in self._client.post(request.url, json=request.body):",
    "            yield Chunk.parse(chunk)",
    "    total += len(encoding.encode_ordinary(text))  # count tokens",
    "    return sorted(results, key=lambda r: (r.score, r.path))[:limit]",
]


def _prose(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    out = []
    for i in range(0, len(words), 12):
        sentence = " ".join(words[i : i + 12])
        out.append(sentence[:1].upper() + sentence[1:] + ".")
    return " ".join(out)


def _code(rng: random.Random, n_lines: int) -> str:
    start = rng.randrange(len(CODE_LINES))
    return "\n".join(CODE_LINES[(start + i) % len(CODE_LINES)] for i in range(n_lines))


def make_history(n_messages: int, seed: int = 1234) -> list[Message]:
    """A deterministic, realistic agent history: prompts, replies, tool calls and results."""
    rng = random.Random(seed)
    history: list[Message] = [Message("system", _prose(rng, 300))]
    i = 0
    while len(history) < n_messages:
        i += 1
        kind = i % 4
        if kind == 1:
            history.append(Message("user", f"[{i}] " + _prose(rng, rng.randint(6, 30))))
        elif kind == 2:
            path = f"src/pkg/mod_{i}.py"
            args = json.dumps({"path": path, "start_line": rng.randint(1, 400), "limit": 80})
            call = ToolCall(id=f"call_{i}", name="read_file", arguments=args)
            history.append(Message("assistant", _prose(rng, 8), tool_calls=(call,)))
        elif kind == 3:
            body = f"# {i}\n" + _code(rng, rng.randint(2, 9))
            history.append(Message("tool", body, tool_call_id=f"call_{i - 1}"))
        else:
            reply = (
                _prose(rng, rng.randint(6, 24))
                + f"\n\n```python\n# change {i}\n"
                + _code(rng, rng.randint(1, 5))
                + "\n```\n"
            )
            history.append(Message("assistant", reply))
    return history[:n_messages]


def _ms(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    """Run the benchmark and print a report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoding", default="o200k_base")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7, help="runs for cold/warm medians")
    args = parser.parse_args()

    history = make_history(args.messages)
    loader = tokens_mod.TokenCounter(args.encoding)
    load_ms = _ms(loader.load)
    if not loader.exact:
        print("warning: exact encoding unavailable, timing the estimate", file=sys.stderr)

    cold, warm, turn = [], [], []
    total = 0
    for r in range(args.repeat):
        counter = tokens_mod.TokenCounter(args.encoding)  # encoding loaded, cache empty
        t = time.perf_counter()
        total = counter.count_messages(history)
        cold.append((time.perf_counter() - t) * 1e3)
        warm.append(_ms(partial(counter.count_messages, history)))
        extra = Message("user", f"new turn {r}: " + _prose(random.Random(r), 40))
        turn.append(_ms(partial(counter.count_messages, [*history, extra])))

    print(f"machine: {os.cpu_count()} CPUs, {_cpu_model()}, Python {platform.python_version()}")
    print(f"history: {len(history)} messages, {total} tokens ({args.encoding})")
    print(f"import hermes.tokens:            {IMPORT_MS:8.1f} ms (tiktoken not imported)")
    print(f"encoding load (first count):     {load_ms:8.1f} ms")
    print(f"count history, cold cache:       {statistics.median(cold):8.1f} ms (median)")
    print(f"count history, warm cache:       {statistics.median(warm):8.2f} ms (median)")
    print(f"count history + 1 new message:   {statistics.median(turn):8.2f} ms (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
