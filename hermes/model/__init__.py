"""Talking to a model: the chat-completions client, stream assembly, calls written as text,
and the in-process llama.cpp backend, all behind the :class:`ModelClient` interface."""

from __future__ import annotations

from hermes.config import ModelConfig
from hermes.model.base import EndpointProfile, ModelClient


def make_model_client(
    config: ModelConfig, api_key: str | None, profile: EndpointProfile | None = None
) -> ModelClient:
    """The client for ``config.provider``: an OpenAI-compatible endpoint (knowing
    ``profile`` about it, e.g. from a cache), or a GGUF model run in process (``local``;
    see :mod:`hermes.model.local.client`)."""
    if config.provider == "local":
        from hermes.model.local.client import LocalModelClient

        return LocalModelClient(config)
    from hermes.model.openai import ChatCompletionsClient

    return ChatCompletionsClient(config, api_key, profile=profile)
