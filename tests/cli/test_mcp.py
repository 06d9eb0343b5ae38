"""``hermes mcp list``: connects to the configured servers, lists them, and exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hermes.cli.main import main
from hermes.trust.workspace import trust_folder
from tests.mcp_servers import stdio_server


def configure(workspace: Path, servers: dict[str, object]) -> None:
    (workspace / ".hermes").mkdir(exist_ok=True)
    text = yaml.safe_dump({"mcp": {"servers": servers}}, sort_keys=False)
    (workspace / ".hermes" / "config.yaml").write_text(text)
    trust_folder(workspace)  # an untrusted folder's servers never start


def test_list_json_shows_state_and_tools(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(
        workspace,
        {
            "srv": stdio_server(trust_annotations=True, tools={"exclude": ["die"]}),
            "off": stdio_server(enabled=False),
        },
    )
    assert main(["-C", str(workspace), "mcp", "list", "--json"]) == 0
    srv, off = json.loads(capsys.readouterr().out)
    assert (off["name"], off["state"], off["tools"]) == ("off", "disabled", [])
    assert (srv["name"], srv["state"], srv["transport"]) == ("srv", "ready", "stdio")
    tools = {t["name"]: t["tool_class"] for t in srv["tools"]}
    assert tools["mcp__srv__read_thing"] == "read" and tools["mcp__srv__write_thing"] == "exec"
    assert "mcp__srv__die" not in tools


def test_list_text_shows_a_failed_server_with_its_stderr_and_exits_1(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(workspace, {"bad": stdio_server("--exit-at-start")})
    assert main(["-C", str(workspace), "mcp", "list"]) == 1
    out = capsys.readouterr().out
    assert "bad" in out and "failed" in out and "exited with code 1 while starting" in out
    assert "cannot open the database (on purpose)" in out


def test_list_without_servers_says_how_to_add_them(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(workspace), "mcp", "list"]) == 0
    assert "mcp.servers" in capsys.readouterr().out


def test_a_bad_mcp_config_exits_2(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure(workspace, {"bad": {"url": "ftp://x"}})
    assert main(["-C", str(workspace), "mcp", "list"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err


def test_doctor_shows_each_server(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure(
        workspace, {"bad": stdio_server("--exit-at-start"), "off": stdio_server(enabled=False)}
    )
    config = workspace / ".hermes" / "config.yaml"
    config.write_text(config.read_text() + "model:\n  base_url: http://127.0.0.1:9/v1\n")
    trust_folder(workspace)
    assert main(["-C", str(workspace), "doctor", "--json", "--timeout", "1"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    checks = {c["check"]: c for c in lines}
    assert checks["mcp off"]["level"] == "ok"
    bad = checks["mcp bad"]
    assert bad["level"] == "FAIL" and "exited with code 1 while starting" in bad["detail"]
    assert "cannot open the database (on purpose)" in bad["detail"]
    assert "mcp.servers.bad" in bad["fix"]
