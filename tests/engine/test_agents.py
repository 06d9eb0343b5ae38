"""Custom agents: Markdown files from $HERMES_HOME/agents and, in trusted folders only,
.hermes/agents; the model sees their names and descriptions; a custom agent's body,
tools and model are what its subagent runs with."""

from __future__ import annotations

from pathlib import Path

from hermes import protocol as p
from hermes.engine.agents import BUILT_IN, load_agents, parse_agent, workspace_trusted
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from hermes.trust.workspace import trust_folder
from tests.engine.test_subagents import Router, task
from tests.support import make_config, make_engine, of_type, run_prompt

REVIEWER = """---
description: Reviews a change for bugs and missing tests
tools: read_file, search_files
model: reviewer-model
---
You are a careful reviewer. Report bugs with file:line.
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(text)
    return path


def test_a_file_becomes_an_agent(tmp_path: Path) -> None:
    agent = parse_agent(write(tmp_path, "reviewer", REVIEWER))
    assert not isinstance(agent, str)
    assert (agent.name, agent.description, agent.tools, agent.model) == (
        "reviewer",
        "Reviews a change for bugs and missing tests",
        ("read_file", "search_files"),
        "reviewer-model",
    )
    assert agent.prompt == "You are a careful reviewer. Report bugs with file:line."
    assert agent.allows("read_file") and not agent.allows("terminal")
    assert not agent.allows("task")  # never: subagents start no subagents


def test_broken_files_are_skipped_with_the_reason(tmp_path: Path, hermes_home: Path) -> None:
    agents = hermes_home / "agents"
    write(agents, "nofront", "just text")
    write(agents, "nodesc", "---\nmodel: x\n---\nbody")
    write(agents, "badyaml", "---\ndescription: [\n---\nbody")
    write(agents, "Bad Name", "---\ndescription: x\n---\n")
    catalog = load_agents(hermes_home, tmp_path, trusted=False)
    assert catalog.names() == [a.name for a in BUILT_IN]
    reasons = {Path(w.split(": ", 1)[0]).name: w.split(": ", 1)[1] for w in catalog.warnings}
    assert reasons["nofront.md"] == "no front matter (the file must start with a '---' line)"
    assert reasons["nodesc.md"] == (
        "'description' is required (one line the model reads to choose it)"
    )
    assert reasons["badyaml.md"].startswith("invalid YAML in the front matter")
    assert reasons["Bad Name.md"] == (
        "the file name must be a lowercase agent name (letters, digits, - and _)"
    )


def test_workspace_agents_count_only_in_a_trusted_folder(
    workspace: Path, hermes_home: Path
) -> None:
    write(hermes_home / "agents", "reviewer", REVIEWER)
    write(
        workspace / ".hermes" / "agents",
        "reviewer",
        "---\ndescription: the project's own\n---\nlocal",
    )
    write(workspace / ".hermes" / "agents", "docs", "---\ndescription: writes docs\n---\nDocs.")
    untrusted = load_agents(hermes_home, workspace, trusted=workspace_trusted(workspace))
    assert untrusted.get("reviewer").description.startswith("Reviews")  # type: ignore[union-attr]
    assert untrusted.get("docs") is None
    assert any("not trusted" in w for w in untrusted.warnings)
    trust_folder(workspace)
    trusted = load_agents(hermes_home, workspace, trusted=workspace_trusted(workspace))
    assert trusted.get("reviewer").description == "the project's own"  # type: ignore[union-attr]
    assert trusted.get("docs") is not None and trusted.warnings == ()


async def test_the_model_sees_the_agents_and_a_custom_one_runs_as_written(
    workspace: Path, hermes_home: Path, store: Store
) -> None:
    write(hermes_home / "agents", "reviewer", REVIEWER)
    router = Router()
    router.add(
        "review it",
        ScriptedReply(tool_calls=(task("t1", "review", "Review a.py.", "reviewer"),)),
        ScriptedReply(text="Reviewed."),
    )
    router.add("Review a.py.", ScriptedReply(text="No bugs in a.py."))
    with ScriptedServer(router) as server:
        engine = make_engine(make_config(server.base_url, workspace), workspace, store)
        events = await run_prompt(engine, "review it")
        requests = server.requests
    task_tool = next(
        t["function"] for t in requests[0].body["tools"] if t["function"]["name"] == "task"
    )
    assert "- reviewer: Reviews a change for bugs and missing tests" in task_tool["description"]
    assert "- explore: " in task_tool["description"]
    assert task_tool["parameters"]["properties"]["agent"]["enum"] == [
        "general",
        "explore",
        "reviewer",
    ]
    child = next(r for r in requests if r.messages[-1].get("content") == "Review a.py.")
    assert child.body["model"] == "reviewer-model"
    assert child.messages[0]["content"].startswith("You are a careful reviewer.")
    assert [t["function"]["name"] for t in child.body["tools"]] == ["read_file", "search_files"]
    ends = {e.call_id: e.output for e in of_type(events, p.ToolCallEnd)}
    assert ends == {"t1": "No bugs in a.py."}
