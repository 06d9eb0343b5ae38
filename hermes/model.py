"""The OpenAI-compatible chat-completions client: streaming, tool-call assembly, retries.

It speaks the chat-completions protocol over ``httpx2`` (the openai SDK's own HTTP
client), imported on the first request: importing the ``openai`` SDK alone takes about
0.4 s here, which is the whole start-up budget of ``hermes -p``. Retries
cover 429, 5xx, connection failures, an idle stream and a stream cut before its end;
each one is reported through ``on_retry`` so the engine can show it. 401/403 are not
retried. Nothing partial from a failed attempt is returned.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hermes.config import ModelConfig
from hermes.messages import Message, ToolCall, Usage
from hermes.model_stream import CallDelta, ToolCallAssembler
from hermes.text_tool_calls import TextCallStream


class ModelError(Exception):
    """The model request failed for good; the message says why and what to do."""

    def __init__(self, message: str, *, retries: int = 0, request_bytes: int = 0) -> None:
        super().__init__(message)
        self.retries = retries
        self.request_bytes = request_bytes


class ModelAuthError(ModelError):
    pass


@dataclass(frozen=True)
class ModelReply:
    content: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: Usage | None
    reasoning: str = ""
    retries: int = 0
    latency_ms: float = 0.0
    request_bytes: int = 0

    @property
    def truncated(self) -> bool:
        """Cut off by the output limit: its tool calls must not run."""
        return self.finish_reason == "length"


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


TextSink = Callable[[str], None]
RetrySink = Callable[[int, float, str], None]


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


class ModelClient:
    """Streams one chat completion at a time against ``config.base_url``."""

    def __init__(self, config: ModelConfig, api_key: str | None) -> None:
        self.config = config
        self._api_key = api_key or "not-needed"
        self._client: Any = None
        self._owns_client = False  # a client handed in (shared by a batch) is not closed here

    def with_model(self, name: str) -> ModelClient:
        from dataclasses import replace

        return ModelClient(replace(self.config, name=name), self._api_key)

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
        body: dict[str, Any] = {
            "model": self.config.name,
            "messages": [m.to_openai() for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = list(tools)
        # Only when configured: sending the context window as max_tokens breaks vLLM.
        if self.config.max_output_tokens is not None:
            body["max_tokens"] = self.config.max_output_tokens
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        return body

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        on_text: TextSink | None = None,
        on_reasoning: TextSink | None = None,
        on_retry: RetrySink | None = None,
    ) -> ModelReply:
        """Stream one reply, retrying transient failures with backoff and jitter."""
        # Encoded once: the same bytes are sized for the audit log and sent on every attempt.
        payload = json.dumps(self.request_body(messages, tools), ensure_ascii=False).encode()
        request_bytes = len(payload)
        started = time.monotonic()
        attempt = 0
        while True:
            text_calls = self._text_call_stream(tools)
            sink = on_text
            if text_calls is not None and on_text is not None:
                sink = _filtered(text_calls, on_text)
            try:
                reply = await self._attempt(payload, sink, on_reasoning)
                if text_calls is not None:
                    reply = _with_text_calls(reply, text_calls, on_text)
            except _Retryable as exc:
                if attempt >= self.config.max_retries:
                    raise ModelError(
                        f"model request failed after {attempt + 1} attempts: {exc}",
                        retries=attempt,
                        request_bytes=request_bytes,
                    ) from exc
                attempt += 1
                delay = self._backoff(attempt, exc.retry_after)
                if on_retry is not None:
                    on_retry(attempt, delay, str(exc))
                await asyncio.sleep(delay)
                continue
            except ModelError as exc:
                exc.retries, exc.request_bytes = attempt, request_bytes
                raise
            latency = (time.monotonic() - started) * 1000
            return ModelReply(
                content=reply.content,
                tool_calls=reply.tool_calls,
                finish_reason=reply.finish_reason,
                usage=reply.usage,
                reasoning=reply.reasoning,
                retries=attempt,
                latency_ms=latency,
                request_bytes=request_bytes,
            )

    def _text_call_stream(self, tools: Sequence[dict[str, Any]]) -> TextCallStream | None:
        if not self.config.text_tool_calls or not tools:
            return None
        return TextCallStream({t["function"]["name"] for t in tools if "function" in t})

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
            "Accept": "text/event-stream",
            "User-Agent": "hermes",
        }

    async def _attempt(
        self, payload: bytes, on_text: TextSink | None, on_reasoning: TextSink | None
    ) -> ModelReply:
        import httpx2

        client = self._http()
        try:
            async with client.stream(
                "POST", self._url("/chat/completions"), content=payload, headers=self._headers()
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    self._raise_for_status(response)
                return await self._consume(response, on_text, on_reasoning)
        except httpx2.TimeoutException as exc:
            raise _Retryable(
                f"no data from {self.config.base_url} for {self.config.stream_idle_timeout:g} s"
            ) from exc
        except httpx2.TransportError as exc:
            raise _Retryable(
                f"cannot reach {self.config.base_url}: {exc or type(exc).__name__}"
            ) from exc
        except httpx2.StreamError as exc:
            raise _Retryable(f"stream cut: {exc}") from exc

    def _raise_for_status(self, response: Any) -> None:
        status = response.status_code
        detail = _error_text(response)
        if status in (401, 403):
            raise ModelAuthError(
                f"the endpoint {self.config.base_url} refused the API key ({status}: {detail}). "
                f"Check --api-key, HERMES_API_KEY or {self.config.api_key_env}."
            )
        if status == 429:
            raise _Retryable(f"rate limited (429): {detail}", _retry_after(response.headers))
        if status >= 500 or status in (408, 409):
            raise _Retryable(f"server error {status}: {detail}", _retry_after(response.headers))
        if status == 404:
            raise ModelError(
                f"{self._url('/chat/completions')} answered 404 ({detail}). Check "
                "model.base_url (it usually ends in /v1) and the model name."
            )
        raise ModelError(f"the endpoint rejected the request ({status}): {detail}")

    async def _consume(
        self, response: Any, on_text: TextSink | None, on_reasoning: TextSink | None
    ) -> ModelReply:
        text: list[str] = []
        reasoning: list[str] = []
        calls = ToolCallAssembler()
        finish_reason = ""
        usage: Usage | None = None
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except json.JSONDecodeError as exc:
                raise _Retryable(f"the stream sent a broken chunk: {data[:80]!r}") from exc
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):
                raise _Retryable(f"the stream reported an error: {_error_text(chunk)}")
            raw_usage = chunk.get("usage")
            if isinstance(raw_usage, dict):
                usage = Usage(
                    int(raw_usage.get("prompt_tokens") or 0),
                    int(raw_usage.get("completion_tokens") or 0),
                )
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or choice.get("message") or {}
                piece = delta.get("content")
                if isinstance(piece, str) and piece:
                    text.append(piece)
                    if on_text is not None:
                        on_text(piece)
                thought = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(thought, str) and thought:
                    reasoning.append(thought)
                    if on_reasoning is not None:
                        on_reasoning(thought)
                for tc in delta.get("tool_calls") or ():
                    fn = tc.get("function") or {}
                    index = tc.get("index")
                    calls.add(
                        CallDelta(
                            index=index if isinstance(index, int) else None,
                            id=tc.get("id") or None,
                            name=fn.get("name") or None,
                            arguments=fn.get("arguments")
                            if isinstance(fn.get("arguments"), str)
                            else None,
                        )
                    )
                if choice.get("finish_reason"):
                    finish_reason = str(choice["finish_reason"])
        if not finish_reason:
            raise _Retryable("the stream ended before the reply was complete")
        return ModelReply(
            content="".join(text),
            tool_calls=calls.calls(),
            finish_reason=finish_reason,
            usage=usage,
            reasoning="".join(reasoning),
        )

    async def list_models(self) -> list[dict[str, Any]]:
        """The endpoint's ``/models`` entries (empty when it has none)."""
        response = await self._http().get(self._url("/models"), headers=self._headers())
        if response.status_code != 200:
            return []
        data = response.json().get("data")
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def _filtered(stream: TextCallStream, sink: TextSink) -> TextSink:
    """Show streamed text except what may turn out to be a call written as text."""

    def feed(piece: str) -> None:
        shown = stream.feed(piece)
        if shown:
            sink(shown)

    return feed


def _with_text_calls(
    reply: ModelReply, stream: TextCallStream, sink: TextSink | None
) -> ModelReply:
    """Turn a call written as text into a proper tool call (native calls win)."""
    from dataclasses import replace

    rest, parsed = stream.finish()
    if reply.tool_calls or parsed is None or reply.truncated:
        if rest and sink is not None:
            sink(rest)
        return reply
    if rest and sink is not None:
        sink(rest)
    return replace(reply, content=parsed.text, tool_calls=parsed.calls, finish_reason="tool_calls")


def _error_text(source: Any) -> str:
    """The ``error.message`` of an OpenAI-style error body (a response or a parsed dict)."""
    body: Any = source
    if not isinstance(source, dict):
        try:
            body = source.json()
        except Exception:
            return str(getattr(source, "text", "") or "no details")[:300]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
        if isinstance(err, str):
            return err[:500]
    return str(body)[:300]


def make_model_client(config: ModelConfig, api_key: str | None) -> ModelClient:
    """The client for ``config.provider``: an OpenAI-compatible endpoint, or a GGUF model
    run in process (``local``; see :mod:`hermes.local_model`)."""
    if config.provider == "local":
        from hermes.local_model import LocalModelClient

        return LocalModelClient(config)
    return ModelClient(config, api_key)
