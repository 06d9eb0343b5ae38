"""Batch task files and the run directory's files, without running any session."""

from __future__ import annotations

import json
from pathlib import Path

from hermes.batch.results import Journal, Mark, RunDir, TaskOutcome, TaskResult
from hermes.batch.tasks import Task, parse_lines, parse_tasks


def test_bad_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "file.txt").write_text("x")
    lines = [
        json.dumps({"id": "good", "prompt": "p", "workspace": "repo", "check": "true"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"prompt": "no id"}),
        json.dumps({"id": "np"}),
        json.dumps({"id": "gone", "prompt": "p", "workspace": "missing-dir"}),
        json.dumps({"id": "file", "prompt": "p", "workspace": "file.txt"}),
        "",
        json.dumps({"id": "good", "prompt": "again"}),
        json.dumps({"id": "typo", "prompt": "p", "chek": "true"}),
        json.dumps({"id": "turns", "prompt": "p", "max_turns": 0}),
        json.dumps({"id": 7, "prompt": "numeric id", "max_turns": 3, "metadata": {"k": 1}}),
        json.dumps({"id": "url", "prompt": "p", "workspace": "https://example.com/r.git"}),
    ]
    taskset = parse_lines(lines, tmp_path)
    assert [t.id for t in taskset.tasks] == ["good", "7", "url"]
    good, seven, url = taskset.tasks
    assert good.workspace == str((tmp_path / "repo").resolve()) and good.check == "true"
    assert good.line == 1 and seven.line == 12
    assert seven.max_turns == 3 and seven.metadata == {"k": 1}
    assert url.workspace_is_url and url.workspace == "https://example.com/r.git"
    reasons = {b.line: b.reason for b in taskset.bad}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 9, 10, 11]
    assert reasons[2].startswith("invalid JSON")
    assert "JSON object" in reasons[3]
    assert "missing id" in reasons[4]
    assert "missing prompt" in reasons[5]
    assert "does not exist" in reasons[6]
    assert "not a directory" in reasons[7]
    assert "duplicate id 'good' (first on line 1)" in reasons[9]
    assert "unknown key(s) 'chek'" in reasons[10]
    assert "max_turns" in reasons[11]
    assert str(taskset.bad[0]).startswith("line 2: invalid JSON")


def test_relative_workspaces_resolve_against_the_task_file(tmp_path: Path) -> None:
    (tmp_path / "sets" / "ws").mkdir(parents=True)
    path = tmp_path / "sets" / "tasks.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "p", "workspace": "ws"}) + "\n")
    (task,) = parse_tasks(path).tasks
    assert task.workspace == str((tmp_path / "sets" / "ws").resolve())


def test_slugs_are_file_names_and_stay_unique() -> None:
    assert Task("plain-id_1.x", "p").slug == "plain-id_1.x"
    a, b = Task("a/b", "p").slug, Task("a?b", "p").slug
    assert "/" not in a and a != b and a.startswith("a_b-")
    assert Task("..", "p").slug.startswith("task-")


def test_reopening_drops_cut_lines_and_trajectories_without_results(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.open()
    run.record(TaskOutcome(TaskResult("a", "passed", turns=2), {"id": "a", "messages": []}))
    run.record(TaskOutcome(TaskResult("b", "failed"), {"id": "b", "messages": []}))
    with run.trajectories_path.open("a") as f:  # written, then killed before the result
        f.write(json.dumps({"id": "c", "messages": []}) + "\n")
    with run.results_path.open("a") as f:  # a result line cut off by kill -9
        f.write('{"id": "c", "status": "pas')
    again = RunDir(tmp_path / "run")
    again.open()
    assert sorted(again.finished) == ["a", "b"]
    assert again.finished["a"] == TaskResult("a", "passed", turns=2)
    assert [json.loads(x)["id"] for x in again.results_path.read_text().splitlines()] == [
        "a",
        "b",
    ]
    assert [json.loads(x)["id"] for x in again.trajectories_path.read_text().splitlines()] == [
        "a",
        "b",
    ]


def test_the_latest_journal_mark_of_a_task_wins_across_workers(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.open()
    Journal(tmp_path / "state.jsonl").append(Mark("t", "s1", "sessions.db", "/w", t=1.0))
    Journal(tmp_path / "worker-0.state.jsonl").append(
        Mark("t", "s1", "sessions.db", "/w", phase="agent_done", agent_status="complete", t=2.0)
    )
    Journal(tmp_path / "worker-1.state.jsonl").append(Mark("u", "s2", "worker-1.db", "/v", t=3.0))
    with (tmp_path / "worker-1.state.jsonl").open("a") as f:
        f.write('{"id": "u", "sess')  # cut off
    run = RunDir(tmp_path)
    run.open()
    assert run.marks["t"].phase == "agent_done" and run.marks["t"].agent_status == "complete"
    assert run.marks["u"].database == "worker-1.db"
