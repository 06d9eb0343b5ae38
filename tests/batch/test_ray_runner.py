"""``hermes batch --ray`` on a local Ray cluster (one per module: Ray starts slowly)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hermes.batch.progress import Reporter
from hermes.batch.results import TaskResult
from hermes.batch.run import BatchOptions, batch_config, run_batch
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from tests.batch.support import (
    CHECK_ANSWER,
    TaskPlayer,
    assert_valid_trajectory,
    by_id,
    read_jsonl,
    task,
    write_tasks,
)
from tests.support import make_config

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def player() -> TaskPlayer:
    return TaskPlayer()


@pytest.fixture
def server(player: TaskPlayer) -> Iterator[ScriptedServer]:
    with ScriptedServer(player) as srv:
        yield srv


def _options(server: ScriptedServer, tmp_path: Path) -> BatchOptions:
    config = batch_config(make_config(server.base_url, tmp_path), None)
    return BatchOptions(
        tasks_file=tmp_path / "tasks.jsonl",
        run_dir=tmp_path / "run",
        config=config,
        parallel=5,
        ray_address="",
    )


def _sessions_by_db(run_dir: Path) -> dict[str, set[str]]:
    out = {}
    for db in sorted(run_dir.glob("worker-*.db")):
        store = Store(db)
        try:
            out[db.name] = {s.id for s in store.list_sessions(limit=1000)}
        finally:
            store.close()
    return out


async def test_twenty_tasks_on_a_local_ray_cluster(
    ray_cluster: Any, server: ScriptedServer, tmp_path: Path
) -> None:
    items = [task(f"r{i:02d}", **({"check": CHECK_ANSWER} if i % 2 else {})) for i in range(19)]
    items.append(task("r19", check="exit 4"))
    write_tasks(tmp_path / "tasks.jsonl", items)
    summary = await run_batch(_options(server, tmp_path), Reporter())

    run_dir = tmp_path / "run"
    results = by_id(read_jsonl(run_dir / "results.jsonl"))
    assert sorted(results) == sorted(i["id"] for i in items)
    assert {k for k, r in results.items() if r["status"] != "passed"} == {"r19"}
    assert results["r19"]["status"] == "failed" and results["r19"]["check_exit_code"] == 4
    trajectories = by_id(read_jsonl(run_dir / "trajectories.jsonl"))
    assert sorted(trajectories) == sorted(results)
    for traj in trajectories.values():
        assert_valid_trajectory(traj)
    # Each worker wrote its own database; every session is in the one its result names.
    sessions = _sessions_by_db(run_dir)
    assert len(sessions) == 2 and not (run_dir / "sessions.db").exists()
    for r in results.values():
        assert r["session_id"] in sessions[r["database"]] and r["turns"] == 4
    assert sum(len(s) for s in sessions.values()) == 20
    assert summary.ray and summary.counts == {"passed": 19, "failed": 1, "error": 0, "timeout": 0}
    assert summary.executor.requests == 60 and summary.executor.p95_ms > 0


class _StopAfter(Reporter):
    def __init__(self, stop: asyncio.Event, count: int) -> None:
        super().__init__()
        self.stop, self.count = stop, count

    def finished(self, result: TaskResult) -> None:
        super().finished(result)
        if self.ran >= self.count:
            self.stop.set()


async def test_a_stopped_ray_run_resumes_from_the_worker_databases(
    ray_cluster: Any, server: ScriptedServer, player: TaskPlayer, tmp_path: Path
) -> None:
    player.delay = 0.2
    ids = [f"s{i}" for i in range(8)]
    write_tasks(tmp_path / "tasks.jsonl", [task(i, check=CHECK_ANSWER) for i in ids])
    stop = asyncio.Event()
    first = await run_batch(_options(server, tmp_path), _StopAfter(stop, 2), stop)
    assert first.interrupted and first.unfinished > 0
    run_dir = tmp_path / "run"
    before = by_id(read_jsonl(run_dir / "results.jsonl"))
    marks: dict[str, dict[str, Any]] = {}
    for journal in sorted(run_dir.glob("worker-*.state.jsonl")):
        marks.update(by_id(read_jsonl(journal)))
    stopped = set(marks) - set(before)
    assert stopped

    second = await run_batch(_options(server, tmp_path), Reporter())
    assert not second.interrupted and second.already_done == len(before)
    results = by_id(read_jsonl(run_dir / "results.jsonl"))
    assert sorted(results) == sorted(ids)
    assert all(r["status"] == "passed" for r in results.values())
    for i in stopped:
        assert results[i]["resumed"] and results[i]["session_id"] == marks[i]["session_id"]
        assert results[i]["database"] == marks[i]["database"]
    for traj in read_jsonl(run_dir / "trajectories.jsonl"):
        assert_valid_trajectory(traj)
