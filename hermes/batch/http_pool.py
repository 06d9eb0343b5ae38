"""One HTTP connection pool for all the sessions of a batch worker.

Each session's :class:`~hermes.model.openai.ChatCompletionsClient` would otherwise build its own client:
a TLS context (about 50 ms of CPU to load the CA bundle, even for a plain-http
endpoint) and a pool of connections that is never closed. With many sessions per
process that alone caps throughput, so a batch worker builds one client per set of
timeouts and hands it to every session's model client.
"""

from __future__ import annotations

from typing import Any

from hermes.config import ModelConfig
from hermes.model.base import ModelClient
from hermes.model.openai import ChatCompletionsClient


class SharedHttp:
    """HTTP clients shared by the sessions of one worker (one per timeout setting)."""

    def __init__(self) -> None:
        self._clients: dict[tuple[float, float], Any] = {}

    def client_for(self, config: ModelConfig) -> Any:
        """The shared client for ``config``'s timeouts (made the way ChatCompletionsClient makes its
        own, with no cap on connections: every session streams at once)."""
        key = (config.request_timeout, config.stream_idle_timeout)
        client = self._clients.get(key)
        if client is None:
            import httpx2

            timeout = httpx2.Timeout(config.request_timeout, read=config.stream_idle_timeout)
            limits = httpx2.Limits(max_connections=None, max_keepalive_connections=256)
            client = self._clients[key] = httpx2.AsyncClient(
                timeout=timeout, limits=limits, trust_env=True
            )
        return client

    def attach(self, model: ModelClient) -> None:
        """Make ``model`` use the shared pool. ModelClient creates its client lazily and
        has no parameter for a shared one, so the pool is set before its first request."""
        if isinstance(model, ChatCompletionsClient):
            model.use_http_client(self.client_for(model.config))

    async def aclose(self) -> None:
        """Close every shared client."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
