"""The pure parts of compaction: window resolution, budget, fold plans, digests, summaries."""

from __future__ import annotations

import json
import random
import socket

import pytest

from hermes import tokens
from hermes.memory.budget import (
    SUMMARY_SYSTEM,
    ContextBudget,
    FoldPlan,
    ParsedSummary,
    SummaryFact,
    digest_line,
    digest_results,
    groups,
    parse_summary,
    plan_digest,
    plan_fold,
    render_transcript,
    summary_message,
    summary_request,
)
from hermes.messages import Message, ToolCall
from hermes.tokens import TokenCounter, estimate_tokens


def one(_: Message) -> int:
    return 10


def user(text: str) -> Message:
    return Message("user", text)


def asst(text: str | None, *calls: ToolCall) -> Message:
    return Message("assistant", text, calls)


def result(call_id: str, text: str) -> Message:
    return Message("tool", text, (), call_id)


READ = ToolCall("r1", "read_file", '{"path": "a.py"}')
RUN = ToolCall("t1", "terminal", '{"command": "pytest -q"}')


# --------------------------------------------------------------------------- budget


def test_a_summary_is_capped_and_its_request_fits_the_window() -> None:
    counter = TokenCounter()
    assert [
        (
            ContextBudget(w, 0.8, counter).summary_cap,
            ContextBudget(w, 0.8, counter).transcript_budget,
        )
        for w in (4000, 8192, 128_000)
    ] == [(1000, 1976), (2048, 4096), (2048, 64_000)]
    for w in (4000, 8192, 32_768, 128_000):  # the instructions (~1,000) fit beside them
        budget = ContextBudget(w, 0.8, counter)
        assert budget.summary_cap + budget.transcript_budget + 1024 <= w


def test_budget_limits_and_threshold_boundary() -> None:
    counter = TokenCounter()
    budget = ContextBudget(4000, 0.8, counter, reserve=500)
    assert (budget.limit, budget.hard_limit) == (3200, 3500)
    assert budget.tail_budget(8000) == 1200  # never more than 30% of the window
    assert budget.tail_budget(300) == 300
    view = [Message("system", "s"), user("word " * 100)]
    size = budget.count(view)
    assert size == counter.count_messages(view)
    assert ContextBudget(int(size / 0.8) + 2, 0.8, counter).needs_compaction(view) is False
    assert ContextBudget(int(size / 0.8), 0.8, counter).needs_compaction(view) is True
    schema = {"type": "function", "function": {"name": "x", "parameters": {}}}
    assert budget.count(view, [schema]) == size + counter.count_tools([schema])


def test_token_counting_works_with_the_network_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    tokens._reset()
    try:
        counter = TokenCounter("o200k_base", on_warning=lambda m: pytest.fail(m))
        budget = ContextBudget(4000, 0.8, counter)
        assert counter.exact
        assert counter.count_text("hello world") == 2
        assert budget.count([user("hello world")]) == 3 + 1 + 2 + 3
    finally:
        tokens._reset()


# --------------------------------------------------------------------------- folding


def test_groups_keep_results_with_their_call() -> None:
    history = [user("go"), asst(None, READ, RUN), result("r1", "a"), result("t1", "b"), asst("ok")]
    assert groups(history, 1) == [(1, 4), (4, 5)]


def test_plan_folds_between_the_first_request_and_the_recent_tail() -> None:
    history = [
        user("first"),
        asst(None, READ),
        result("r1", "x"),
        asst("read it"),
        user("next"),
        asst("sure"),
    ]
    # each message counts 10: the tail budget of 25 keeps the last two steps
    assert plan_fold(history, 1, 25, one) == FoldPlan(head=1, cut=4, turns=2, tokens=30)
    assert plan_fold(history, 1, 5, one) == FoldPlan(head=1, cut=5, turns=3, tokens=40)
    assert plan_fold(history, 1, 1000, one) is None  # everything fits the tail
    assert plan_fold([user("only")], 1, 5, one) is None


def random_history(rng: random.Random) -> list[Message]:
    out = [user("first")]
    n = 0
    for _ in range(rng.randint(1, 25)):
        kind = rng.random()
        if kind < 0.3:
            out.append(user("u" * rng.randint(1, 50)))
        elif kind < 0.5:
            out.append(asst("a" * rng.randint(1, 50)))
        else:
            calls = []
            for _ in range(rng.randint(1, 3)):
                n += 1
                calls.append(ToolCall(f"c{n}", "read_file", "{}"))
            out.append(asst(None, *calls))
            out.extend(result(c.id, "r" * rng.randint(1, 200)) for c in calls)
    return out


def test_a_fold_never_splits_a_call_from_its_result() -> None:
    rng = random.Random(5)
    checked = 0
    for _ in range(500):
        history = random_history(rng)
        plan = plan_fold(history, 1, rng.randint(1, 300), lambda m: len(m.content or "") + 3)
        if plan is None:
            continue
        checked += 1
        tail = history[plan.cut :]
        folded = history[plan.head : plan.cut]
        assert tail[0].role != "tool"
        asked = {c.id for m in tail for c in m.tool_calls}
        assert {m.tool_call_id for m in tail if m.role == "tool"} <= asked
        asked = {c.id for m in folded for c in m.tool_calls}
        assert {m.tool_call_id for m in folded if m.role == "tool"} == asked
    assert checked > 100


