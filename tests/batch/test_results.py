"""The run directory: what a batch keeps on disk is redacted (issue 15, finding 6)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from hermes.batch.results import RunDir, TaskOutcome, TaskResult
from hermes.redact import register_secret

OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2


def test_trajectories_and_results_are_redacted_and_stay_valid_json(tmp_path: Path) -> None:
    key = "gsk_" + secrets.token_hex(20)
    register_secret(key)
    trajectory = {
        "id": "t1",
        "messages": [
            {"role": "user", "content": f"use {key}"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {
                            "name": "terminal",
                            "arguments": json.dumps({"command": f"echo {OPENAI}"}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": f'?token=abcdef\\" {OPENAI}'},
        ],
    }
    result = TaskResult(id="t1", status="failed", check_output=f"leaked {key} and {OPENAI}")
    run = RunDir(tmp_path / "run")
    run.open()
    run.record(TaskOutcome(result, trajectory))
    for path in (run.trajectories_path, run.results_path):
        text = path.read_text()
        assert key not in text and OPENAI not in text, path.name
        json.loads(text)  # still one valid JSON object per line
    saved = json.loads(run.trajectories_path.read_text())
    assert saved["messages"][0]["content"] == "use [REDACTED:credential]"
    args = json.loads(saved["messages"][1]["tool_calls"][0]["function"]["arguments"])
    assert args == {"command": "echo [REDACTED:api-key]"}
    line = json.loads(run.results_path.read_text())
    assert line["check_output"] == "leaked [REDACTED:credential] and [REDACTED:api-key]"
    reopened = RunDir(tmp_path / "run")
    reopened.open()
    assert list(reopened.finished) == ["t1"]
