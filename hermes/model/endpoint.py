"""What hermes knows about an endpoint before talking to it: is it configured, is it local,
and how large its context window is."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hermes.config import Config, ConfigError
from hermes.paths import config_path

DEFAULT_CONTEXT_WINDOW = 128_000
"""The window assumed when neither config nor the endpoint names one."""
_WINDOW_KEYS = ("context_length", "context_window", "max_model_len", "max_context_length")


def is_local_endpoint(base_url: str) -> bool:
    """Loopback endpoints (Ollama, llama.cpp, vLLM on this machine) need no API key."""
    from urllib.parse import urlparse

    host = (urlparse(base_url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def check_endpoint(cfg: Config) -> None:
    """Raise ConfigError with how-to-fix text when the endpoint or key is missing (for
    the local provider: when its backend or model is missing)."""
    if cfg.model.provider == "local":
        from hermes.model.local.files import ModelFileError, check_local_setup

        try:
            check_local_setup(cfg.model.path)
        except ModelFileError as exc:
            raise ConfigError(str(exc)) from exc
        return
    if not cfg.model.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"model.base_url {cfg.model.base_url!r} is not an http(s) URL. Set it with "
            "--base-url URL, the OPENAI_BASE_URL environment variable, or model.base_url in "
            f"{config_path()}."
        )
    if not cfg.api_key and not is_local_endpoint(cfg.model.base_url):
        raise ConfigError(
            f"no API key for {cfg.model.base_url}. Set one with --api-key KEY, or export "
            f"HERMES_API_KEY or {cfg.model.api_key_env} (the variable named by "
            f"model.api_key_env in {config_path()})."
        )


def window_from_models(entries: Sequence[Mapping[str, Any]], model: str) -> int | None:
    """The context window ``/models`` metadata gives for ``model`` (or its only entry)."""
    chosen = [e for e in entries if e.get("id") == model]
    if not chosen and len(entries) == 1:
        chosen = list(entries)
    for entry in chosen:
        for source in (entry, entry.get("meta"), entry.get("top_provider")):
            if not isinstance(source, Mapping):
                continue
            for key in _WINDOW_KEYS:
                value = source.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 256:
                    return value
    return None


async def resolve_context_window(
    configured: int | None, list_models: Callable[[], Any], model: str, wait: float = 5.0
) -> tuple[int, str | None]:
    """``(window, warning)``: config first, else the endpoint's ``/models`` metadata,
    else :data:`DEFAULT_CONTEXT_WINDOW` with a warning saying why."""
    import asyncio

    if configured:
        return configured, None
    reason = "the endpoint's /models does not give one"
    try:
        entries = await asyncio.wait_for(list_models(), wait)
        found = window_from_models(entries, model)
        if found:
            return found, None
    except Exception as exc:  # an unreachable or odd endpoint must never stop a turn
        reason = f"asking the endpoint failed ({type(exc).__name__}: {exc})"
    return DEFAULT_CONTEXT_WINDOW, (
        f"the context window of {model} is unknown ({reason}); assuming "
        f"{DEFAULT_CONTEXT_WINDOW:,} tokens. Set model.context_window in config to be exact."
    )
