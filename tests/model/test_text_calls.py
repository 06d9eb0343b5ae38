from __future__ import annotations

import json

import pytest

from hermes.model.text_calls import TextCallStream, parse_text_tool_calls, parse_whole_text_call

KNOWN = {"read_file", "terminal", "write_file"}


def parsed(text: str) -> tuple[str, list[tuple[str, dict[str, object]]]] | None:
    result = parse_text_tool_calls(text, KNOWN)
    if result is None:
        return None
    return result.text, [(c.name, json.loads(c.arguments)) for c in result.calls]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}</tool_call>',
            ("", [("read_file", {"path": "a.py"})]),
        ),
        (
            'Let me look.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py"}}\n</tool_call>',
            ("Let me look.", [("read_file", {"path": "a.py"})]),
        ),
        (
            '<tool_call>{"name": "read_file", "arguments": {"path": "a"}}</tool_call>\n<tool_call>{"name": "terminal", "arguments": {"command": "ls"}}</tool_call>',
            ("", [("read_file", {"path": "a"}), ("terminal", {"command": "ls"})]),
        ),
        (
            '```json\n{"name": "terminal", "arguments": {"command": "ls -la"}}\n```',
            ("", [("terminal", {"command": "ls -la"})]),
        ),
        (
            'I will list files:\n```json\n{"name": "terminal", "arguments": {"command": "ls"}}\n```\n',
            ("I will list files:", [("terminal", {"command": "ls"})]),
        ),
        ('{"name": "read_file", "arguments": {"path": "x"}}', ("", [("read_file", {"path": "x"})])),
        (
            'Reading it now.\n{"name": "read_file", "parameters": {"path": "x"}}',
            ("Reading it now.", [("read_file", {"path": "x"})]),
        ),
        (
            '{"name": "read_file", "arguments": "{\\"path\\": \\"x\\"}"}',
            ("", [("read_file", {"path": "x"})]),
        ),
        (
            '```\n[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "read_file", "arguments": {"path": "b"}}]\n```',
            ("", [("read_file", {"path": "a"}), ("read_file", {"path": "b"})]),
        ),
    ],
)
def test_accepted_forms(
    text: str, expected: tuple[str, list[tuple[str, dict[str, object]]]]
) -> None:
    assert parsed(text) == expected


LOOK_ALIKES = [
    "Here is some prose with no JSON at all.",
    'The config looks like {"name": "read_file", "arguments": {"path": "x"}} and that is fine.',
    '{"name": "read_file", "arguments": {"path": "x"}}\nThat is how you would call it.',
    '```json\n{"name": "delete_all", "arguments": {}}\n```',
    '{"name": "unknown_tool", "arguments": {}}',
    '```python\nprint({"name": "read_file", "arguments": {}})\n```',
    '```json\n{"name": "read_file", "arguments": {"path": "a"}}\n```\nand then I would explain more.',
    '{"name": "read_file", "arguments": [1, 2]}',
    '{"name": "read_file", "arguments": "not json"}',
    '{"name": "read_file", "arguments": {}, "extra": true}',
    '{"name": "read_file"',
    '<tool_call>{"name": "read_file", "arguments": {"path": "a"}}</tool_call> but wait, never mind.',
    "<tool_call>not json</tool_call>",
    '```json\n{"user": "bob", "name": "terminal"}\n```',
    '{"data": {"name": "terminal", "arguments": {"command": "ls"}}}',
    'package.json has {\n  "name": "terminal"\n}',
    '```\n{"name": "terminal", "arguments": {"command": "ls"}}\n',  # unclosed fence
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_stay_text(text: str) -> None:
    assert parse_text_tool_calls(text, KNOWN) is None


def test_nothing_without_known_tools() -> None:
    assert parse_text_tool_calls('{"name": "read_file", "arguments": {}}', set()) is None


def stream(pieces: list[str]) -> tuple[str, str, object]:
    s = TextCallStream(KNOWN)
    shown = "".join(s.feed(p) for p in pieces)
    rest, calls = s.finish()
    return shown, rest, calls


def chunks(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_stream_holds_back_a_trailing_call(size: int) -> None:
    text = 'Let me check.\n<tool_call>{"name": "read_file", "arguments": {"path": "a"}}</tool_call>'
    shown, rest, result = stream(chunks(text, size))
    assert "<tool" not in shown and "{" not in shown
    assert (shown + rest).rstrip() == "Let me check."
    assert result is not None


@pytest.mark.parametrize("size", [1, 4, 64])
def test_stream_releases_plain_text_and_closed_code(size: int) -> None:
    text = 'Try this:\n```json\n{"a": 1}\n```\nThen run it. Done.'
    shown, rest, result = stream(chunks(text, size))
    assert result is None
    assert shown + rest == text
    # The closed code block followed by prose was shown before the end of the reply.
    assert "Then run" in shown or size == 64


def test_stream_fenced_call_at_the_end() -> None:
    text = 'Listing:\n```json\n{"name": "terminal", "arguments": {"command": "ls"}}\n```'
    shown, rest, result = stream(chunks(text, 5))
    assert "```" not in shown
    assert (shown + rest).rstrip() == "Listing:"
    assert result is not None and [c.name for c in result.calls] == ["terminal"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # Qwen2.5-Coder on llama-cpp-python's server, as measured
            '```json\n{\n  "name": "read_file",\n  "arguments": {\n    "path": "README.md"\n  }\n}\n```',
            ("", [("read_file", {"path": "README.md"})]),
        ),
        (
            '```JSON\r\n{"name": "terminal", "arguments": "{\\"command\\": \\"ls\\"}"}\r\n```',
            ("", [("terminal", {"command": "ls"})]),
        ),
        (
            '{"type": "function", "function": {"name": "read_file", "arguments": {"path": "x"}}}',
            ("", [("read_file", {"path": "x"})]),
        ),
        (
            '<tool_call>\n{"id": "c1", "type": "function", "function": {"name": "terminal", '
            '"arguments": "{\\"command\\": \\"pwd\\"}"}}\n</tool_call>',
            ("", [("terminal", {"command": "pwd"})]),
        ),
    ],
)
def test_variants_seen_in_the_wild(
    text: str, expected: tuple[str, list[tuple[str, dict[str, object]]]]
) -> None:
    assert parsed(text) == expected


def test_broken_encoded_arguments_stay_a_call_to_be_repaired() -> None:
    # Qwen2.5-Coder-0.5B on llama-cpp-python's server, as measured (second turn).
    text = '{"name": "terminal", "arguments": "{\\"command\\": \\"echo \\"Hello\\"\\"}"}\n'
    result = parse_text_tool_calls(text, KNOWN)
    assert result is not None and result.text == ""
    assert [(c.name, c.arguments) for c in result.calls] == [
        ("terminal", '{"command": "echo "Hello""}')
    ]


def test_the_api_shape_needs_only_its_own_keys() -> None:
    text = '{"function": {"name": "read_file", "arguments": {}}, "extra": 1}'
    assert parse_text_tool_calls(text, KNOWN) is None


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('```json\n{"name": "read_file", "arguments": {"path": "a"}}\n```', ["read_file"]),
        ('  {"name": "terminal", "arguments": {"command": "ls"}}\n', ["terminal"]),
        ('I will read it.\n{"name": "read_file", "arguments": {"path": "a"}}', None),
        ('{"name": "nope", "arguments": {}}', None),
        ("plain answer", None),
    ],
)
def test_whole_text_call_for_detection(text: str, names: list[str] | None) -> None:
    calls = parse_whole_text_call(text, KNOWN)
    assert (None if calls is None else [c.name for c in calls]) == names
