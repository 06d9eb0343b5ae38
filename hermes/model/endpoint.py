"""What hermes knows about an endpoint before talking to it: is it configured, is it local,
how large its context window is, and what it learned about it earlier (its profile).

The window is learned once per endpoint (``base_url`` + model) and cached with the rest
of the profile in ``$HERMES_HOME/endpoints.json``: from ``/models`` metadata (vLLM's
``max_model_len``, OpenRouter's ``context_length``, ...), llama.cpp's ``/props``
(``default_generation_settings.n_ctx``) or Ollama's ``/api/show`` (``num_ctx``, else
``model_info.*.context_length``). The lookup is never run while a chat request streams:
llama-cpp-python ends a running stream when ``/models`` is asked (issue 20, finding 2).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hermes.config import Config, ConfigError
from hermes.model.base import EndpointProfile
from hermes.paths import config_path, hermes_home

DEFAULT_CONTEXT_WINDOW = 128_000
"""The window assumed for a remote endpoint when neither config nor the endpoint names one."""
LOCAL_GUESS_WINDOW = 8_192
"""The window assumed for a loopback endpoint that names none: local servers run small
windows (llama-cpp-python's default is 2,048), and assuming 128,000 hides overflows."""
LOOKUP_TIMEOUT = 5.0
"""Seconds each window lookup request may take."""
PROFILES_FILE = "endpoints.json"
_WINDOW_KEYS = ("context_length", "context_window", "max_model_len", "max_context_length")
_ERROR_WINDOW = re.compile(
    r"(?i)(?:maximum context length is|context window of|context length of|n_ctx[ =:]+|"
    r"context size (?:is|of)|max_model_len[ =:]+)\s*(\d[\d,]*)"
)


def is_local_endpoint(base_url: str) -> bool:
    """Loopback endpoints (Ollama, llama.cpp, vLLM on this machine) need no API key."""
    from urllib.parse import urlparse

    host = (urlparse(base_url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def missing_key_advice(cfg: Config) -> str:
    """Exactly what to set so ``cfg``'s endpoint gets a key."""
    env = cfg.model.api_key_env
    names = "HERMES_API_KEY" if env == "HERMES_API_KEY" else f"HERMES_API_KEY or {env}"
    return (
        f"export {names}=<your key for {cfg.model.base_url}>, or pass --api-key KEY "
        f"(model.api_key_env in {config_path()} names the variable read). A server on this "
        "machine needs no key: --base-url http://127.0.0.1:PORT/v1"
    )


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
        raise ConfigError(f"no API key for {cfg.model.base_url}. {missing_key_advice(cfg)}.")


# --------------------------------------------------------------------------- windows


def _window(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 256:
        return value
    return None


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
                found = _window(source.get(key))
                if found:
                    return found
    return None


def window_from_props(props: Any) -> int | None:
    """llama.cpp server's ``/props``: ``default_generation_settings.n_ctx`` (or ``n_ctx``)."""
    if not isinstance(props, Mapping):
        return None
    settings = props.get("default_generation_settings")
    if isinstance(settings, Mapping) and _window(settings.get("n_ctx")):
        return _window(settings.get("n_ctx"))
    return _window(props.get("n_ctx"))


def window_from_ollama_show(show: Any) -> int | None:
    """Ollama's ``/api/show``: the ``num_ctx`` parameter the model runs with, else the
    model's own ``model_info.<arch>.context_length``."""
    if not isinstance(show, Mapping):
        return None
    parameters = show.get("parameters")
    if isinstance(parameters, str):
        m = re.search(r"(?m)^\s*num_ctx\s+(\d+)\s*$", parameters)
        if m and _window(int(m.group(1))):
            return int(m.group(1))
    info = show.get("model_info")
    if isinstance(info, Mapping):
        for key, value in info.items():
            if isinstance(key, str) and key.endswith(".context_length") and _window(value):
                return _window(value)
    return None


def window_from_error(message: str) -> int | None:
    """The window an overflow error names ("maximum context length is 8192 tokens",
    llama-cpp-python's "exceed context window of 8192"), or None."""
    m = _ERROR_WINDOW.search(message)
    return _window(int(m.group(1).replace(",", ""))) if m else None


def guess_window(base_url: str) -> int:
    """The window assumed when none is known: small for a loopback server."""
    return LOCAL_GUESS_WINDOW if is_local_endpoint(base_url) else DEFAULT_CONTEXT_WINDOW


@dataclass(frozen=True)
class WindowLookup:
    """What asking the endpoint found: the window and where, or why there is none.
    ``reached``: the endpoint answered at all (an unreachable one is asked again later)."""

    window: int | None
    source: str
    reached: bool
    reason: str = ""


def _root(base_url: str) -> str:
    """The server root: ``/v1`` (or ``/api/v1``...) taken off the end of ``base_url``."""
    url = base_url.rstrip("/")
    return re.sub(r"/v\d+$", "", url)


async def lookup_window(
    base_url: str, model: str, api_key: str | None, per_request: float = LOOKUP_TIMEOUT
) -> WindowLookup:
    """Ask the endpoint for ``model``'s context window, one request at a time:
    ``/models``, then llama.cpp's ``/props``, then Ollama's ``/api/show``. Never raises.

    Call it only while no chat request to this endpoint is streaming."""
    import httpx2

    headers = {"Accept": "application/json", "User-Agent": "hermes"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    url = base_url.rstrip("/")
    plain = url.startswith("http://")
    async with httpx2.AsyncClient(timeout=per_request, verify=not plain) as client:

        async def ask(method: str, target: str, body: Any = None) -> Any:
            response = await client.request(method, target, headers=headers, json=body)
            if response.status_code != 200:
                return None
            try:
                return response.json()
            except ValueError:
                return None

        try:
            listing = await ask("GET", f"{url}/models")
        except (httpx2.HTTPError, httpx2.InvalidURL, OSError, ValueError) as exc:
            return WindowLookup(None, "", False, f"asking {url}/models failed: {exc}")
        data = listing.get("data") if isinstance(listing, Mapping) else None
        entries = [e for e in data if isinstance(e, Mapping)] if isinstance(data, list) else []
        found = window_from_models(entries, model)
        if found:
            return WindowLookup(found, "/models", True)
        probes: tuple[tuple[str, str, Any, Any], ...] = (
            ("GET", "/props", None, window_from_props),
            ("POST", "/api/show", {"model": model}, window_from_ollama_show),
        )
        for method, path, body, read in probes:
            try:
                found = read(await ask(method, _root(url) + path, body))
            except (httpx2.HTTPError, httpx2.InvalidURL, OSError, ValueError):
                found = None
            if found:
                return WindowLookup(found, path, True)
    return WindowLookup(None, "", True, "its /models, /props and /api/show give none")


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class EndpointRecord:
    """The cached profile of one endpoint and model.

    ``context_window``/``window_source``: the learned window and where from ("/models",
    "/props", "/api/show", "error": an overflow error named it). ``window_checked``: the
    endpoint was asked (so it is not asked again). ``window_warned``: the user was told
    the window is unknown (said once per endpoint, not every session). ``client``: what
    the chat client learned (stream_options accepted, usage reported, calls as text).
    """

    base_url: str
    model: str
    context_window: int | None = None
    window_source: str = ""
    window_checked: bool = False
    window_warned: bool = False
    client: EndpointProfile = field(default_factory=EndpointProfile)
    updated_at: float = 0.0

    @property
    def key(self) -> str:
        return profile_key(self.base_url, self.model)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the record's fields with the client's known facts beside them."""
        out: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "client"
        }
        return out | self.client.to_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_url: str, model: str) -> EndpointRecord:
        """Parse :meth:`to_dict` output; odd values fall back to "not known"."""
        window = _window(data.get("context_window"))
        source = data.get("window_source")
        updated = data.get("updated_at")
        return cls(
            base_url=base_url,
            model=model,
            context_window=window,
            window_source=source if isinstance(source, str) and window else "",
            window_checked=data.get("window_checked") is True,
            window_warned=data.get("window_warned") is True,
            client=EndpointProfile.from_dict(dict(data)),
            updated_at=float(updated) if isinstance(updated, int | float) else 0.0,
        )

    def describe(self) -> str:
        """One line for ``hermes doctor``: the window and the client's facts."""
        if self.context_window:
            window = f"context window {self.context_window:,} (from {self.window_source})"
        elif self.window_checked:
            window = "context window unknown (the endpoint does not say)"
        else:
            window = "context window not looked up yet"
        c = self.client
        calls = _said(c.calls_as_text, "tool calls written as text", "native tool calls")
        usage = _said(c.usage_reported, "usage reported", "usage estimated (not reported)")
        options = " · stream_options rejected" if c.stream_options is False else ""
        return (
            f"{window} · {calls or 'tool-call style not seen yet'} · "
            f"{usage or 'usage not seen yet'}{options}"
        )


def _said(fact: bool | None, yes: str, no: str) -> str:
    return "" if fact is None else yes if fact else no


def profile_key(base_url: str, model: str) -> str:
    """The cache key of an endpoint and model."""
    return f"{base_url.rstrip('/')} {model}"


def profiles_path() -> Path:
    """``$HERMES_HOME/endpoints.json``."""
    return hermes_home() / PROFILES_FILE


def _read_all(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    endpoints = data.get("endpoints") if isinstance(data, dict) else None
    return endpoints if isinstance(endpoints, dict) else {}


def load_record(base_url: str, model: str) -> EndpointRecord:
    """The cached profile of ``base_url`` + ``model`` (empty when none or unreadable)."""
    entry = _read_all(profiles_path()).get(profile_key(base_url, model))
    if not isinstance(entry, dict):
        return EndpointRecord(base_url.rstrip("/"), model)
    return EndpointRecord.from_dict(entry, base_url.rstrip("/"), model)


def save_record(record: EndpointRecord) -> str | None:
    """Write ``record`` into the cache (atomically, other endpoints kept); the error text
    when it cannot be written (a read-only ``HERMES_HOME`` is no reason to fail)."""
    from hermes.durable import write_atomic

    path = profiles_path()
    record = replace(record, updated_at=time.time())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        endpoints = _read_all(path)
        endpoints[record.key] = record.to_dict()
        data = json.dumps({"version": 1, "endpoints": endpoints}, indent=1, sort_keys=True)
        write_atomic(path, data.encode() + b"\n")
    except OSError as exc:
        return f"could not save the endpoint profile to {path}: {exc}"
    return None
