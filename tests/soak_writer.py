"""A writer for the kill -9 soak: plays a session's writes through ``Store``, acknowledging
each commit on stdout, so "acknowledged" is well defined when it is killed.

    python tests/soak_writer.py DB SESSION_ID SEED

The writes follow what a turn does (user message, streamed draft saves, the model call
record, the assistant message with its calls, "running" before a command, each result,
the final answer), from a plan that :func:`plan` derives from ``SEED`` alone, so the test
knows everything that was meant to be written. Output: ``ACK <n>`` after the n-th write
(0 is the session itself) returned, i.e. was committed.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Write:
    """One planned write. ``kind``: user | draft | model_call | assistant | running | tool."""

    kind: str
    text: str = ""
    calls: tuple[tuple[str, str, str], ...] = ()  # (id, name, arguments)
    call_id: str = ""


def plan(seed: int, turns: int = 40) -> list[Write]:
    """The writes of one session: a few turns of reads, denied commands and answers."""
    rng = random.Random(seed)
    out: list[Write] = []
    n = 0
    for t in range(turns):
        out.append(Write("user", f"turn {t}: please look at f{rng.randrange(9)}.txt"))
        for _step in range(rng.randrange(1, 4)):
            out.append(Write("draft", "Let me check" + "." * rng.randrange(1, 40)))
            out.append(Write("model_call"))
            calls = []
            for _ in range(rng.randrange(0, 4)):
                n += 1
                if rng.random() < 0.6:
                    calls.append((f"c{n}", "read_file", json.dumps({"path": f"f{n % 9}.txt"})))
                else:
                    calls.append((f"c{n}", "terminal", json.dumps({"command": f"echo {n}"})))
            if not calls:
                break
            out.append(Write("assistant", "", tuple(calls)))
            order = list(calls)
            rng.shuffle(order)  # reads finish in any order
            for cid, name, _ in order:
                if name != "read_file":
                    out.append(Write("running", call_id=cid))
                size = rng.choice((40, 400, 4000, 20_000))
                out.append(Write("tool", f"output of {cid} " + "x" * size, call_id=cid))
        out.append(Write("draft", "All done"))
        out.append(Write("model_call"))
        out.append(Write("assistant", f"All done with turn {t}."))
    return out


def main() -> int:
    db, session_id, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    import hermes.store.sessions as store_module
    from hermes.messages import Message, ToolCall

    store_module.new_session_id = lambda: session_id  # type: ignore[assignment]
    store = store_module.Store(db)
    store.create_session("/soak", "soak-model", "ask", title=f"soak {seed}")
    out = sys.stdout
    out.write("ACK 0\n")
    out.flush()
    record = store_module.ModelCallRecord("soak-model", 1000, 3, 12.0, 0, 10, 5, "stop")
    for i, w in enumerate(plan(seed), 1):
        if w.kind == "user":
            store.append_message(session_id, Message("user", w.text))
        elif w.kind == "draft":
            store.save_draft(session_id, w.text)
        elif w.kind == "model_call":
            store.record_model_call(session_id, record)
        elif w.kind == "assistant":
            calls = tuple(ToolCall(*c) for c in w.calls)
            store.append_message(session_id, Message("assistant", w.text or None, calls))
        elif w.kind == "running":
            store.set_call_status(session_id, w.call_id, "running")
        else:
            store.append_message(session_id, Message("tool", w.text, tool_call_id=w.call_id))
        out.write(f"ACK {i}\n")
        out.flush()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
