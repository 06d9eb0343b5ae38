"""MCP without servers: config, names, schemas, descriptions, filters, results, secrets."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import mcp_types as mt
import pytest

from hermes.config import (
    ConfigError,
    McpServerConfig,
    McpToolFilter,
    ToolLimits,
    load_config,
    parse_config,
)
from hermes.execution.spec import ToolContext, ToolResult
from hermes.mcp.connection import McpSetupError, describe_error, expand
from hermes.mcp.status import status_lines
from hermes.mcp.tools import (
    build_specs,
    description_limit,
    render_result,
    result_text,
    sanitize_schema,
    selected,
    tool_name,
)
from hermes.trust.workspace import load_workspace, trust_folder

VALID_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_config_reads_servers_and_merges_the_workspace_file(
    hermes_home: Path, workspace: Path
) -> None:
    (hermes_home / "config.yaml").write_text(
        "mcp:\n"
        "  timeout: 12\n"
        "  servers:\n"
        "    github:\n"
        "      url: https://example.com/mcp\n"
        "      headers: {Authorization: 'Bearer ${GH}'}\n"
        "    fs:\n"
        "      command: npx\n"
        "      args: [-y, server-fs]\n"
        "      env: {DEBUG: 1}\n"
        "      tools: {exclude: ['delete_*']}\n"
    )
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text(
        "mcp:\n  servers:\n    fs:\n      trust_annotations: true\n    'off':\n      command: x\n"
    )
    assert list(load_config(workspace, env={}).mcp.servers) == ["github", "fs"]  # untrusted
    trust_folder(workspace)
    mcp = load_workspace(workspace, env={}).report.config.mcp
    assert mcp.timeout == 12.0 and mcp.connect_timeout == 30.0
    assert list(mcp.servers) == ["github", "fs", "off"]
    assert mcp.servers["github"].headers == {"Authorization": "Bearer ${GH}"}
    fs = mcp.servers["fs"]
    assert fs == McpServerConfig(
        command="npx",
        args=("-y", "server-fs"),
        env={"DEBUG": "1"},
        tools=McpToolFilter(exclude=("delete_*",)),
        trust_annotations=True,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mcp:\n  servers:\n    a:\n      comand: x\n", "unknown key 'mcp.servers.a.comand'"),
        ("mcp:\n  servers:\n    a:\n      command: [x]\n", "'mcp.servers.a.command' must be str"),
        ("mcp:\n  servers:\n    a:\n      env: [x]\n", "'mcp.servers.a.env' must be mapping"),
        ("mcp:\n  servers:\n    a:\n      tools: {only: [x]}\n", "'mcp.servers.a.tools.only'"),
        ("mcp:\n  servers:\n    a:\n      trust_annotations: 1\n", "must be bool"),
        ("mcp:\n  servers:\n    a: {}\n", "'mcp.servers.a' needs either 'command'"),
        ("mcp:\n  servers:\n    a: {command: x, url: http://h}\n", "needs either 'command'"),
        ("mcp:\n  servers:\n    a: {url: ftp://h}\n", "must be an http(s) URL"),
        ("mcp:\n  servers:\n    a.b: {command: x}\n", "'mcp.servers.a.b': names may use"),
        ("mcp:\n  servers:\n    off: {command: x}\n", "a name must be text"),
        ("mcp:\n  servers: [a]\n", "'mcp.servers' must be a mapping of names"),
        ("mcp:\n  timeout: 0\n", "'mcp.timeout' and 'mcp.connect_timeout' must be positive"),
    ],
)
def test_config_errors_name_the_key_and_file(
    hermes_home: Path, workspace: Path, text: str, message: str
) -> None:
    path = hermes_home / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(workspace, env={})
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_every_server_key_is_documented_in_the_example() -> None:
    import dataclasses

    example = (Path(__file__).resolve().parents[2] / "config.example.yaml").read_text()
    section = example[example.index("\nmcp:") :]
    for f in dataclasses.fields(McpServerConfig):
        assert f"#   {f.name}:" in section, f"config.example.yaml does not explain {f.name}"


def test_tool_names_are_valid_openai_names_and_unique() -> None:
    assert tool_name("github", "get_issue") == "mcp__github__get_issue"
    assert tool_name("fs", "read.file/v2") == "mcp__fs__read_file_v2"
    long = tool_name("server", "x" * 100)
    assert VALID_NAME.match(long) and len(long) == 64
    other = tool_name("server", "x" * 99 + "y")
    assert other != long and VALID_NAME.match(other)
    clash = tool_name("fs", "read_file", taken={"mcp__fs__read_file"})
    assert clash != "mcp__fs__read_file" and VALID_NAME.match(clash)


def test_schema_is_cleaned_for_openai_endpoints() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Args",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string", "description": "d" * 1000},
            "filter": {"$ref": "#/$defs/Filter"},
            "tree": {"$ref": "#/$defs/Node"},
        },
        "required": ["title"],
        "$defs": {
            "Filter": {
                "title": "Filter",
                "type": "object",
                "properties": {"q": {"type": "string"}},
            },
            "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}},
        },
    }
    out = sanitize_schema(schema)
    assert set(out) == {"type", "properties", "required"}
    assert out["properties"]["title"]["type"] == "string"  # a property may be named "title"
    assert "title" not in out["properties"]["title"]
    assert len(out["properties"]["title"]["description"]) <= 300
    assert out["properties"]["filter"] == {
        "type": "object",
        "properties": {"q": {"type": "string"}},
    }
    assert "$ref" not in str(out)
    assert sanitize_schema(None) == {"type": "object", "properties": {}}
    assert sanitize_schema({"type": "string"}) == {"type": "object", "properties": {}}


def _tool(name: str, description: str = "", read_only: bool | None = None) -> mt.Tool:
    notes = mt.ToolAnnotations(read_only_hint=read_only) if read_only is not None else None
    return mt.Tool(
        name=name,
        description=description,
        input_schema={"type": "object", "properties": {}},
        annotations=notes,
    )


def test_descriptions_share_a_budget_per_server() -> None:
    cfg = parse_config({"mcp": {"server_description_budget_chars": 1000}}, "t").mcp
    assert description_limit(1, cfg) == 500  # description_max_chars
    assert description_limit(10, cfg) == 100
    assert description_limit(1000, cfg) == 60  # a floor keeps every tool described
    tools = [_tool(f"t{i}", "word " * 400) for i in range(10)]
    specs = build_specs("s", McpServerConfig(command="x"), cfg, tools, lambda n: _no_handler)
    assert all(len(spec.description) <= 100 for spec, _ in specs)
    assert sum(len(spec.description) for spec, _ in specs) <= 1000


def _no_handler(ctx: ToolContext, args: object) -> ToolResult:
    return ToolResult(ok=True, content="")


def test_include_exclude_and_classes_by_annotation_and_trust() -> None:
    server = McpServerConfig(command="x", tools=McpToolFilter(include=("get_*", "list_*")))
    assert selected("get_issue", server) and not selected("delete_issue", server)
    server = McpServerConfig(command="x", tools=McpToolFilter(exclude=("delete_*",)))
    assert selected("get_issue", server) and not selected("delete_issue", server)
    tools = [_tool("look", read_only=True), _tool("change", read_only=False), _tool("other")]
    cfg = parse_config({}, "t").mcp
    for trust, expected in ((False, ["exec", "exec", "exec"]), (True, ["read", "exec", "exec"])):
        server = McpServerConfig(command="x", trust_annotations=trust)
        specs = build_specs("s", server, cfg, tools, lambda n: _no_handler)
        assert [spec.tool_class for spec, _ in specs] == expected


def test_results_text_images_resources_errors_and_caps(tmp_path: Path) -> None:
    png = base64.b64encode(b"\x89PNG" + b"\0" * 2044).decode()
    result = mt.CallToolResult(
        content=[
            mt.TextContent(type="text", text="first"),
            mt.ImageContent(type="image", data=png, mime_type="image/png"),
            mt.EmbeddedResource(
                type="resource",
                resource=mt.BlobResourceContents(uri="file:///a.bin", blob=png, mime_type="x/y"),
            ),
            mt.ResourceLink(type="resource_link", uri="file:///b.txt", name="b.txt"),
        ]
    )
    assert result_text(result).splitlines() == [
        "first",
        "[image: image/png, 2,048 bytes, not shown]",
        "[resource file:///a.bin: x/y, 2,048 bytes, not shown]",
        "[resource link: file:///b.txt (b.txt)]",
    ]
    ctx = ToolContext(
        workspace=tmp_path, limits=ToolLimits(max_output_bytes=2000), output_dir=tmp_path
    )
    error = mt.CallToolResult(content=[mt.TextContent(type="text", text="nope")], is_error=True)
    assert render_result(error, ctx, str) == ToolResult(ok=False, content="nope")
    big = mt.CallToolResult(content=[mt.TextContent(type="text", text="line\n" * 5000)])
    capped = render_result(big, ctx, str)
    assert capped.ok and len(capped.content) < 3000 and "omitted" in capped.content
    assert capped.full_output_path and Path(capped.full_output_path).stat().st_size == 25000


def test_secrets_expand_from_env_and_never_show() -> None:
    found: list[str] = []
    env = {"TOKEN": "s3cret-value"}
    assert expand("Bearer ${TOKEN}", env, "h", found) == "Bearer s3cret-value"
    assert expand("${MISSING:-fallback}", env, "h", found) == "fallback"
    assert found == ["s3cret-value", "fallback"]
    with pytest.raises(McpSetupError, match=r"mcp.servers.x.headers.A uses \$\{NOPE\}"):
        expand("${NOPE}", env, "mcp.servers.x.headers.A", [])


def test_errors_are_described_in_one_line() -> None:
    group = ExceptionGroup("tg", [FileNotFoundError(2, "No such file or directory", "srv")])
    assert describe_error(group) == "cannot start 'srv': No such file or directory"
    assert describe_error(RuntimeError("boom")) == "RuntimeError: boom"


def test_status_lines_without_servers_say_how_to_add_them() -> None:
    (line,) = status_lines([])
    assert "mcp.servers" in line
