"""Request validation for the scripted server, modelled on the OpenAI API's 400 errors.

Only checks that a real endpoint enforces and that a client can get wrong: the shape
of the body and messages, tool-call/tool-result pairing, tool definitions, and
``max_tokens``. Messages follow the wording of the real API where it is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

VALID_ROLES: tuple[str, ...] = ("system", "developer", "user", "assistant", "tool", "function")

MISSING_TOOL_RESULTS = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding "
    "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
)
ORPHAN_TOOL_MESSAGE = (
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
    "message with 'tool_calls'."
)

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ValidationError:
    """Why a request is refused: the message, the offending parameter, an error code."""

    message: str
    param: str | None = None
    code: str | None = None


class _Invalid(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.error = ValidationError(message, param, code)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _missing(param: str) -> _Invalid:
    return _Invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _bad_type(param: str, expected: str, value: Any) -> _Invalid:
    return _Invalid(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param,
        "invalid_type",
    )


def _empty_array(param: str) -> _Invalid:
    return _Invalid(
        f"Invalid '{param}': empty array. Expected an array with minimum length 1, "
        "but got an empty array instead.",
        param,
        "empty_array",
    )


def _empty_string(param: str) -> _Invalid:
    return _Invalid(
        f"Invalid '{param}': empty string. Expected a string with minimum length 1, "
        "but got an empty string instead.",
        param,
        "empty_string",
    )


def validate_chat_body(body: Any) -> ValidationError | None:
    """Check a chat-completions request body; ``None`` when a real API would accept it."""
    try:
        _check_body(body)
    except _Invalid as exc:
        return exc.error
    return None


def _check_body(body: Any) -> None:
    if not isinstance(body, dict):
        raise _Invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
        )
    model = body.get("model")
    if model is None:
        raise _missing("model")
    if not isinstance(model, str):
        raise _bad_type("model", "a string", model)
    if not model:
        raise _empty_string("model")
    if "messages" not in body:
        raise _missing("messages")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise _bad_type("messages", "an array", messages)
    if not messages:
        raise _empty_array("messages")
    for i, message in enumerate(messages):
        _check_message(i, message)
    _check_tool_pairing(messages)
    if "tools" in body:
        _check_tools(body["tools"])
    for key in ("max_tokens", "max_completion_tokens"):
        if key in body and body[key] is not None:
            value = body[key]
            if not isinstance(value, int) or isinstance(value, bool):
                raise _bad_type(key, "an integer", value)
            if value < 1:
                raise _Invalid(
                    f"Invalid '{key}': integer below minimum value. Expected a value >= 1, "
                    f"but got {value} instead.",
                    key,
                    "integer_below_min_value",
                )
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _bad_type("stream", "a boolean", stream)
    if body.get("stream_options") is not None and stream is not True:
        raise _Invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            "invalid_value",
        )


def _check_content(param: str, content: Any) -> None:
    if isinstance(content, str):
        return
    if isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise _Invalid(
                    f"Invalid '{param}[{j}]': expected an object with a 'type'.",
                    f"{param}[{j}]",
                    "invalid_value",
                )
        return
    raise _bad_type(param, "one of a string or array of objects", content)


def _check_message(i: int, message: Any) -> None:
    where = f"messages[{i}]"
    if not isinstance(message, dict):
        raise _bad_type(where, "an object", message)
    role = message.get("role")
    if role is None:
        raise _missing(f"{where}.role")
    if role not in VALID_ROLES:
        supported = ", ".join(f"'{r}'" for r in VALID_ROLES[:-1]) + f", and '{VALID_ROLES[-1]}'"
        raise _Invalid(
            f"Invalid value: '{role}'. Supported values are: {supported}.",
            f"{where}.role",
            "invalid_value",
        )
    content = message.get("content")
    if role == "assistant":
        tool_calls = message.get("tool_calls")
        if tool_calls is not None:
            _check_tool_calls(where, tool_calls)
        if content is None and not tool_calls:
            if "content" not in message:
                raise _missing(f"{where}.content")
            raise _bad_type(f"{where}.content", "a string", content)
        if content is not None:
            _check_content(f"{where}.content", content)
        return
    if "content" not in message:
        raise _missing(f"{where}.content")
    _check_content(f"{where}.content", content)
    if role == "tool":
        call_id = message.get("tool_call_id")
        if call_id is None:
            raise _missing(f"{where}.tool_call_id")
        if not isinstance(call_id, str):
            raise _bad_type(f"{where}.tool_call_id", "a string", call_id)


def _check_tool_calls(where: str, tool_calls: Any) -> None:
    param = f"{where}.tool_calls"
    if not isinstance(tool_calls, list):
        raise _bad_type(param, "an array", tool_calls)
    if not tool_calls:
        raise _empty_array(param)
    seen: set[str] = set()
    for j, call in enumerate(tool_calls):
        at = f"{param}[{j}]"
        if not isinstance(call, dict):
            raise _bad_type(at, "an object", call)
        call_id = call.get("id")
        if call_id is None:
            raise _missing(f"{at}.id")
        if not isinstance(call_id, str):
            raise _bad_type(f"{at}.id", "a string", call_id)
        if not call_id:
            raise _empty_string(f"{at}.id")
        if call_id in seen:
            raise _Invalid(
                f"Invalid '{param}': duplicate tool_call id '{call_id}'.", param, "invalid_value"
            )
        seen.add(call_id)
        if call.get("type") != "function":
            raise _Invalid(
                f"Invalid value: {call.get('type')!r}. Supported values are: 'function'.",
                f"{at}.type",
                "invalid_value",
            )
        function = call.get("function")
        if not isinstance(function, dict):
            if function is None:
                raise _missing(f"{at}.function")
            raise _bad_type(f"{at}.function", "an object", function)
        name = function.get("name")
        if name is None:
            raise _missing(f"{at}.function.name")
        if not isinstance(name, str):
            raise _bad_type(f"{at}.function.name", "a string", name)
        arguments = function.get("arguments")
        if arguments is None:
            raise _missing(f"{at}.function.arguments")
        if not isinstance(arguments, str):
            raise _bad_type(f"{at}.function.arguments", "a string", arguments)


def _check_tool_pairing(messages: list[dict[str, Any]]) -> None:
    """Every call answered before the next non-tool message; every tool message a reply."""
    open_ids: list[str] | None = None  # calls of the assistant message owning this tool block
    open_at = 0
    answered: set[str] = set()

    def close_block() -> None:
        if open_ids is not None:
            missing = [c for c in open_ids if c not in answered]
            if missing:
                raise _Invalid(
                    MISSING_TOOL_RESULTS + ", ".join(missing), f"messages.[{open_at}].role"
                )

    for i, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            call_id = message["tool_call_id"]
            if open_ids is None or call_id not in open_ids:
                raise _Invalid(ORPHAN_TOOL_MESSAGE, f"messages.[{i}].role")
            if call_id in answered:
                raise _Invalid(
                    f"Invalid parameter: more than one message with role 'tool' responds to "
                    f"tool_call_id '{call_id}'.",
                    f"messages.[{i}].tool_call_id",
                )
            answered.add(call_id)
            continue
        close_block()
        open_ids = None
        if role == "assistant" and message.get("tool_calls"):
            open_ids = [c["id"] for c in message["tool_calls"]]
            open_at = i
            answered = set()
    close_block()


def _check_tools(tools: Any) -> None:
    if not isinstance(tools, list):
        raise _bad_type("tools", "an array", tools)
    if not tools:
        raise _empty_array("tools")
    for j, tool in enumerate(tools):
        at = f"tools[{j}]"
        if not isinstance(tool, dict):
            raise _bad_type(at, "an object", tool)
        if tool.get("type") != "function":
            if "type" not in tool:
                raise _missing(f"{at}.type")
            raise _Invalid(
                f"Invalid value: {tool.get('type')!r}. Supported values are: 'function'.",
                f"{at}.type",
                "invalid_value",
            )
        function = tool.get("function")
        if function is None:
            raise _missing(f"{at}.function")
        if not isinstance(function, dict):
            raise _bad_type(f"{at}.function", "an object", function)
        name = function.get("name")
        if name is None:
            raise _missing(f"{at}.function.name")
        if not isinstance(name, str):
            raise _bad_type(f"{at}.function.name", "a string", name)
        if not _TOOL_NAME.match(name):
            raise _Invalid(
                f"Invalid '{at}.function.name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
                f"{at}.function.name",
                "invalid_value",
            )
        if "parameters" in function and not isinstance(function["parameters"], dict):
            raise _bad_type(f"{at}.function.parameters", "an object", function["parameters"])
        description = function.get("description")
        if description is not None and not isinstance(description, str):
            raise _bad_type(f"{at}.function.description", "a string", description)
