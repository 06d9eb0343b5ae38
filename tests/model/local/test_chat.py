"""Rendering chats for a local model: the GGUF's template in a sandbox, tools, prompts,
and spotting where a written tool call opens."""

from __future__ import annotations

import json

import pytest

from hermes.messages import Message, ToolCall
from hermes.model.local.calls import call_schema, find_opener
from hermes.model.local.chat import (
    LOCAL_TOOLS,
    ChatTemplate,
    ChatTemplateError,
    compact_tools,
    render_chat,
)

# Qwen2.5-Coder-0.5B-Instruct's own template, as its GGUF carries it (Apache-2.0).
QWEN_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    '    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}\n'
    "    {%- for tool in tools %}\n"
    '        {{- "\\n" }}\n'
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    '    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}\n'
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    '    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}\n'
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    '    {%- elif message.role == "assistant" %}\n'
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    '            {{- \'\\n<tool_call>\\n{"name": "\' }}\n'
    "            {{- tool_call.name }}\n"
    '            {{- \'", "arguments": \' }}\n'
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    '    {%- elif message.role == "tool" %}\n'
    '        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}\n'
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    '        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}\n'
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

# A template without tool support (SmolLM2-135M-Instruct's).
PLAIN_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# A template that refuses a system role (as Gemma's and Mistral's do).
NO_SYSTEM_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}<assistant>"
)


def schema(name: str, description: str, props: dict[str, object], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


TOOLS = [
    schema("skill_view", "View a skill.", {"name": {"type": "string"}}, ["name"]),
    schema(
        "terminal",
        "Run a shell command. It has a timeout.",
        {"command": {"type": "string", "description": "bash"}},
        ["command"],
    ),
    schema(
        "read_file",
        "Read a text file with line numbers; use offset to page. More text.",
        {"path": {"type": "string", "description": "Relative"}, "offset": {"type": "integer"}},
        ["path"],
    ),
]


def conversation() -> list[Message]:
    call = ToolCall("call_1", "read_file", json.dumps({"path": "a.txt"}))
    return [
        Message("system", "SYSTEM"),
        Message("user", "what is in a.txt?"),
        Message("assistant", None, tool_calls=(call,)),
        Message("tool", "1\thello <world> & 'quotes'", tool_call_id="call_1"),
    ]


def test_compact_tools_keeps_the_core_tools_in_a_fixed_order() -> None:
    out = compact_tools(TOOLS)
    assert [t["function"]["name"] for t in out] == ["terminal", "read_file"]
    read = out[1]["function"]
    assert read["description"] == "Show the contents of a file."
    assert read["parameters"] == {  # offset is not offered to a small model
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    }
    assert set(LOCAL_TOOLS) >= {t["function"]["name"] for t in out}
    assert compact_tools(list(reversed(TOOLS))) == out  # same bytes whatever the order
    other = schema("grep", "Grep. More.", {"q": {"type": "string", "minimum": 1}}, ["q"])
    assert compact_tools([other]) == []


def test_qwen_template_renders_tools_calls_and_results_natively() -> None:
    template = ChatTemplate(QWEN_TEMPLATE, "<|endoftext|>", "<|im_end|>")
    assert template.supports_tools
    text = render_chat(template, conversation(), compact_tools(TOOLS))
    assert text.startswith("<|im_start|>system\nSYSTEM\n\n# Tools\n")
    assert '{"type": "function", "function": {"name": "read_file"' in text
    assert (
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.txt"}}\n</tool_call>' in text
    )
    # The result goes back as Qwen expects it, unescaped.
    assert (
        "<|im_start|>user\n<tool_response>\n1\thello <world> & 'quotes'\n</tool_response>" in text
    )
    assert text.endswith("<|im_start|>assistant\n")


def test_the_prefix_is_identical_from_turn_to_turn() -> None:
    template = ChatTemplate(QWEN_TEMPLATE)
    tools = compact_tools(TOOLS)
    first = render_chat(template, conversation()[:2], tools)
    later = render_chat(template, [*conversation(), Message("assistant", "It says hello.")], tools)
    assert later.startswith(first.removesuffix("<|im_start|>assistant\n"))


def test_template_without_tools_gets_them_in_the_system_prompt() -> None:
    template = ChatTemplate(PLAIN_TEMPLATE)
    assert not template.supports_tools
    msgs = [*conversation(), Message("user", "and now?")]
    text = render_chat(template, msgs, compact_tools(TOOLS))
    system = text.split("<|im_end|>")[0]
    assert "SYSTEM\n\n# Tools" in system and "<tools>" in system and "<tool_call>" in system
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "read_file", "arguments": '
        '{"path": "a.txt"}}\n</tool_call><|im_end|>'
    ) in text
    # The result and the next user message are one user turn.
    assert (
        "<|im_start|>user\n<tool_response>\n1\thello <world> & 'quotes'\n</tool_response>"
        "\n\nand now?<|im_end|>"
    ) in text
    assert "<|im_start|>tool" not in text


def test_template_without_a_system_role_gets_it_folded_into_the_first_user_turn() -> None:
    template = ChatTemplate(NO_SYSTEM_TEMPLATE, bos_token="<bos>")
    text = render_chat(template, [Message("system", "RULES"), Message("user", "hi")])
    assert text == "<bos><user>RULES\n\nhi</user><assistant>"


def test_a_hostile_template_cannot_escape_the_sandbox() -> None:
    hostile = ChatTemplate("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ChatTemplateError):
        render_chat(hostile, [Message("user", "hi")])
    attr = ChatTemplate("{{ messages.append(1) }}")  # immutable: no mutation either
    with pytest.raises(ChatTemplateError):
        render_chat(attr, [Message("user", "hi")])
    broken = ChatTemplate("{% for %}")
    with pytest.raises(ChatTemplateError, match="does not compile"):
        render_chat(broken, [Message("user", "hi")])


CALL = '{"name": "read_file", "arguments": {"path": "a"}}'


@pytest.mark.parametrize(
    ("text", "opener"),
    [
        ("<tool_call>", 0),
        ("Let me look.<tool_call>", 12),
        (CALL, 0),
        ("Let me look.\n" + CALL, 13),
        ('  {\n  "name": "read_file"', 2),
        ('```json\n{"name"', 0),
        ('Sure.\n```\n{ "name": "x"', 6),
        ('```tool_call\n{"name"', 0),
        ('```json\n{\n  "name": "x"', 0),
        ('Here:\n\n```json\n{\n\n  "name"', 7),
    ],
)
def test_find_opener_spots_a_call_opening(text: str, opener: int) -> None:
    assert find_opener(text) == (opener, opener)


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("Hello world", None),
        ("Hello <tool", 6),  # may become <tool_call>
        ("Look:\n{", 6),  # may become {"name"
        ('Look:\n{"na', 6),
        ('A JSON example:\n{"a": 1}', None),
        ("Code:\n```", 6),
        ("Code:\n```python\nx = {", None),  # a line in a code block is never a call
        ('```python\n{"name": "read_file"', None),
        ('Use {"name": "read_file"} inline', None),
    ],
)
def test_find_opener_leaves_prose_and_code_alone(text: str, safe: int | None) -> None:
    assert find_opener(text) == (None, len(text) if safe is None else safe)


def test_call_schema_allows_exactly_the_offered_tools() -> None:
    schema = call_schema(compact_tools(TOOLS))
    options = schema["anyOf"]
    assert [o["properties"]["name"] for o in options] == [
        {"const": "terminal"},
        {"const": "read_file"},
    ]
    assert options[1]["properties"]["arguments"]["required"] == ["path"]
    assert all(o["additionalProperties"] is False for o in options)
