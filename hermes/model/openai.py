"""The OpenAI-compatible chat-completions client: streaming, tool-call assembly, retries.

It speaks the chat-completions protocol over ``httpx2`` (the openai SDK's own HTTP
client), imported on the first request: importing the ``openai`` SDK alone takes about
0.4 s here, which is the whole start-up budget of ``hermes -p``.

Retries (:mod:`hermes.model.errors` says which errors) are reported through
``on_retry`` so the engine can show them; nothing partial from a failed attempt is
returned. One request, all attempts included, ends by ``model.request_deadline``
whatever the server sends (keepalive comments included); a stream with no data for
``model.stream_idle_timeout`` is retried; streamed text past :func:`stream_char_cap`
ends the reply with finish reason ``length``.

What the client learns about its endpoint (:class:`EndpointProfile`) is kept for its
lifetime: a server that rejects ``stream_options`` is asked without it from then on
(usage is then counted locally, marked as an estimate), and a model found writing its
calls as text has them read from text, with the stream filtered, from then on.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hermes.config import ModelConfig
from hermes.messages import Message, Usage
from hermes.model import errors
from hermes.model.base import (
    EndpointProfile,
    ModelAuthError,
    ModelContextOverflow,
    ModelEmptyStream,
    ModelError,
    ModelReply,
    RetrySink,
    TextSink,
    chat_request_body,
    estimate_usage,
)
from hermes.model.stream import CallDelta, SurrogateJoiner, ToolCallAssembler, split_calls
from hermes.model.text_calls import (
    TextCallStream,
    filtered,
    parse_whole_text_call,
    with_text_calls,
)
from hermes.tokens import estimate_tokens

MAX_STREAM_CHARS = 2_000_000
"""Streamed characters (text, reasoning, call arguments) after which a reply is cut when
``model.max_output_tokens`` is not set."""
CHARS_PER_OUTPUT_TOKEN = 16
"""Characters allowed per token of ``model.max_output_tokens``: about four a token, and
four times that before the server is deemed to ignore its cap."""
MAX_ERROR_BODY = 64 * 1024
"""Bytes of an error response read (a proxy's error page can be large)."""


def stream_char_cap(config: ModelConfig) -> int:
    """Streamed characters after which a reply is cut locally (finish reason ``length``)."""
    if config.max_output_tokens is not None:
        return CHARS_PER_OUTPUT_TOKEN * config.max_output_tokens
    return MAX_STREAM_CHARS


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, *, empty: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.empty = empty


class _StreamOptionsRejected(Exception):
    pass


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("retry-after") if headers is not None else None
    except Exception:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _count(value: Any) -> int | None:
    """A token count from a usage field: an int, a float or digits; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass
class _Received:
    """What one attempt's stream delivered."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    finish_reason: str = ""
    usage: Usage | None = None
    chars: int = 0
    events: int = 0
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


class ChatCompletionsClient:
    """Streams one chat completion at a time against ``config.base_url``.

    ``profile`` seeds what is known about the endpoint (from a cache); :attr:`profile`
    is what is known now. ``count_tokens`` counts text for usage estimates (set it to a
    :class:`hermes.tokens.TokenCounter`'s ``count_text`` for closer ones).
    """

    def __init__(
        self,
        config: ModelConfig,
        api_key: str | None,
        *,
        profile: EndpointProfile | None = None,
    ) -> None:
        self.config = config
        self.count_tokens: Callable[[str], int] = estimate_tokens
        self._api_key = api_key or "not-needed"
        self._profile = profile or EndpointProfile()
        self._client: Any = None
        self._owns_client = False  # a client handed in (shared by a batch) is not closed here

    @property
    def profile(self) -> EndpointProfile:
        """What this client has learned about its endpoint so far."""
        return self._profile

    @property
    def calls_as_text(self) -> bool:
        """Are calls read from text: ``model.text_tool_calls`` when set, else detected."""
        if self.config.text_tool_calls is not None:
            return self.config.text_tool_calls
        return self._profile.calls_as_text is True

    def with_model(self, name: str) -> ChatCompletionsClient:
        """A client for another model on the same endpoint (what the endpoint accepts is
        kept; how the model writes calls is learned again)."""
        kept = EndpointProfile(stream_options=self._profile.stream_options)
        client = ChatCompletionsClient(replace(self.config, name=name), self._api_key, profile=kept)
        client.count_tokens = self.count_tokens
        return client

    def _http(self) -> Any:
        if self._client is None:
            import httpx2

            timeout = httpx2.Timeout(
                self.config.request_timeout, read=self.config.stream_idle_timeout
            )
            # No TLS context for a plain-http endpoint (a local server): building one
            # (loading the trust store) costs ~0.1 s of start-up for nothing.
            plain_http = self.config.base_url.startswith("http://") and not any(
                os.environ.get(v) for v in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
            )
            self._client = httpx2.AsyncClient(
                timeout=timeout, trust_env=True, verify=not plain_http
            )
            self._owns_client = True
        return self._client

    def use_http_client(self, client: Any) -> None:
        """Send requests through ``client`` (a pool shared by a batch), which this client
        never closes. Set before the first request."""
        self._client = client
        self._owns_client = False

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
        self._client = None
        self._owns_client = False

    def request_body(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """The exact JSON body sent (also what the audit log sizes)."""
        return chat_request_body(
            self.config, messages, tools, stream_options=self._profile.stream_options is not False
        )

    def _encode(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> bytes:
        return json.dumps(self.request_body(messages, tools), ensure_ascii=False).encode()

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        on_text: TextSink | None = None,
        on_reasoning: TextSink | None = None,
        on_retry: RetrySink | None = None,
        max_tokens: int | None = None,
    ) -> ModelReply:
        """Stream one reply, retrying transient failures with backoff and jitter, all
        within ``model.request_deadline``. ``max_tokens`` caps this reply (sent, and
        enforced by the local cap on streamed text) below ``model.max_output_tokens``."""
        limit = self.config.max_output_tokens
        if max_tokens is not None and (limit is None or max_tokens < limit):
            capped = ChatCompletionsClient(
                replace(self.config, max_output_tokens=max_tokens),
                self._api_key,
                profile=self._profile,
            )
            capped.count_tokens = self.count_tokens
            capped.use_http_client(self._http())
            try:
                return await capped.complete(
                    messages, tools, on_text=on_text, on_reasoning=on_reasoning, on_retry=on_retry
                )
            finally:
                self._profile = capped.profile  # what it learned is this endpoint's
        # Encoded once: the same bytes are sized for the audit log and sent on every attempt.
        payload = self._encode(messages, tools)
        request_bytes = len(payload)
        known = [t["function"]["name"] for t in tools if isinstance(t.get("function"), dict)]
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        deadline = loop.time() + self.config.request_deadline
        learned: list[str] = []
        attempt = 0
        empty_streams = 0
        while True:
            text_calls = TextCallStream(known) if known and self.calls_as_text else None
            sink = on_text
            if text_calls is not None and on_text is not None:
                sink = filtered(text_calls, on_text)
            try:
                async with asyncio.timeout_at(deadline):
                    received = await self._attempt(payload, sink, on_reasoning)
            except TimeoutError:
                raise ModelError(
                    f"no complete reply from {self.config.base_url} within "
                    f"{self.config.request_deadline:g} s (model.request_deadline)",
                    retries=attempt,
                    request_bytes=request_bytes,
                ) from None
            except _StreamOptionsRejected:
                self._profile = replace(self._profile, stream_options=False)
                learned.append(
                    "the endpoint rejects stream_options; asking without it (usage is "
                    "estimated when the server reports none)"
                )
                payload = self._encode(messages, tools)
                request_bytes = len(payload)
                continue
            except _Retryable as exc:
                empty_streams += exc.empty
                if exc.empty and (empty_streams > 1 or attempt >= self.config.max_retries):
                    raise ModelEmptyStream(
                        f"{self.config.base_url} answered with an empty stream "
                        f"{'twice' if empty_streams > 1 else 'and no retry is allowed'} "
                        "(llama.cpp servers do this when the request does not fit the context "
                        "window)",
                        retries=attempt,
                        request_bytes=request_bytes,
                    ) from exc
                delay = self._backoff(attempt + 1, exc.retry_after)
                if attempt >= self.config.max_retries or loop.time() + delay >= deadline:
                    raise ModelError(
                        f"model request failed after {attempt + 1} attempts: {exc}",
                        retries=attempt,
                        request_bytes=request_bytes,
                    ) from exc
                attempt += 1
                if on_retry is not None:
                    on_retry(attempt, delay, str(exc))
                await asyncio.sleep(delay)
                continue
            except ModelError as exc:
                exc.retries, exc.request_bytes = attempt, request_bytes
                raise
            reply = self._reply(messages, tools, known, received, text_calls, on_text, learned)
            return replace(
                reply,
                retries=attempt,
                latency_ms=(time.monotonic() - started) * 1000,
                request_bytes=request_bytes,
            )

    def _reply(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        known: Sequence[str],
        received: _Received,
        text_calls: TextCallStream | None,
        on_text: TextSink | None,
        learned: list[str],
    ) -> ModelReply:
        """The attempt's reply: calls split and read from text, usage known or estimated."""
        valid, rejected = split_calls(received.calls.calls())
        reply = ModelReply(
            content="".join(received.text),
            tool_calls=valid,
            finish_reason=received.finish_reason,
            usage=received.usage,
            reasoning="".join(received.reasoning),
            rejected_calls=rejected,
        )
        if text_calls is not None:
            reply = with_text_calls(reply, text_calls, on_text)
        elif valid and self._profile.calls_as_text is None:
            self._profile = replace(self._profile, calls_as_text=False)
        elif self._detects(known, reply):
            calls = parse_whole_text_call(reply.content, known)
            if calls is not None:
                self._profile = replace(self._profile, calls_as_text=True)
                learned.append(
                    "the model writes tool calls as text; reading them from text from now on "
                    "(set model.text_tool_calls to decide)"
                )
                reply = replace(reply, content="", tool_calls=calls, finish_reason="tool_calls")
        self._profile = replace(self._profile, usage_reported=received.usage is not None)
        if reply.usage is None:
            reply = replace(reply, usage=estimate_usage(messages, tools, reply, self.count_tokens))
        return replace(reply, warnings=(*learned, *received.warnings))

    def _detects(self, known: Sequence[str], reply: ModelReply) -> bool:
        """Should this reply be checked for a whole-text call (auto mode only)?"""
        return (
            self.config.text_tool_calls is None
            and bool(known)
            and not reply.tool_calls
            and not reply.rejected_calls
            and not reply.truncated
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.retry_max_delay)
        base = self.config.retry_base_delay * (2 ** (attempt - 1))
        capped = min(base, self.config.retry_max_delay)
        return capped * (0.5 + random.random() / 2)

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if self.config.stream else "application/json",
            "User-Agent": "hermes",
        }

    async def _attempt(
        self, payload: bytes, on_text: TextSink | None, on_reasoning: TextSink | None
    ) -> _Received:
        import httpx2

        client = self._http()
        if not self.config.stream:
            return await self._attempt_whole(client, payload, on_text, on_reasoning)
        try:
            async with client.stream(
                "POST", self._url("/chat/completions"), content=payload, headers=self._headers()
            ) as response:
                if response.status_code != 200:
                    body = bytearray()
                    async for part in response.aiter_bytes():
                        body += part
                        if len(body) >= MAX_ERROR_BODY:
                            break
                    self._raise_for_status(
                        response.status_code, errors.parse_body(bytes(body)), response.headers
                    )
                return await self._consume(response, on_text, on_reasoning)
        except httpx2.TimeoutException as exc:
            raise _Retryable(
                f"no data from {self.config.base_url} for {self.config.stream_idle_timeout:g} s"
            ) from exc
        except httpx2.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            if isinstance(exc, httpx2.UnsupportedProtocol) or errors.is_dns_failure(exc):
                raise ModelError(
                    f"cannot reach {self.config.base_url}: {detail}. Check model.base_url "
                    "(--base-url)."
                ) from exc
            raise _Retryable(f"cannot reach {self.config.base_url}: {detail}") from exc
        except httpx2.StreamError as exc:
            raise _Retryable(f"stream cut: {exc}") from exc

    async def _attempt_whole(
        self,
        client: Any,
        payload: bytes,
        on_text: TextSink | None,
        on_reasoning: TextSink | None,
    ) -> _Received:
        """One request with ``"stream": false``: the whole reply as one JSON object, read
        as if it were a single chunk (so the same checks and caps apply)."""
        import httpx2

        try:
            response = await client.post(
                self._url("/chat/completions"), content=payload, headers=self._headers()
            )
        except httpx2.TimeoutException as exc:
            raise _Retryable(
                f"no answer from {self.config.base_url} for {self.config.request_timeout:g} s"
            ) from exc
        except httpx2.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            if isinstance(exc, httpx2.UnsupportedProtocol) or errors.is_dns_failure(exc):
                raise ModelError(
                    f"cannot reach {self.config.base_url}: {detail}. Check model.base_url "
                    "(--base-url)."
                ) from exc
            raise _Retryable(f"cannot reach {self.config.base_url}: {detail}") from exc
        body = response.content
        if response.status_code != 200:
            self._raise_for_status(response.status_code, errors.parse_body(body), response.headers)
        try:
            chunk = json.loads(body)
        except ValueError:
            raise _Retryable(
                f"the endpoint answered with a reply that is not JSON: {body[:80]!r}",
                empty=not body.strip(),
            ) from None
        if isinstance(chunk, dict) and isinstance(chunk.get("choices"), list):
            for choice in chunk["choices"]:
                message = choice.get("message") if isinstance(choice, dict) else None
                calls = message.get("tool_calls") if isinstance(message, dict) else None
                for i, call in enumerate(calls if isinstance(calls, list) else ()):
                    if isinstance(call, dict) and call.get("index") is None:
                        call["index"] = i  # whole calls carry no index; keep them apart
        got = _Received(events=1)
        text_joiner, reasoning_joiner = SurrogateJoiner(), SurrogateJoiner()
        self._take(chunk, got, text_joiner, reasoning_joiner, on_text, on_reasoning)
        for joiner, parts, sink in (
            (text_joiner, got.text, on_text),
            (reasoning_joiner, got.reasoning, on_reasoning),
        ):
            rest = joiner.flush()
            if rest:
                parts.append(rest)
                if sink is not None:
                    sink(rest)
        if not got.finish_reason:
            got.finish_reason = "tool_calls" if got.calls else "stop"
        cap = stream_char_cap(self.config)
        if got.chars > cap:
            got.finish_reason = "length"
            got.warn(
                f"the reply passed the local cap of {cap:,} characters (model.max_output_tokens)"
            )
        return got

    def _raise_for_status(self, status: int, payload: Any, headers: Any) -> None:
        detail = errors.short_error(payload)
        if status in (401, 403):
            raise ModelAuthError(
                f"the endpoint {self.config.base_url} refused the API key ({status}: {detail}). "
                f"Check --api-key, HERMES_API_KEY or {self.config.api_key_env}.",
                status=status,
            )
        if (
            status in (400, 422)
            and self._profile.stream_options is not False
            and errors.mentions(payload, "stream_options")
        ):
            raise _StreamOptionsRejected
        if status in (400, 413) and errors.is_context_overflow(payload):
            raise ModelContextOverflow(
                f"the request does not fit the model's context window ({status}): {detail}",
                status=status,
            )
        if errors.retryable_status(status) and not errors.is_validation_error(payload):
            if status == 429:
                raise _Retryable(f"rate limited (429): {detail}", _retry_after(headers))
            raise _Retryable(f"server error {status}: {detail}", _retry_after(headers))
        if status == 404:
            raise ModelError(
                f"{self._url('/chat/completions')} answered 404 ({detail}). Check "
                "model.base_url (it usually ends in /v1) and the model name.",
                status=status,
            )
        if status == 501:
            raise ModelError(
                f"the endpoint does not implement chat completions (501): {detail}",
                status=status,
            )
        raise ModelError(f"the endpoint rejected the request ({status}): {detail}", status=status)

    async def _consume(
        self, response: Any, on_text: TextSink | None, on_reasoning: TextSink | None
    ) -> _Received:
        """Read the SSE stream: comments, ``event:``/``id:`` lines and empty ``data:``
        lines are skipped; an event's ``data:`` lines are joined as SSE says."""
        got = _Received()
        text_joiner, reasoning_joiner = SurrogateJoiner(), SurrogateJoiner()
        cap = stream_char_cap(self.config)
        pending: list[str] = []
        done = False
        async for line in response.aiter_lines():
            if not line:
                if pending:
                    raise _Retryable(f"the stream sent a broken chunk: {pending[0][:80]!r}")
                continue
            name, _, value = line.partition(":")
            if name != "data":
                continue  # a comment (": ping"), or an event/id/retry field
            value = value.removeprefix(" ")
            if not pending and not value.strip():
                continue
            pending.append(value)
            data = "\n".join(pending).strip()
            if data == "[DONE]":
                got.events += 1
                done = True
                break
            try:
                chunk = json.loads(data)
            except json.JSONDecodeError:
                if len(data) > MAX_ERROR_BODY:
                    raise _Retryable(f"the stream sent a broken chunk: {data[:80]!r}") from None
                continue  # the event may go on in its next data: line
            pending.clear()
            got.events += 1
            self._take(chunk, got, text_joiner, reasoning_joiner, on_text, on_reasoning)
            if got.chars > cap:
                got.finish_reason = "length"
                got.warn(
                    f"the reply passed the local cap of {cap:,} characters and was cut "
                    "(model.max_output_tokens)"
                )
                break
        if pending and not done and got.finish_reason != "length":
            raise _Retryable(f"the stream sent a broken chunk: {pending[0][:80]!r}")
        for joiner, parts, sink in (
            (text_joiner, got.text, on_text),
            (reasoning_joiner, got.reasoning, on_reasoning),
        ):
            rest = joiner.flush()
            if rest:
                parts.append(rest)
                if sink is not None:
                    sink(rest)
        if got.events == 0:
            raise _Retryable("the endpoint answered with an empty stream", empty=True)
        if not got.finish_reason:
            raise _Retryable("the stream ended before the reply was complete")
        return got

    def _take(
        self,
        chunk: Any,
        got: _Received,
        text_joiner: SurrogateJoiner,
        reasoning_joiner: SurrogateJoiner,
        on_text: TextSink | None,
        on_reasoning: TextSink | None,
    ) -> None:
        """Fold one parsed chunk into ``got``; malformed parts are skipped with a warning."""
        if not isinstance(chunk, dict):
            got.warn(f"ignored a stream chunk that is not an object: {str(chunk)[:60]!r}")
            return
        if chunk.get("error"):
            payload = {"error": chunk["error"]}
            if errors.is_context_overflow(payload):
                raise ModelContextOverflow(
                    "the request does not fit the model's context window: "
                    + errors.short_error(payload)
                )
            raise _Retryable(f"the stream reported an error: {errors.short_error(payload)}")
        if chunk.get("usage") is not None:
            self._take_usage(chunk["usage"], got)
        choices = chunk.get("choices")
        if choices is None:
            return
        if not isinstance(choices, list):
            got.warn(f"ignored malformed choices in the stream: {str(choices)[:60]!r}")
            return
        for choice in choices:
            delta: Any = None
            if isinstance(choice, dict):
                delta = choice.get("delta", choice.get("message"))
                delta = {} if delta is None else delta
            if not isinstance(delta, dict):
                got.warn(f"ignored a malformed choice in the stream: {str(choice)[:60]!r}")
                continue
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                got.chars += len(piece)
                shown = text_joiner.feed(piece)
                if shown:
                    got.text.append(shown)
                    if on_text is not None:
                        on_text(shown)
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(thought, str) and thought:
                got.chars += len(thought)
                shown = reasoning_joiner.feed(thought)
                if shown:
                    got.reasoning.append(shown)
                    if on_reasoning is not None:
                        on_reasoning(shown)
            tool_calls = delta.get("tool_calls")
            for tc in tool_calls if isinstance(tool_calls, list) else ():
                self._take_call(tc, got)
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                got.finish_reason = finish

    @staticmethod
    def _take_call(tc: Any, got: _Received) -> None:
        if not isinstance(tc, dict):
            got.warn(f"ignored a malformed tool call delta: {str(tc)[:60]!r}")
            return
        fn: dict[str, Any] = tc["function"] if isinstance(tc.get("function"), dict) else {}
        index, name, arguments = tc.get("index"), fn.get("name"), fn.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments, ensure_ascii=False)  # Ollama sends an object
        call_id = tc.get("id")
        got.chars += len(arguments) if isinstance(arguments, str) else 0
        got.calls.add(
            CallDelta(
                index=index if isinstance(index, int) and not isinstance(index, bool) else None,
                id=call_id if isinstance(call_id, str) and call_id else None,
                name=name if isinstance(name, str) and name else None,
                arguments=arguments if isinstance(arguments, str) else None,
            )
        )

    @staticmethod
    def _take_usage(raw: Any, got: _Received) -> None:
        prompt = _count(raw.get("prompt_tokens")) if isinstance(raw, dict) else None
        completion = _count(raw.get("completion_tokens")) if isinstance(raw, dict) else None
        if prompt is None or completion is None:
            got.warn(f"ignored malformed usage from the server: {str(raw)[:80]!r}")
            return
        cost = raw.get("cost")
        known = isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0
        got.usage = Usage(prompt, completion, cost=float(cost) if known else None)

    async def list_models(self) -> list[dict[str, Any]]:
        """The endpoint's ``/models`` entries (empty when it has none)."""
        response = await self._http().get(self._url("/models"), headers=self._headers())
        if response.status_code != 200:
            return []
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError):
            return []
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []
