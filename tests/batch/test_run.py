"""``hermes batch`` end to end: real processes (or the runner in process) against the
scripted server, real SQLite, real check commands."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hermes.batch.progress import Reporter
from hermes.batch.run import BatchOptions, batch_config, run_batch
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.batch.support import (
    CHECK_ANSWER,
    TaskPlayer,
    assert_valid_trajectory,
    by_id,
    call,
    hermes_batch,
    read_jsonl,
    start_batch,
    task,
    write_tasks,
)
from tests.support import make_config


@pytest.fixture
def player() -> TaskPlayer:
    return TaskPlayer()


@pytest.fixture
def server(player: TaskPlayer) -> Iterator[ScriptedServer]:
    with ScriptedServer(player) as srv:
        yield srv


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _fixtures(tmp_path: Path) -> tuple[Path, Path]:
    """A directory to copy (with a symlink) and a bare git repository to clone."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "README.md").write_text("# project\n")
    (src / "sub" / "data.txt").write_text("data\n")
    (src / "link").symlink_to("README.md")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "main.py").write_text("print('hi')\n")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "initial", cwd=repo)
    _git("clone", "-q", "--bare", str(repo), str(tmp_path / "repo.git"), cwd=tmp_path)
    return src, tmp_path / "repo.git"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_twenty_tasks_with_parallel_five(
    server: ScriptedServer, player: TaskPlayer, tmp_path: Path, hermes_home: Path
) -> None:
    src, bare = _fixtures(tmp_path)
    copy_check = f"test -f README.md && test -L link && test -f sub/data.txt && {CHECK_ANSWER}"
    items = [task(f"t{i:02d}", workspace="src", check=copy_check) for i in range(5)]
    items.append(
        task(
            "t05",
            workspace=str(bare),
            check=f"git log --oneline | grep -q initial && {CHECK_ANSWER}",
        )
    )
    items += [
        task(
            f"t0{i}",
            setup="echo prepared > setup.txt",
            check=f"test -f setup.txt && {CHECK_ANSWER}",
        )
        for i in (6, 7)
    ]
    items.append(task("t08", check='test "$(cat answer.txt)" = "something else"'))
    items.append(task("t09", check="echo graded-output; exit 3"))
    items.append(task("t10", max_turns=2))
    items.append(task("t11", model="other-model", check=CHECK_ANSWER))
    items += [task(f"t{i}", **({"check": CHECK_ANSWER} if i % 2 else {})) for i in range(12, 20)]
    tasks = write_tasks(tmp_path / "tasks.jsonl", items)
    run_dir = tmp_path / "run"

    run = hermes_batch(
        str(tasks),
        "--out",
        str(run_dir),
        "--parallel",
        "5",
        "--base-url",
        server.base_url,
        "--output-format",
        "jsonl",
        cwd=tmp_path,
        home=hermes_home,
    )

    assert run.returncode == 0, run.stderr
    results = by_id(read_jsonl(run_dir / "results.jsonl"))
    assert sorted(results) == sorted(i["id"] for i in items)
    streamed = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert len(streamed) == 20 and by_id(streamed) == results  # --output-format jsonl
    failed = {"t08", "t09", "t10"}
    assert {k for k, r in results.items() if r["status"] == "failed"} == failed
    assert all(r["status"] == "passed" for k, r in results.items() if k not in failed)
    assert results["t09"]["check_exit_code"] == 3
    assert "graded-output" in results["t09"]["check_output"]
    assert results["t00"]["check_exit_code"] == 0
    assert results["t10"]["turns"] == 2 and "max_turns" in results["t10"]["reason"]
    assert results["t11"]["model"] == "other-model" and player.models["t11"] == "other-model"
    for key, r in results.items():
        assert r["session_id"] and r["database"] == "sessions.db"
        assert r["tokens"] == r["prompt_tokens"] + r["completion_tokens"] > 0
        assert r["wall_time_s"] > 0
        if key != "t10":
            assert r["turns"] == 4
        assert Path(r["workspace"]).parent == run_dir.resolve() / "workspaces"

    trajectories = by_id(read_jsonl(run_dir / "trajectories.jsonl"))
    assert sorted(trajectories) == sorted(results)
    for key, traj in trajectories.items():
        assert_valid_trajectory(traj)
        assert traj["session_id"] == results[key]["session_id"]
        assert traj["status"] == results[key]["status"]
    calls = [
        c["function"]["name"]
        for m in trajectories["t00"]["messages"]
        for c in m.get("tool_calls", [])
    ]
    assert calls == ["write_file", "read_file", "terminal"]
    assert trajectories["t00"]["messages"][-1] == {"role": "assistant", "content": "done t00"}

    store = Store(run_dir / "sessions.db")
    try:
        sessions = {s.id: s for s in store.list_sessions(limit=100)}
        assert set(sessions) == {r["session_id"] for r in results.values()}
        assert sessions[results["t03"]["session_id"]].workspace == results["t03"]["workspace"]
    finally:
        store.close()
    assert not (src / "answer.txt").exists(), "the original workspace is untouched"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["counts"] == {"passed": 17, "failed": 3, "error": 0, "timeout": 0}
    assert summary["executor"]["requests"] == 19 * 3 + 2
    assert summary["executor"]["p95_ms"] >= summary["executor"]["p50_ms"] > 0
    assert "20 tasks: 17 passed, 3 failed" in run.stderr


def test_bad_lines_are_reported_and_the_rest_runs(
    server: ScriptedServer, tmp_path: Path, hermes_home: Path
) -> None:
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [
            task("a"),
            "{oops",
            {"id": "b"},
            task("c", workspace="no/such/dir"),
            task("d", check=CHECK_ANSWER),
        ],
    )
    run = hermes_batch(
        str(tasks), "--out", "run", "--base-url", server.base_url, cwd=tmp_path, home=hermes_home
    )
    assert run.returncode == 1, run.stderr
    assert "line 2: invalid JSON" in run.stderr
    assert "line 3: task 'b': missing prompt" in run.stderr
    assert "line 4: task 'c': workspace no/such/dir does not exist" in run.stderr
    assert "3 task line(s) skipped as invalid" in run.stdout
    results = by_id(read_jsonl(tmp_path / "run" / "results.jsonl"))
    assert {k: r["status"] for k, r in results.items()} == {"a": "passed", "d": "passed"}


def _options(
    server: ScriptedServer,
    tmp_path: Path,
    name: str,
    *,
    approval_mode: str = "auto-edit",
    parallel: int = 4,
    task_timeout: float = 600.0,
) -> BatchOptions:
    config = batch_config(make_config(server.base_url, tmp_path), approval_mode)
    return BatchOptions(
        tasks_file=tmp_path / f"{name}.jsonl",
        run_dir=tmp_path / name,
        config=config,
        parallel=parallel,
        task_timeout=task_timeout,
    )


async def test_a_crashing_session_or_setup_is_an_error_and_the_run_goes_on(
    server: ScriptedServer, player: TaskPlayer, tmp_path: Path
) -> None:
    player.special["crash"] = lambda step: ScriptedReply(status=400, text="no such thing")
    write_tasks(
        tmp_path / "run.jsonl",
        [
            task("ok", check=CHECK_ANSWER),
            task("crash"),
            task("badsetup", setup="echo broken >&2; exit 3"),
            task("ok2"),
        ],
    )
    summary = await run_batch(_options(server, tmp_path, "run", parallel=2), Reporter())
    results = by_id(read_jsonl(tmp_path / "run" / "results.jsonl"))
    status = {k: r["status"] for k, r in results.items()}
    assert status == {"ok": "passed", "crash": "error", "badsetup": "error", "ok2": "passed"}
    assert "no such thing" in results["crash"]["reason"]
    assert results["badsetup"]["reason"].startswith("setup failed (exit code 3)")
    assert "broken" in results["badsetup"]["reason"]
    assert results["badsetup"]["session_id"] == ""
    trajectories = by_id(read_jsonl(tmp_path / "run" / "trajectories.jsonl"))
    assert sorted(trajectories) == ["crash", "ok", "ok2"]  # no session, no trajectory
    for traj in trajectories.values():
        assert_valid_trajectory(traj)
    assert summary.counts == {"passed": 2, "failed": 0, "error": 2, "timeout": 0}


async def test_a_task_that_runs_too_long_times_out_and_keeps_its_transcript(
    server: ScriptedServer, player: TaskPlayer, tmp_path: Path
) -> None:
    def slow(step: int) -> ScriptedReply:
        if step == 0:
            return ScriptedReply(tool_calls=(call("write_file", path="a.txt", content="x"),))
        return ScriptedReply(text="too late", delay_seconds=60)  # woken when the server stops

    player.special["slow"] = slow
    write_tasks(tmp_path / "run.jsonl", [task("slow", check="true")])
    summary = await run_batch(_options(server, tmp_path, "run", task_timeout=1.0), Reporter())
    (result,) = read_jsonl(tmp_path / "run" / "results.jsonl")
    assert result["status"] == "timeout" and "longer than 1 s" in result["reason"]
    assert result["check_exit_code"] is None  # a timed-out task is not graded
    (traj,) = read_jsonl(tmp_path / "run" / "trajectories.jsonl")
    assert_valid_trajectory(traj)
    assert [m["role"] for m in traj["messages"]][:4] == ["system", "user", "assistant", "tool"]
    assert (Path(result["workspace"]) / "a.txt").read_text() == "x"
    assert summary.counts["timeout"] == 1


async def test_catastrophic_commands_never_run_and_ask_mode_denies(
    server: ScriptedServer, player: TaskPlayer, tmp_path: Path
) -> None:
    def wipe(step: int) -> ScriptedReply:
        if step == 0:
            command = "mkfs.ext4 /dev/hermes-batch-nope; touch ran.txt"
            return ScriptedReply(tool_calls=(call("terminal", command=command),))
        return ScriptedReply(text="tried")

    player.special["wipe"] = wipe
    write_tasks(tmp_path / "yolo.jsonl", [task("wipe", check="test ! -e ran.txt")])
    await run_batch(_options(server, tmp_path, "yolo", approval_mode="yolo"), Reporter())
    (result,) = read_jsonl(tmp_path / "yolo" / "results.jsonl")
    assert result["status"] == "passed"
    assert not (Path(result["workspace"]) / "ran.txt").exists()
    (traj,) = read_jsonl(tmp_path / "yolo" / "trajectories.jsonl")
    tool = next(m for m in traj["messages"] if m["role"] == "tool")
    assert "denied" in tool["content"] and "catastrophic" in tool["content"]

    write_tasks(tmp_path / "ask.jsonl", [task("asked", check=CHECK_ANSWER)])
    await run_batch(_options(server, tmp_path, "ask", approval_mode="ask"), Reporter())
    (result,) = read_jsonl(tmp_path / "ask" / "results.jsonl")
    assert result["status"] == "failed" and result["check_exit_code"] != 0
    assert not (Path(result["workspace"]) / "answer.txt").exists()
    (traj,) = read_jsonl(tmp_path / "ask" / "trajectories.jsonl")
    assert "denied" in next(m for m in traj["messages"] if m["role"] == "tool")["content"]


def _wait_for(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _run_args(tasks: Path, run_dir: Path, server: ScriptedServer) -> list[str]:
    return [str(tasks), "--out", str(run_dir), "--parallel", "4", "--base-url", server.base_url]


def test_a_killed_run_resumes_where_it_stopped(
    server: ScriptedServer, player: TaskPlayer, tmp_path: Path, hermes_home: Path
) -> None:
    player.delay = 0.25
    ids = [f"k{i}" for i in range(8)]
    tasks = write_tasks(tmp_path / "tasks.jsonl", [task(i, check=CHECK_ANSWER) for i in ids])
    run_dir = tmp_path / "run"
    proc = start_batch(*_run_args(tasks, run_dir, server), cwd=tmp_path, home=hermes_home)
    try:
        _wait_for(lambda: len(read_jsonl(run_dir / "results.jsonl")) >= 1)
        proc.kill()  # SIGKILL: no chance to tidy up
    finally:
        proc.wait(30)
    before = by_id(read_jsonl(run_dir / "results.jsonl"))
    marks = by_id(read_jsonl(run_dir / "state.jsonl"))
    interrupted = set(marks) - set(before)
    assert before and interrupted, (before, marks)
    requests_before = {i: player.count(i) for i in before}

    rerun = start_batch(*_run_args(tasks, run_dir, server), cwd=tmp_path, home=hermes_home)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err

    results = read_jsonl(run_dir / "results.jsonl")
    assert sorted(r["id"] for r in results) == sorted(ids), "each task exactly once"
    after = by_id(results)
    assert all(after[i] == before[i] for i in before), "finished tasks are skipped"
    assert {i: player.count(i) for i in before} == requests_before
    for i in interrupted:
        assert after[i]["resumed"] is True
        assert after[i]["session_id"] == marks[i]["session_id"]
    assert all(r["status"] == "passed" for r in results), results
    trajectories = read_jsonl(run_dir / "trajectories.jsonl")
    assert sorted(t["id"] for t in trajectories) == sorted(ids)
    for traj in trajectories:
        assert_valid_trajectory(traj)
    assert f"{len(before)} w" in out and "finished by an earlier run and skipped" in out


def test_ctrl_c_interrupts_running_sessions_and_loses_nothing(
    server: ScriptedServer, player: TaskPlayer, tmp_path: Path, hermes_home: Path
) -> None:
    player.delay = 0.25
    ids = [f"c{i}" for i in range(6)]
    tasks = write_tasks(tmp_path / "tasks.jsonl", [task(i, check=CHECK_ANSWER) for i in ids])
    run_dir = tmp_path / "run"
    proc = start_batch(*_run_args(tasks, run_dir, server), cwd=tmp_path, home=hermes_home)
    _wait_for(lambda: len(read_jsonl(run_dir / "state.jsonl")) >= 4 and player.total() >= 4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping: interrupting running sessions" in err
    finished = by_id(read_jsonl(run_dir / "results.jsonl"))
    marks = by_id(read_jsonl(run_dir / "state.jsonl"))
    stopped = set(marks) - set(finished)
    assert stopped, "some sessions were running when Ctrl+C came"
    store = Store(run_dir / "sessions.db")
    try:
        for i in stopped:  # what was produced is kept, and the history is one the API takes
            stored = store.load_messages(marks[i]["session_id"])
            assert stored and stored[0].message.content == f"[task {i}] write your id to answer.txt"
            traj = {
                "id": i,
                "messages": [{"role": "system", "content": "s"}]
                + [m.message.to_openai() for m in stored],
                "tools": [{"type": "function", "function": {"name": "x", "parameters": {}}}],
            }
            assert_valid_trajectory(traj)
    finally:
        store.close()

    rerun = start_batch(*_run_args(tasks, run_dir, server), cwd=tmp_path, home=hermes_home)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    results = by_id(read_jsonl(run_dir / "results.jsonl"))
    assert sorted(results) == sorted(ids)
    assert all(r["status"] == "passed" for r in results.values())
    assert all(results[i]["resumed"] for i in stopped)
