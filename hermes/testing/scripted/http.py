"""The HTTP side of the scripted server: request handler and socket server.

Kept apart from :mod:`hermes.testing.scripted.server` (which owns the script and the
record of requests) only to keep files small; nothing here is public API.
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from hermes.testing.scripted.types import ScriptedReply, ScriptOwner
from hermes.testing.scripted.validate import validate_chat_body
from hermes.testing.scripted.wire import (
    as_text_calls,
    completion_object,
    error_body,
    null_content_error,
    overflow_error,
    stream_chunks,
)

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


class ReplyUnavailable(Exception):
    """No reply can be played for a request (script exhausted, script function failed)."""


class HTTPServer(ThreadingHTTPServer):
    """A thread per connection, daemon threads, no joining on close."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024  # the default 5 resets connections in a burst of clients
    owner: ScriptOwner

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse DNS lookup (slow or hanging offline)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) or self.owner.stopping:
            return  # the client went away, or we are shutting down
        super().handle_error(request, client_address)


class _Abort(Exception):
    """Stop answering this request and drop the connection."""


class Handler(BaseHTTPRequestHandler):
    """Answers ``/v1/models`` and ``/v1/chat/completions`` for the owning server."""

    protocol_version = "HTTP/1.1"
    server_version = "ScriptedServer/1.0"

    @property
    def owner(self) -> ScriptOwner:
        return cast(HTTPServer, self.server).owner

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.owner.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.owner.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr logging."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.owner.logged(self.command, self.path, code)
        super().send_response(code, message)

    # -- plumbing ---------------------------------------------------------------------

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, status: int, text: str, headers: dict[str, str]) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    # -- endpoints -----------------------------------------------------------------------

    def do_GET(self) -> None:
        """``/v1/models`` and ``/v1/models/{id}``."""
        owner = self.owner
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        entry: dict[str, Any] = {"id": owner.model, "object": "model", "owned_by": "scripted"}
        if owner.context_window is not None:
            entry["context_length"] = owner.context_window
        if path in ("/v1/models", "/models"):
            owner.models_listed()
            self._send_json(200, {"object": "list", "data": [entry]})
            return
        for prefix in ("/v1/models/", "/models/"):
            if path.startswith(prefix):
                wanted = urllib.parse.unquote(path[len(prefix) :])
                if wanted == owner.model:
                    self._send_json(200, entry)
                else:
                    message = (
                        f"The model '{wanted}' does not exist or you do not have access to it."
                    )
                    self._send_json(404, error_body(404, message))
                return
        self._send_json(404, error_body(404, f"Unknown path: GET {path}", code="unknown_url"))

    def do_POST(self) -> None:
        """``/v1/chat/completions``."""
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        raw = self._read_body()
        if path not in CHAT_PATHS:
            self._send_json(404, error_body(404, f"Unknown path: POST {path}", code="unknown_url"))
            return
        try:
            self._chat(raw)
        except _Abort:
            self._abort()
        except OSError:
            self.close_connection = True  # client went away mid-response

    def _chat(self, raw: bytes) -> None:
        owner = self.owner
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = owner.register_request(body, len(raw), headers)
        if owner.validate:
            problem = validate_chat_body(parsed)
            if problem is not None:
                owner.note("rejected", problem.message)
                self._send_json(
                    400, error_body(400, problem.message, param=problem.param, code=problem.code)
                )
                return
        if self._quirk_refuses(body, request.stream):
            return
        try:
            reply, ids = owner.next_reply(request)
        except ReplyUnavailable as exc:
            owner.note("error", str(exc))
            self._send_json(500, error_body(500, str(exc), code="script_error"))
            return
        if not owner.sleep(reply.delay_seconds):
            raise _Abort
        if reply.status != 200:
            headers_out = {}
            if reply.retry_after is not None:
                ra = reply.retry_after
                headers_out["Retry-After"] = str(int(ra)) if ra == int(ra) else str(ra)
            if reply.raw_body is not None:
                self._send_raw(reply.status, reply.raw_body, headers_out)
                return
            self._send_json(reply.status, error_body(reply.status, reply.text or None), headers_out)
            return
        created = int(time.time())
        quirks = owner.quirks
        if body.get("tools"):
            reply = as_text_calls(reply, quirks)
        if request.stream:
            options = body.get("stream_options")
            requested = isinstance(options, dict) and options.get("include_usage") is True
            chunks = stream_chunks(
                reply,
                body,
                ids=ids,
                model=owner.model,
                request_index=request.index,
                created=created,
                include_usage=quirks.stream_usage == "always"
                or (quirks.stream_usage == "requested" and requested),
            )
            self._stream(reply, chunks)
        else:
            completion = completion_object(
                reply,
                body,
                ids=ids,
                model=owner.model,
                request_index=request.index,
                created=created,
            )
            self._complete(reply, completion)

    def _quirk_refuses(self, body: dict[str, Any], stream: bool) -> bool:
        """Answer as a real server with the configured quirks would refuse; True if so."""
        owner, quirks = self.owner, self.owner.quirks
        if quirks.reject_stream_options and "stream_options" in body:
            unrecognized = "Unrecognized request argument supplied: stream_options"
            owner.note("rejected", unrecognized)
            self._send_json(400, error_body(400, unrecognized))
            return True
        invalid = null_content_error(body) if quirks.null_content_500 else None
        if invalid is not None:
            owner.note("rejected", invalid.split("\n", 1)[0])
            self._send_json(500, error_body(500, invalid, error_type="internal_server_error"))
            return True
        window = owner.context_window
        message = overflow_error(body, window) if quirks.overflow and window else None
        if message is None:
            return False
        owner.note("rejected", message)
        if stream and quirks.overflow == "empty-stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        error = error_body(400, message, param="messages", code="context_length_exceeded")
        self._send_json(400, error)
        return True

    def _write(self, event: str) -> None:
        data = event.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _stall(self, reply: ScriptedReply, ended: threading.Event) -> None:
        """Pause the stream (writing keepalive comments if asked); a ``GET /models`` under
        that quirk ends the pause early."""
        owner = self.owner
        owner.reached_stall()
        now = time.monotonic()
        until = now + reply.stall_seconds
        every = reply.keepalive_seconds
        next_ping = now + every if every > 0 else float("inf")
        poll = 0.02 if owner.quirks.models_ends_streams else float("inf")
        while not ended.is_set() and (now := time.monotonic()) < until:
            if not owner.sleep(min(min(until, next_ping) - now, poll)):
                raise _Abort
            if time.monotonic() >= next_ping:
                self._write(": keepalive\n\n")
                next_ping += every

    def _stream(self, reply: ScriptedReply, chunks: list[Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        ended = self.owner.stream_opened()
        try:
            self._stream_chunks(reply, chunks, ended)
        finally:
            self.owner.stream_closed(ended)
        self._write("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _stream_chunks(
        self, reply: ScriptedReply, chunks: list[Any], ended: threading.Event
    ) -> None:
        """Every chunk (with the stall, cut, noise and delays asked for); returns early
        when a ``GET /models`` ended the stream (that quirk)."""
        stall_at, cut_at = reply.stall_after_chunks, reply.cut_after_chunks
        source: Iterable[Any] = _endless(chunks) if reply.endless else chunks
        for i, chunk in enumerate(source):
            if i == stall_at:
                self._stall(reply, ended)
            if i == cut_at:
                raise _Abort
            if i > 0 and not self.owner.sleep(reply.chunk_delay_seconds):
                raise _Abort
            if ended.is_set():
                return
            if i > 0:
                for line in reply.interleave:
                    self._write(f"{line}\n\n")
            self._write(f"data: {json.dumps(chunk)}\n\n")
        if stall_at is not None and stall_at >= len(chunks):
            self._stall(reply, ended)
        if cut_at is not None and cut_at >= len(chunks):
            raise _Abort

    def _complete(self, reply: ScriptedReply, completion: dict[str, Any]) -> None:
        """One JSON response; a cut sends the headers and half the body, a stall waits first."""
        if reply.stall_after_chunks is not None:
            self._stall(reply, threading.Event())
        if reply.cut_after_chunks is None:
            self._send_json(200, completion)
            return
        data = json.dumps(completion).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        raise _Abort


def _endless(chunks: list[Any]) -> Iterator[Any]:
    """The chunks before the finish chunk, then the content chunks again and again."""
    content = []
    for chunk in chunks:
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if choices and isinstance(choices[0], dict) and choices[0].get("finish_reason"):
            break
        if _delta(chunk).get("content"):
            content.append(chunk)
        yield chunk
    while True:
        yield from content


def _delta(chunk: Any) -> dict[str, Any]:
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not choices or not isinstance(choices[0], dict):
        return {}
    delta = choices[0].get("delta")
    return delta if isinstance(delta, dict) else {}
