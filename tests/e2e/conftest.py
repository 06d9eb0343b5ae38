"""A real OpenAI-compatible server for the end-to-end tests: llama-cpp-python's
``llama_cpp.server`` serving the shipped Qwen2.5-Coder-0.5B GGUF on a free loopback port,
started once per test session and stopped at its end.

Skipped when llama-cpp-python or the server's own dependencies are not installed (the
``local`` and ``server`` extras); under CI (``CI`` set) that is a failure instead,
because ``.ci/run`` installs both.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import NoReturn

import pytest

from hermes.model.local.files import DEFAULT_PACK, ModelFileError, ensure_pack

N_CTX = 8192
SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
_CHAT_POST = re.compile(r'"POST /v1/chat/completions HTTP/[\d.]+" (\d{3})')
_START_TIMEOUT_S = 300.0  # model load; only a bound for a server that never comes up


def _missing_modules() -> list[str]:
    return [name for name in SERVER_MODULES if find_spec(name) is None]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f".ci/run installs the local and server extras, yet: {reason}")
    pytest.skip(reason)


@dataclass
class RealServer:
    """The running server: where it listens, the model it serves, its log."""

    base_url: str
    model_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_mark(self) -> int:
        """A position in the server's log; :meth:`chat_statuses` counts from it."""
        return self.log_path.stat().st_size

    def chat_statuses(self, since: int) -> list[int]:
        """HTTP statuses of the chat-completions requests the server logged since ``since``."""
        with self.log_path.open("rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", errors="replace")
        return [int(m.group(1)) for m in _CHAT_POST.finditer(text)]

    def log_tail(self, since: int = 0, chars: int = 3000) -> str:
        """The end of the server's log since ``since``, for failure messages."""
        with self.log_path.open("rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", errors="replace")[-chars:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(base_url: str) -> bool:
    import httpx2

    try:
        return httpx2.get(f"{base_url}/models", timeout=2.0).status_code == 200
    except httpx2.HTTPError:
        return False


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    """``python -m llama_cpp.server`` with the shipped model, up and answering /v1/models."""
    missing = _missing_modules()
    if missing:
        _unavailable(
            "llama-cpp-python's server is not installed (missing: "
            + ", ".join(missing)
            + "); pip install -e '.[local,server]'"
        )
    try:
        model = ensure_pack(DEFAULT_PACK, tmp_path_factory.mktemp("models"))
    except ModelFileError as exc:
        _unavailable(str(exc))
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    threads = str(os.cpu_count() or 1)
    argv = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model.path),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(N_CTX),
        "--n_threads", threads, "--n_threads_batch", threads,
        "--seed", "1",
        "--verbose", "False",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    server = RealServer(base_url, model.path, log_path, process)
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _answers(base_url):
            if process.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited with {process.returncode}:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer /v1/models:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
