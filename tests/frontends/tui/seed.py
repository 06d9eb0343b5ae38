"""A long stored session for window tests and the TUI benchmark.

Messages go in through the store's own insert, many per transaction (one commit per
message would mean one fsync each: ~35 s for 10,000 messages).
"""

from __future__ import annotations

import json
from pathlib import Path

from hermes.messages import Message, ToolCall
from hermes.store.sessions import Store

ANSWER = """Here is what I found in `{path}`:

```python
def handler_{i}(event):
    return process(event, retries={i})
```

- it retries **{i}** times
- it logs each failure
"""


def exchange(i: int) -> list[Message]:
    """Four messages: a question, a read, its result, a Markdown answer."""
    path = f"src/module_{i % 50}.py"
    call = ToolCall(f"call_{i}", "read_file", json.dumps({"path": path}))
    return [
        Message(role="user", content=f"question {i}: what does handler {i} do?"),
        Message(role="assistant", content=None, tool_calls=(call,)),
        Message(
            role="tool",
            content="\n".join(f"{n:>4}  line {n} of {path}" for n in range(1, 41)),
            tool_call_id=call.id,
        ),
        Message(role="assistant", content=ANSWER.format(path=path, i=i)),
    ]


def long_session(
    store: Store, workspace: Path, messages: int, model: str = "scripted-model"
) -> str:
    """Create a session of ``messages`` messages (a multiple of 4); returns its id."""
    record = store.create_session(str(workspace), model, "ask")
    store.update_session(record.id, title="a very long session")
    batch = 500
    pending: list[Message] = []
    for i in range(messages // 4):
        pending.extend(exchange(i))
        if len(pending) >= batch:
            _commit(store, record.id, pending)
            pending = []
    if pending:
        _commit(store, record.id, pending)
    return record.id


def _commit(store: Store, session_id: str, messages: list[Message]) -> None:
    write = getattr(store, "_write", None)
    insert = getattr(store, "_insert", None)
    if write is None or insert is None:  # the store changed: the slow, public way
        for message in messages:
            store.append_message(session_id, message)
        return
    with write() as db:
        for message in messages:
            insert(db, session_id, message, False, False, "requested")
