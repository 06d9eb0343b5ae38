"""Benchmark ``hermes sessions search`` (``Store.search``, FTS5) over 100,000 messages.

Run: ``python bench/bench_search.py [--messages 100000] [--dir DIR]``.

Builds a database of sessions whose messages mix prose, code and tool output drawn from
a Zipf-distributed vocabulary (so some words are in tens of thousands of messages and
some in a handful), through the store's own insert path (redaction, FTS triggers), in
batches. Then times ``Store.search(query, limit=20)`` (ranked with bm25, snippets) for
queries from very common to rare, prefix and multi-word; the median of 15 runs each.
A prefix query costs in proportion to how many distinct words share the prefix (FTS5
merges them all): one shared by a few dozen words is typical; the syllable vocabulary
here also yields a prefix shared by ~1,000 words, shown as the worst case.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from itertools import accumulate
from pathlib import Path

from hermes.messages import Message, ToolCall
from hermes.store.sessions import Store

COMMON = (
    "the a to of and in is it for that this with on be we file test function error "
    "return value config path line def class import self none true false run".split()
)


def vocabulary(rng: random.Random, n: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "tor", "vex", "qua", "zi", "ber", "dan", "ul", "fen"]
    words = set()
    while len(words) < n:
        words.add("".join(rng.choices(syllables, k=rng.randrange(2, 6))))
    return COMMON + sorted(words)


def typical_prefix(vocab: list[str], word: str, most: int = 40) -> str:
    """The shortest prefix of ``word`` that at most ``most`` vocabulary words share."""
    for n in range(3, len(word) + 1):
        if sum(1 for v in vocab if v.startswith(word[:n])) <= most:
            return word[:n]
    return word


def build(store: Store, n: int, rng: random.Random) -> list[str]:
    vocab = vocabulary(rng, 20_000)
    cum = list(accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(vocab))))
    per_session = 200
    sid = ""
    done = 0
    while done < n:
        batch = min(1000, n - done)
        with store.write() as db:
            for i in range(done, done + batch):
                if i % per_session == 0:
                    sid = store.create_session(f"/work/p{i % 7}", "m", "ask", f"session {i}").id
                words = rng.choices(vocab, cum_weights=cum, k=rng.choice((12, 30, 80, 200)))
                body = " ".join(words)
                role = ("user", "assistant", "tool")[i % 3]
                if role == "tool":
                    msg = Message("tool", body, tool_call_id=f"c{i - 1}")
                elif role == "assistant":
                    call = ToolCall(f"c{i}", "read_file", '{"path": "x.py"}')
                    msg = Message("assistant", body, (call,))
                else:
                    msg = Message("user", body)
                store._insert(db, sid, msg, False, False, "done")
        done += batch
    return vocab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--dir", help="directory for the database (default: a temp dir)")
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        store = Store(Path(tmp) / "search.db")
        t = time.perf_counter()
        vocab = build(store, args.messages, rng)
        built = time.perf_counter() - t
        size = os.path.getsize(Path(tmp) / "search.db") + os.path.getsize(
            Path(tmp) / "search.db-wal"
        )
        print(f"{args.messages:,} messages built in {built:.1f} s; database {size / 1e6:.0f} MB")
        queries = [
            vocab[0],  # in nearly every message
            "error",
            vocab[200],
            vocab[3000],
            vocab[15000],  # rare
            f"{vocab[40]} {vocab[90]}",
            typical_prefix(vocab, vocab[120]) + "*",  # shared by a few dozen words
            vocab[120][:4] + "*",  # shared by ~1,000 words of this synthetic vocabulary
            'foo-bar "x',  # user punctuation, taken literally
            "nothingmatchesthisword",
        ]
        medians = []
        for q in queries:
            runs = []
            hits = []
            for _ in range(15):
                t = time.perf_counter()
                hits = store.search(q, limit=20)
                runs.append((time.perf_counter() - t) * 1e3)
            matching = store.read(
                "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?",
                ((__import__("hermes.store.search").store_search.fts_query(q) or '""'),),
            )[0][0]
            med = statistics.median(runs)
            medians.append(med)
            print(
                f"  {q!r:<28} {matching:>7,} matching  {len(hits):>2} shown  median {med:7.2f} ms  max {max(runs):7.2f} ms"
            )
        store.close()
    print(
        f"median over queries: {statistics.median(medians):.2f} ms; worst query median {max(medians):.2f} ms"
    )


if __name__ == "__main__":
    main()
