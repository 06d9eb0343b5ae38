"""The context budget: window, counting, what to fold, the summary prompt, digests.

Everything here is pure (no I/O except :func:`resolve_context_window`'s one request);
:mod:`hermes.memory.compaction` runs it against a live or stored session.

The model's view is ``[system, *history]``. Compaction keeps the system prompt, the
first user request and the most recent turns (within a token budget) verbatim, and
replaces everything between with one user-role message, "Summary of earlier
conversation (N turns folded)". Cuts fall only where a non-tool message starts, so
an assistant message with tool calls always travels with its results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from hermes.messages import Message, ToolCall

if TYPE_CHECKING:
    from hermes.memory.facts.extract import FactCategory
    from hermes.tokens import TokenCounter

TAIL_MAX_FRACTION = 0.3
"""The verbatim tail never takes more than this share of the window."""
MIN_GAIN_FRACTION = 0.05
"""An automatic compaction must fold at least this share of the window to be worth a call."""
SUMMARY_MAX_TOKENS = 2048
"""The most tokens a compaction summary may take (sent as ``max_tokens``): an uncapped
summary request once generated ~6,000 tokens and made the request grow (issue 20)."""
SUMMARY_LABEL = "Summary of earlier conversation"
DIGEST_PREFIX = "[tool output folded: "


# --------------------------------------------------------------------------- budget


class ContextBudget:
    """A window, a compaction threshold and a token counter (per-message cached).

    ``limit`` is where compaction starts; ``hard_limit`` is where the request would not
    fit (the window less room for the reply) and tool outputs are folded to digests.
    """

    def __init__(
        self, window: int, threshold: float, counter: TokenCounter, reserve: int | None = None
    ) -> None:
        self.window = window
        self.threshold = threshold
        self.counter = counter
        self.reserve = min(reserve or 1_000, window // 8)
        self._tools: tuple[str, int] = ("", 0)

    @property
    def limit(self) -> int:
        """Tokens at which compaction starts."""
        return int(self.window * self.threshold)

    @property
    def summary_cap(self) -> int:
        """``max_tokens`` of a summary request: at most a quarter of the window."""
        return max(256, min(SUMMARY_MAX_TOKENS, self.window // 4))

    @property
    def transcript_budget(self) -> int:
        """Tokens of folded turns sent to be summarised: half the window, less when the
        summary's cap and the instructions would not fit beside it."""
        return max(512, min(self.window // 2, self.window - self.summary_cap - 1024))

    @property
    def hard_limit(self) -> int:
        """Tokens past which the request would not fit with room for a reply."""
        return self.window - self.reserve

    def tail_budget(self, keep_recent_tokens: int) -> int:
        """Tokens of recent turns kept verbatim."""
        return max(1, min(keep_recent_tokens, int(self.window * TAIL_MAX_FRACTION)))

    def tools_tokens(self, schemas: Sequence[Mapping[str, Any]]) -> int:
        """Tokens of the tool schemas (cached while they do not change)."""
        key = json.dumps(list(schemas), sort_keys=True, ensure_ascii=False)
        if self._tools[0] != key:
            self._tools = (key, self.counter.count_tools(schemas) if schemas else 0)
        return self._tools[1]

    def count(self, view: Sequence[Message], schemas: Sequence[Mapping[str, Any]] = ()) -> int:
        """Tokens of a whole request: messages, reply priming and tool schemas."""
        return self.counter.count_messages(view) + self.tools_tokens(schemas)

    def needs_compaction(
        self, view: Sequence[Message], schemas: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        """True when sending ``view`` would reach the compaction threshold."""
        return self.count(view, schemas) >= self.limit


# --------------------------------------------------------------------------- folding


@dataclass(frozen=True)
class FoldPlan:
    """Fold ``history[head:cut]``; keep ``history[:head]`` and ``history[cut:]``."""

    head: int
    cut: int
    turns: int  # user messages and assistant replies folded (results go with their reply)
    tokens: int  # tokens of the folded messages


def groups(history: Sequence[Message], start: int) -> list[tuple[int, int]]:
    """``(begin, end)`` of each step from ``start``: a non-tool message and the tool
    results after it. Cutting between groups never splits a call from its result."""
    out: list[tuple[int, int]] = []
    for i in range(start, len(history)):
        if history[i].role != "tool" or not out:
            out.append((i, i + 1))
        else:
            out[-1] = (out[-1][0], i + 1)
    return out


def plan_fold(
    history: Sequence[Message], head: int, tail_budget: int, count: Callable[[Message], int]
) -> FoldPlan | None:
    """What to fold: everything after the pinned ``head`` messages except the most
    recent steps that fit ``tail_budget`` (the last step is always kept). None when
    nothing can be folded."""
    steps = groups(history, head)
    if len(steps) < 2:
        return None
    kept = 0
    cut = steps[-1][0]
    kept += sum(count(m) for m in history[steps[-1][0] : steps[-1][1]])
    for begin, end in reversed(steps[:-1]):
        size = sum(count(m) for m in history[begin:end])
        if kept + size > tail_budget:
            break
        kept += size
        cut = begin
    if cut <= head:
        return None
    folded = history[head:cut]
    turns = sum(1 for m in folded if m.role != "tool")
    return FoldPlan(head, cut, turns, sum(count(m) for m in folded))


# --------------------------------------------------------------------------- digests

_EXIT = re.compile(r"\[(?:killed by [^;\]]+; )?exit code (-?\d+)\]\s*\Z")


def digest_line(call: ToolCall | None, content: str) -> str:
    """One line standing in for a tool output: name, arguments, exit code, size."""
    name = call.name if call is not None else "tool"
    args = " ".join((call.arguments if call is not None else "").split())
    if len(args) > 120:
        args = args[:117] + "..."
    parts = [f"{name} {args}".strip()]
    m = _EXIT.search(content)
    if m:
        parts.append(f"exit {m.group(1)}")
    parts.append(f"{len(content.encode('utf-8')):,} bytes")
    return f"{DIGEST_PREFIX}{' · '.join(parts)}]"


def is_digest(message: Message) -> bool:
    """Whether a tool message already holds a digest."""
    return message.role == "tool" and (message.content or "").startswith(DIGEST_PREFIX)


def digest_results(history: Sequence[Message], begin: int, end: int) -> list[Message]:
    """``history`` with the tool outputs in ``history[begin:end]`` folded to digests."""
    calls: dict[str, ToolCall] = {}
    out = list(history)
    for i, msg in enumerate(history[:end]):
        for call in msg.tool_calls:
            calls[call.id] = call
        if i >= begin and msg.role == "tool" and not is_digest(msg):
            line = digest_line(calls.get(msg.tool_call_id or ""), msg.content or "")
            out[i] = Message(role="tool", content=line, tool_call_id=msg.tool_call_id)
    return out


def plan_digest(
    history: Sequence[Message], head: int, excess: int, count: Callable[[Message], int]
) -> int:
    """How far (an index) tool outputs must be digested, oldest first, to save ``excess``
    tokens: the end of the step where the saving is reached (or of the last step)."""
    saved = 0
    end = head
    for begin, stop in groups(history, head):
        for msg in history[begin:stop]:
            if msg.role == "tool" and not is_digest(msg):
                line = digest_line(None, msg.content or "")
                saved += max(0, count(msg) - count(Message("tool", line, (), msg.tool_call_id)))
        end = stop
        if saved >= excess:
            break
    return end


# --------------------------------------------------------------------------- summary

SECTIONS = ("GOAL", "DECISIONS", "FILES", "COMMANDS", "OPEN QUESTIONS", "NEXT STEPS")
_SECTION_HINTS = {
    "GOAL": "what the user wants overall",
    "DECISIONS": "choices made and why",
    "FILES": "each file touched and its current state",
    "COMMANDS": "commands run and their results",
    "OPEN QUESTIONS": "what is unresolved",
    "NEXT STEPS": "what to do next",
}

SUMMARY_SYSTEM = (
    "You keep the running summary of a coding session between a user and hermes, a "
    "coding agent. The oldest turns are being removed from the agent's view and replaced "
    "by your summary, which must carry everything needed to continue the work: exact "
    "file paths, names, commands, error messages, numbers and decisions. Never invent. "
    "If there is a previous summary, update it: keep what is still true, change what the "
    "new turns changed, drop what no longer matters.\n\n"
    "Reply with exactly these sections, each header alone on its line, in this order:\n"
    + "\n".join(f"{s}: ({_SECTION_HINTS[s]})" for s in SECTIONS)
    + "\nFACTS: (durable facts to remember in future sessions, one per line as "
    '"- [category] subject: statement", category one of preference, correction, '
    'project, environment; "- none" if there are none)\n'
    'Use "- none" for an empty section.'
)

_HEADER = re.compile(
    r"^[ \t]*(#+[ \t]*)?\**[ \t]*(GOAL|DECISIONS|FILES(?: TOUCHED)?|COMMANDS(?: RUN)?|"
    r"OPEN QUESTIONS|NEXT STEPS|FACTS)[ \t]*\**[ \t]*(:?)[ \t]*\**[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_FACT_LINE = re.compile(
    r"^\s*[-*]\s*\[(preference|correction|project|environment)\]\s*(?:([^:\n]{1,60}):\s+)?(.+?)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SummaryFact:
    """One line of the summary's FACTS section."""

    category: FactCategory
    subject: str
    content: str


@dataclass(frozen=True)
class ParsedSummary:
    """The summary text (fixed sections, FACTS removed) and the facts it listed."""

    text: str
    facts: tuple[SummaryFact, ...]


def render_transcript(
    messages: Sequence[Message], max_tokens: int, count: Callable[[str], int]
) -> str:
    """The folded turns as plain text for the summary request, within ``max_tokens``:
    long messages are cut to their head and tail, tighter until the whole fits."""
    calls: dict[str, ToolCall] = {}
    for m in messages:
        calls.update((c.id, c) for c in m.tool_calls)
    cap = 6_000
    tokens = 0
    while True:
        text = "\n".join(_render(m, calls, cap) for m in messages)
        # ~3 characters a token errs high, so the exact count usually runs once
        if len(text) // 3 <= max_tokens or cap <= 200:
            tokens = count(text)
            if tokens <= max_tokens or cap <= 200:
                break
        cap //= 2
    if tokens > max_tokens:  # still too long: keep both ends
        keep = max(400, max_tokens * 2)
        text = text[:keep] + "\n[... middle of the folded turns left out ...]\n" + text[-keep:]
    return text


def _clip(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    half = cap // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half:,} characters left out ...]\n{text[-half:]}"


def _render(m: Message, calls: Mapping[str, ToolCall], cap: int) -> str:
    if m.role == "tool":
        call = calls.get(m.tool_call_id or "")
        name = call.name if call is not None else "tool"
        return f"[result of {name}]\n{_clip(m.content or '', cap // 2)}"
    lines = []
    if m.content:
        lines.append(f"[{m.role}]\n{_clip(m.content, cap)}")
    for c in m.tool_calls:
        lines.append(f"[{m.role} calls {c.name}] {_clip(c.arguments, cap // 4)}")
    return "\n".join(lines) or f"[{m.role}]"


def summary_request(
    previous: str, folded: Sequence[Message], max_tokens: int, count: Callable[[str], int]
) -> list[Message]:
    """The messages of the summary call: instructions, the previous summary, the turns."""
    transcript = render_transcript(folded, max_tokens, count)
    body = (
        "PREVIOUS SUMMARY (update it):\n"
        + (previous.strip() or "(none: this is the first compaction)")
        + "\n\nTURNS TO FOLD INTO IT:\n"
        + transcript
        + "\n\nWrite the updated summary now, in the required sections."
    )
    return [Message("system", SUMMARY_SYSTEM), Message("user", body)]


def parse_summary(reply: str) -> ParsedSummary | None:
    """The sections of a summary reply; None when it is empty. A reply without the
    headers is kept whole as the summary (better than losing it)."""
    reply = reply.strip()
    if not reply:
        return None
    found = [m for m in _HEADER.finditer(reply) if m.group(1) or m.group(3)]
    if not found:
        return ParsedSummary(reply, ())
    sections: dict[str, str] = {}
    for k, m in enumerate(found):
        name = m.group(2).upper().split(" ")[0]
        name = "OPEN QUESTIONS" if name == "OPEN" else "NEXT STEPS" if name == "NEXT" else name
        end = found[k + 1].start() if k + 1 < len(found) else len(reply)
        body = (m.group(4) + reply[m.end() : end]).strip()
        sections[name] = (sections.get(name, "") + "\n" + body).strip()
    facts = []
    for line in sections.pop("FACTS", "").splitlines():
        fm = _FACT_LINE.match(line)
        if fm and fm.group(3).strip().lower().rstrip(".") != "none":
            subject = (fm.group(2) or "").strip().lower()
            category = cast("FactCategory", fm.group(1).lower())
            facts.append(SummaryFact(category, subject, fm.group(3).strip()))
    text = "\n\n".join(f"{s}:\n{sections.get(s) or '- none'}" for s in SECTIONS)
    return ParsedSummary(text, tuple(facts))


def summary_message(summary: str, total_folded: int) -> Message:
    """The user-role message that stands in for the folded turns."""
    return Message(
        "user",
        f"{SUMMARY_LABEL} ({total_folded} turns folded; hermes keeps the full transcript):"
        f"\n\n{summary.strip()}",
    )
