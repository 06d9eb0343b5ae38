"""A real local HTTP server speaking the OpenAI chat-completions protocol from a script.

Tests and benchmarks point hermes (or the ``openai`` SDK) at :attr:`ScriptedServer.base_url`
and the server answers each chat request with the next :class:`ScriptedReply`, streamed
as SSE or as one JSON object, with the provider quirks and failures the reply asks for.
Requests are validated like the real API and kept for inspection::

    with ScriptedServer([ScriptedReply(text="hi")]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        ...
        assert server.requests[0].body["messages"][-1]["content"] == "hello"

``quirks`` (:class:`ServerQuirks`, e.g. :data:`LLAMA_CPP_PYTHON`) make it behave like
a real server that a client must survive: ``content: null`` answered 500, no usage
when streaming, tool calls written as text, and so on.

From another process: ``python -m hermes.testing.scripted.server --script FILE.json
[--port N] [--record FILE] [--quirks llama-cpp-python|NAME,...]`` prints
``READY <base_url>`` and serves until killed.
hermes itself never imports this module. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TextIO

from hermes.testing.scripted.http import Handler, HTTPServer, ReplyUnavailable
from hermes.testing.scripted.types import (
    LLAMA_CPP_PYTHON,
    QUIRK_PRESETS,
    ChatRequest,
    ScriptedCall,
    ScriptedReply,
    ScriptFn,
    ServerQuirks,
    call_from_dict,
    load_script,
    reply_from_dict,
    reply_to_dict,
)
from hermes.testing.scripted.validate import ValidationError, validate_chat_body

__all__ = [
    "LLAMA_CPP_PYTHON",
    "QUIRK_PRESETS",
    "ChatRequest",
    "ScriptFn",
    "ScriptedCall",
    "ScriptedReply",
    "ScriptedServer",
    "ServerQuirks",
    "ValidationError",
    "call_from_dict",
    "load_script",
    "main",
    "parse_quirks",
    "reply_from_dict",
    "reply_to_dict",
    "validate_chat_body",
]


class ScriptedServer:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 that plays a script.

    ``script`` is a sequence of replies played in order (one per valid chat request,
    taken atomically, so concurrent clients each get a distinct reply) or a function
    called with each valid :class:`ChatRequest` (from server threads, concurrently; it
    must be thread-safe). ``validate`` answers malformed requests with 400 like the real
    API, without consuming a reply. ``record`` appends every chat request body as one
    JSON line to that file. ``log`` receives one line per rejection or error.
    ``quirks`` are real servers' behaviours to reproduce (refusals answered by a quirk do
    not consume a reply either; they are listed in :attr:`rejections`).
    """

    def __init__(
        self,
        script: Sequence[ScriptedReply] | ScriptFn = (),
        *,
        model: str = "scripted-model",
        context_window: int | None = 128_000,
        validate: bool = True,
        port: int = 0,
        record: str | Path | None = None,
        log: TextIO | None = None,
        quirks: ServerQuirks | None = None,
    ) -> None:
        self.model = model
        self.context_window = context_window
        self.validate = validate
        self.quirks = quirks or ServerQuirks()
        self._open_streams: set[threading.Event] = set()
        self._models_listed = 0
        self._port = port
        self._record = Path(record) if record is not None else None
        self._log = log
        self._fn: ScriptFn | None = None
        self._queue: list[ScriptedReply] = []
        if callable(script):
            self._fn = script
        else:
            self._queue = list(script)
        self._cond = threading.Condition()
        self._served = 0
        self._call_counter = 0
        self._stalls = 0
        self._requests: list[ChatRequest] = []
        self._rejections: list[str] = []
        self._errors: list[str] = []
        self._http_log: list[tuple[str, str, int]] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> ScriptedServer:
        """Bind 127.0.0.1 (port 0 = any free port) and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("scripted server already started")
        httpd = HTTPServer(("127.0.0.1", self._port), Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-server-{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listening socket and every open connection.

        Stalled or delayed streams are woken and cut, so this never hangs.
        """
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        if self._httpd is None and not self._stopping.is_set():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._httpd is None:
            raise RuntimeError("scripted server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, the client's ``base_url``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- script ---------------------------------------------------------------------

    def add(self, *replies: ScriptedReply) -> None:
        """Append replies to the script (also while running)."""
        if self._fn is not None:
            raise TypeError("this scripted server plays a script function, not a list")
        with self._cond:
            self._queue.extend(replies)

    @property
    def served(self) -> int:
        """How many replies have been taken from the script (or made by the function)."""
        with self._cond:
            return self._served

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been played yet (0 for a script function)."""
        with self._cond:
            return len(self._queue)

    # -- what happened -----------------------------------------------------------------

    @property
    def requests(self) -> list[ChatRequest]:
        """Every chat request received, valid or not (a snapshot)."""
        with self._cond:
            return list(self._requests)

    @property
    def rejections(self) -> list[str]:
        """The validation error messages of requests answered 400 (a snapshot)."""
        with self._cond:
            return list(self._rejections)

    @property
    def errors(self) -> list[str]:
        """Server-side failures answered 500: script exhausted, script function raised."""
        with self._cond:
            return list(self._errors)

    @property
    def http_log(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every HTTP response sent, chat or not."""
        with self._cond:
            return list(self._http_log)

    @property
    def stalls(self) -> int:
        """How many replies have reached their stall point."""
        with self._cond:
            return self._stalls

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> bool:
        """Block until at least ``n`` chat requests have arrived; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._requests) >= n, timeout)

    def wait_for_stall(self, timeout: float = 10.0, count: int = 1) -> bool:
        """Block until ``count`` replies have reached their stall point; False on timeout.

        The stall is signalled after the chunks before it were written, so a test can
        then kill or interrupt the client knowing it is mid-stream.
        """
        with self._cond:
            return self._cond.wait_for(lambda: self._stalls >= count, timeout)

    # -- used by the handler (the ScriptOwner interface) -----------------------------------

    @property
    def stopping(self) -> bool:
        """Is the server shutting down?"""
        return self._stopping.is_set()

    def register_request(
        self, body: dict[str, Any], raw_size: int, headers: dict[str, str]
    ) -> ChatRequest:
        with self._cond:
            request = ChatRequest(body, raw_size, len(self._requests), headers)
            self._requests.append(request)
            if self._record is not None:
                with self._record.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(body) + "\n")
            self._cond.notify_all()
        return request

    def note(self, kind: str, message: str) -> None:
        with self._cond:
            (self._rejections if kind == "rejected" else self._errors).append(message)
        if self._log is not None:
            try:
                self._log.write(f"scripted server: {kind}: {message}\n")
                self._log.flush()
            except (OSError, ValueError):
                pass

    def next_reply(self, request: ChatRequest) -> tuple[ScriptedReply, list[str]]:
        """Take the next reply and the ids its calls are sent with."""
        if self._fn is not None:
            try:
                reply = self._fn(request)
            except Exception as exc:
                raise ReplyUnavailable(
                    f"scripted server: script function raised {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(reply, ScriptedReply):
                raise ReplyUnavailable(
                    f"scripted server: script function returned {type(reply).__name__}, "
                    "not a ScriptedReply"
                )
        with self._cond:
            if self._fn is None:
                if not self._queue:
                    raise ReplyUnavailable(
                        f"scripted server: script exhausted after {self._served} replies"
                    )
                reply = self._queue.pop(0)
            self._served += 1
            ids = []
            for call in reply.tool_calls:
                if call.id is None:
                    self._call_counter += 1
                    ids.append(f"call_{self._call_counter}")
                else:
                    ids.append(call.id)
        return reply, ids

    def reached_stall(self) -> None:
        with self._cond:
            self._stalls += 1
            self._cond.notify_all()

    def sleep(self, seconds: float) -> bool:
        """Wait, waking early on stop; False when the server is stopping."""
        if seconds > 0:
            self._stopping.wait(seconds)
        return not self._stopping.is_set()

    def stream_opened(self) -> threading.Event:
        """A stream starts; the event is set when a ``GET /models`` ends it (quirk)."""
        ended = threading.Event()
        with self._cond:
            self._open_streams.add(ended)
        return ended

    def stream_closed(self, ended: threading.Event) -> None:
        with self._cond:
            self._open_streams.discard(ended)

    def models_listed(self) -> None:
        with self._cond:
            self._models_listed += 1
            if self.quirks.models_ends_streams:
                for ended in self._open_streams:
                    ended.set()

    @property
    def models_requests(self) -> int:
        """How many ``GET /models`` (list) requests were answered."""
        with self._cond:
            return self._models_listed

    def track(self, conn: socket.socket, opened: bool) -> None:
        with self._cond:
            if opened:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def logged(self, method: str, path: str, status: int) -> None:
        with self._cond:
            self._http_log.append((method, path, status))


def parse_quirks(text: str) -> ServerQuirks:
    """``--quirks``: a preset name, or ``field`` / ``field=value`` items joined by commas
    (``true``/``false`` for flags, ``none`` for no value)."""
    text = text.strip()
    if not text:
        return ServerQuirks()
    if text in QUIRK_PRESETS:
        return QUIRK_PRESETS[text]
    fields = {f.name: f for f in dataclasses.fields(ServerQuirks)}
    values: dict[str, Any] = {}
    for item in text.split(","):
        name, sep, raw = item.strip().partition("=")
        name = name.replace("-", "_")
        if name not in fields:
            raise ValueError(f"unknown quirk {name!r} (known: {', '.join(fields)})")
        if not sep:
            values[name] = True
        elif raw.lower() in ("true", "false"):
            values[name] = raw.lower() == "true"
        else:
            values[name] = None if raw.lower() == "none" else raw
    return ServerQuirks(**values)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a script file until SIGTERM/SIGINT; prints ``READY <base_url>`` when listening."""
    parser = argparse.ArgumentParser(
        prog="python -m hermes.testing.scripted.server",
        description="Serve OpenAI chat completions from a JSON script of replies.",
    )
    parser.add_argument("--script", required=True, help="JSON list of reply objects")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--record", help="append each chat request body as a JSON line here")
    parser.add_argument("--model", default="scripted-model", help="model id to report")
    parser.add_argument(
        "--context-window", type=int, default=128_000, help="context_length to report (0: none)"
    )
    parser.add_argument("--no-validate", action="store_true", help="accept malformed requests")
    parser.add_argument(
        "--quirks",
        default="",
        help="a preset (llama-cpp-python) or comma-separated ServerQuirks fields, e.g. "
        "null_content_500,calls_as_text=tagged,stream_usage=never",
    )
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script)
        quirks = parse_quirks(args.quirks)
    except (OSError, ValueError) as exc:
        print(f"scripted server: cannot load script: {exc}", file=sys.stderr)
        return 2
    server = ScriptedServer(
        script,
        model=args.model,
        context_window=args.context_window or None,
        validate=not args.no_validate,
        port=args.port,
        record=args.record,
        log=sys.stderr,
        quirks=quirks,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print(f"READY {server.base_url}", flush=True)
    try:
        while not done.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