# --------------------------------------------------------------------------- digests


def test_digest_line_names_the_call_its_exit_code_and_size() -> None:
    out = "5 passed\n[exit code 0]"
    assert digest_line(RUN, out) == (
        '[tool output folded: terminal {"command": "pytest -q"} · exit 0 · 22 bytes]'
    )
    big = "x" * 12_345
    assert digest_line(READ, big) == (
        '[tool output folded: read_file {"path": "a.py"} · 12,345 bytes]'
    )
    assert "exit 137" in digest_line(RUN, "[killed by SIGKILL; exit code 137]")


def test_digests_replace_old_outputs_until_the_saving_is_reached() -> None:
    history = [
        user("first"),
        asst(None, READ),
        result("r1", "x" * 4000),
        asst(None, RUN),
        result("t1", "ok\n[exit code 0]"),
        user("now"),
    ]
    count = TokenCounter().count_message
    end = plan_digest(history, 1, 100, count)
    assert end == 3  # the first step alone saves enough
    out = digest_results(history, 1, end)
    assert out == [
        *history[:2],
        result("r1", '[tool output folded: read_file {"path": "a.py"} · 4,000 bytes]'),
        *history[3:],
    ]
    assert plan_digest(history, 1, 10**6, count) == len(history)
    assert digest_results(out, 1, 3) == out  # a digest is never digested again


# --------------------------------------------------------------------------- summary

REPLY = """Here is the updated summary.

GOAL: make the parser accept tabs
DECISIONS:
- keep the tokenizer, change the lexer
**FILES:**
- src/lexer.py — edited, tests pass
COMMANDS:
- pytest -q → 12 passed
## Open questions
- none
NEXT STEPS:
- update the changelog
FACTS:
- [preference] test runner: The user prefers pytest
- [project] Tests run with `pytest -q`
- [unknown] ignored
"""


def test_parse_summary_keeps_the_fixed_sections_and_reads_facts() -> None:
    assert parse_summary(REPLY) == ParsedSummary(
        text=(
            "GOAL:\nmake the parser accept tabs\n\n"
            "DECISIONS:\n- keep the tokenizer, change the lexer\n\n"
            "FILES:\n- src/lexer.py — edited, tests pass\n\n"
            "COMMANDS:\n- pytest -q → 12 passed\n\n"
            "OPEN QUESTIONS:\n- none\n\n"
            "NEXT STEPS:\n- update the changelog"
        ),
        facts=(
            SummaryFact("preference", "test runner", "The user prefers pytest"),
            SummaryFact("project", "", "Tests run with `pytest -q`"),
        ),
    )


def test_parse_summary_edge_cases() -> None:
    assert parse_summary("  \n") is None
    assert parse_summary("just prose, no headers") == ParsedSummary("just prose, no headers", ())
    none_facts = parse_summary("GOAL: x\nFACTS:\n- none")
    assert none_facts is not None and none_facts.facts == ()
    assert "DECISIONS:\n- none" in none_facts.text
    # a word at a line start is not a header without a colon
    parsed = parse_summary("GOAL: fix\nFiles are all saved")
    assert parsed is not None and "GOAL:\nfix\nFiles are all saved" in parsed.text


def test_summary_request_updates_the_previous_summary() -> None:
    folded = [asst(None, READ), result("r1", "print('hi')"), user("thanks")]
    messages = summary_request("GOAL:\nold goal", folded, 10_000, estimate_tokens)
    assert messages[0] == Message("system", SUMMARY_SYSTEM)
    assert messages[1].content == (
        "PREVIOUS SUMMARY (update it):\nGOAL:\nold goal\n\n"
        "TURNS TO FOLD INTO IT:\n"
        '[assistant calls read_file] {"path": "a.py"}\n'
        "[result of read_file]\nprint('hi')\n"
        "[user]\nthanks\n\n"
        "Write the updated summary now, in the required sections."
    )
    for section in ("GOAL", "DECISIONS", "FILES", "COMMANDS", "OPEN QUESTIONS", "NEXT STEPS"):
        assert f"\n{section}: (" in SUMMARY_SYSTEM
    assert "FACTS:" in SUMMARY_SYSTEM


def test_render_transcript_fits_its_budget() -> None:
    folded = [user("u" * 20_000), result("r1", "r" * 50_000)]
    text = render_transcript(folded, 1000, estimate_tokens)
    assert estimate_tokens(text) <= 1000
    assert "characters left out" in text


def test_summary_message_is_labelled() -> None:
    assert summary_message("GOAL:\nx", 7) == Message(
        "user",
        "Summary of earlier conversation (7 turns folded; hermes keeps the full transcript):"
        "\n\nGOAL:\nx",
    )
    assert json.loads(json.dumps(summary_message("s", 1).to_openai()))["role"] == "user"
