"""The plain REPL's rendering (issue 17): a long command output ends with its tail and
where the whole of it was saved (defect 9); a denial is said once; ``@path`` attaches."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.plain.test_repl import Harness, call, plain  # noqa: F401  (fixture)


async def test_5000_lines_show_head_tail_and_the_saved_file(
    plain: Callable[..., Harness],  # noqa: F811
    server: ScriptedServer,
    hermes_home: Path,
) -> None:
    (hermes_home / "config.yaml").write_text(
        "model:\n  retry_base_delay: 0.01\n  retry_max_delay: 0.05\n"
        "tools:\n  max_output_bytes: 4000\n"
    )
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="seq 1 5000"),)),
        ScriptedReply(text="Counted."),
    )
    h = plain("--approval-mode", "yolo")
    h.send("count to 5000\r")
    await h.wait_for(lambda: "Counted." in h.out())
    out = h.out()
    lines = [ln.rstrip() for ln in out.splitlines()]
    assert "    1" in lines and "    40" in lines and "    41" not in lines  # the head, live
    assert "    4999" in lines and "    5000" in lines  # the tail, at the end
    more = [ln for ln in lines if "more lines" in ln]
    assert more and "… 4,99" in more[0]  # how much was not shown, counted right
    saved = re.search(r"full output:\s+(\S+)", out)
    assert saved is not None
    text = await asyncio.to_thread(Path(saved.group(1)).read_text)
    assert text.splitlines() == [str(i) for i in range(1, 5001)]


async def test_a_denial_is_said_once(
    plain: Callable[..., Harness],  # noqa: F811
    server: ScriptedServer,
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch x.txt"),)),
        ScriptedReply(text="Left it."),
    )
    h = plain()
    h.send("touch it\r")
    await h.wait_for(lambda: h.repl.pending_approval() is not None)
    start = len(h.out())
    h.send("n")
    await h.wait_for(lambda: "Left it." in h.out())
    after = h.out()[start:]
    # The call's line says "denied", the next why; nothing else repeats it.
    assert after.count("denied") == 2 and "denied by the user" in after


async def test_at_path_attaches_a_file(
    plain: Callable[..., Harness],  # noqa: F811
    server: ScriptedServer,
    workspace: Path,
) -> None:
    (workspace / "notes.md").write_text("remember the milk\n")
    server.add(ScriptedReply(text="Noted."))
    h = plain()
    h.send("read @notes.md\r")
    await h.wait_for(lambda: "Noted." in h.out())
    assert "@ notes.md · 1 line" in h.out()
    sent = server.requests[0].messages[-1]["content"]
    assert sent.startswith('read @notes.md\n\n<attachment path="notes.md"')
    assert "remember the milk" in sent
