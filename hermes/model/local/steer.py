"""Keeping a small local model from calling tools in circles.

A 0.5B model that has just received a tool result often asks for the very same call
again, turn after turn. The local client therefore asks for a plain answer (tool
calls suppressed, and a one-line request for the answer appended) when the model repeats a call it already made since the user last
spoke, or once it has made :data:`MAX_CALLS_PER_TURN` calls. Suppression is done on
the logits: the reply must start with a word (a letter or digit; a model told not to
call will otherwise open with ``{``, ``(`` or a fence and call anyway), and
``<tool_call>`` may not appear later either. The prompt is unchanged, so the cached
prefix still holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from hermes.messages import Message, ToolCall

MAX_CALLS_PER_TURN = 8
# Added (to that one request only) when calls are suppressed: without it the model,
# unable to call, tends to open with a stray word before the answer.
ANSWER_NUDGE = "Answer my question using the tool result above."


def _key(call: ToolCall) -> tuple[str, str]:
    try:
        args = json.dumps(json.loads(call.arguments or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        args = call.arguments
    return call.name, args


def calls_since_user(messages: Sequence[Message]) -> list[ToolCall]:
    """The tool calls the assistant made after the last user message."""
    calls: list[ToolCall] = []
    for m in reversed(messages):
        if m.role == "user":
            break
        if m.role == "assistant":
            calls[:0] = m.tool_calls
    return calls


def repeats(messages: Sequence[Message], new: Sequence[ToolCall]) -> bool:
    """Are all of ``new`` calls ones already made (same name and arguments) since the
    user last spoke?"""
    made = {_key(c) for c in calls_since_user(messages)}
    return bool(new) and all(_key(c) in made for c in new)


def non_word_tokens(llm: Any) -> list[int]:
    """Token ids whose text does not start with a letter or digit (after spaces): the
    ones a plain answer may not open with. Scans the vocabulary once."""
    found = []
    for token in range(int(llm.n_vocab())):
        try:
            text = bytes(llm.detokenize([token], special=True)).decode("utf-8", "replace")
        except Exception:
            text = ""
        if not text.lstrip()[:1].isalnum():
            found.append(token)
    return found


def no_call_processor(
    llm: Any, prompt_len: int, starts: Sequence[int]
) -> Callable[[Any, Any], Any]:
    """A llama-cpp-python logits processor that forbids opening a tool call."""
    opener = llm.tokenize(b"<tool_call>", add_bos=False, special=True)
    always = opener if len(opener) == 1 else []
    first = list(starts)

    def process(input_ids: Any, scores: Any) -> Any:
        banned = first if len(input_ids) <= prompt_len else always
        if banned:
            scores[banned] = -float("inf")
        return scores

    return process
