from __future__ import annotations

import pytest

from hermes.execution.arguments import ArgumentError, parse_arguments

SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "limit": {"type": "integer"},
        "target": {"type": "string", "enum": ["content", "files"]},
    },
    "required": ["path"],
    "additionalProperties": False,
}
EMPTY = {"type": "object", "properties": {}}


def test_valid_arguments_parse() -> None:
    assert parse_arguments('{"path": "a", "limit": 3}', SCHEMA) == {"path": "a", "limit": 3}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("null", "must be a JSON object, not null"),
        ('["a"]', "must be a JSON object, not list"),
        ('"a"', "must be a JSON object, not str"),
        ("{}", "missing required argument(s): path"),
        ('{"path": 1}', "argument 'path' must be string"),
        ('{"path": "a", "limit": true}', "argument 'limit' must be integer"),
        ('{"path": "a", "extra": 1}', "unknown argument(s): extra"),
        ('{"path": "a", "target": "x"}', "must be one of"),
        ('{"path": "a"', "not valid JSON"),
        ("", "the arguments were empty"),
    ],
)
def test_bad_arguments_are_schema_errors(raw: str, message: str) -> None:
    with pytest.raises(ArgumentError) as info:
        parse_arguments(raw, SCHEMA)
    assert message in str(info.value)


def test_empty_string_means_no_arguments_only_without_parameters() -> None:
    assert parse_arguments("", EMPTY) == {}
    assert parse_arguments("  ", EMPTY) == {}


def test_null_optional_values_are_dropped() -> None:
    assert parse_arguments('{"path": "a", "limit": null}', SCHEMA) == {"path": "a"}


def test_nul_byte_in_a_path_argument_is_an_argument_error() -> None:
    """Caught before approval, checkpoints or the tool resolve it (issue 20, finding 16)."""
    with pytest.raises(ArgumentError, match=r"^path contains a NUL byte"):
        parse_arguments('{"path": "a\\u0000b"}', SCHEMA)
    content = {"type": "object", "properties": {"content": {"type": "string"}}}
    assert parse_arguments('{"content": "a\\u0000b"}', content) == {"content": "a\x00b"}
