"""Endpoint profiles: the window learned from each kind of server, the cache, the key
advice (issue 20, findings 2, 4 and 8)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hermes.config import Config, ConfigError, ModelConfig
from hermes.model.base import EndpointProfile
from hermes.model.endpoint import (
    EndpointRecord,
    WindowLookup,
    check_endpoint,
    guess_window,
    load_record,
    lookup_window,
    profiles_path,
    save_record,
    window_from_error,
    window_from_models,
    window_from_ollama_show,
    window_from_props,
)
from hermes.testing.scripted.server import ScriptedServer


class FakeServer:
    """A real HTTP server answering GET/POST paths with fixed JSON, recording requests."""

    def __init__(self, routes: dict[tuple[str, str], Any]) -> None:
        self.routes = routes
        self.asked: list[tuple[str, str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                owner.asked.append((method, self.path, body))
                found = owner.routes.get((method, self.path))
                data = json.dumps(found if found is not None else {"error": "no"}).encode()
                self.send_response(200 if found is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_windows_are_read_from_each_kind_of_metadata() -> None:
    assert window_from_models([{"id": "m", "context_length": 32_768}], "m") == 32_768
    assert window_from_models([{"id": "m", "max_model_len": 8192}], "m") == 8192  # vLLM
    assert window_from_models([{"id": "x", "context_window": 4096}], "m") == 4096  # the only one
    assert window_from_models([{"id": "a", "context_length": 1}, {"id": "b"}], "m") is None
    assert window_from_models([{"id": "m", "top_provider": {"context_length": 200_000}}], "m") == (
        200_000
    )
    assert window_from_models([{"id": "m", "context_length": True}], "m") is None
    assert window_from_props({"default_generation_settings": {"n_ctx": 4096}}) == 4096
    assert window_from_props({"n_ctx": 16_384}) == 16_384
    assert window_from_props({"default_generation_settings": {}}) is None
    assert window_from_props(["n_ctx"]) is None
    show = {"model_info": {"llama.context_length": 131_072}, "parameters": "stop x"}
    assert window_from_ollama_show(show) == 131_072
    assert window_from_ollama_show(show | {"parameters": "num_ctx 8192\nstop x"}) == 8192
    assert window_from_ollama_show({"model_info": {"general.architecture": "llama"}}) is None


def test_an_overflow_error_names_the_window() -> None:
    assert (
        window_from_error(
            "This model's maximum context length is 8192 tokens. However, you requested 9000"
        )
        == 8192
    )
    assert window_from_error("Requested tokens (9000) exceed context window of 4096") == 4096
    assert window_from_error("the prompt is too long: n_ctx = 2048") == 2048
    assert window_from_error("the request does not fit (400): context_length_exceeded") is None


def test_an_unknown_window_is_guessed_small_for_a_loopback_server() -> None:
    assert guess_window("http://127.0.0.1:8080/v1") == 8192
    assert guess_window("http://localhost:11434/v1") == 8192
    assert guess_window("https://api.example.com/v1") == 128_000


@pytest.mark.parametrize(
    ("routes", "window", "source", "asked"),
    [
        (  # vLLM: /models carries max_model_len
            {("GET", "/v1/models"): {"data": [{"id": "m", "max_model_len": 32_768}]}},
            32_768,
            "/models",
            ["/v1/models"],
        ),
        (  # llama.cpp server: /props
            {
                ("GET", "/v1/models"): {"data": [{"id": "m", "meta": {"n_ctx_train": 32_768}}]},
                ("GET", "/props"): {"default_generation_settings": {"n_ctx": 4096}},
            },
            4096,
            "/props",
            ["/v1/models", "/props"],
        ),
        (  # Ollama: /api/show with the model named
            {
                ("GET", "/v1/models"): {"data": [{"id": "m"}]},
                ("POST", "/api/show"): {"model_info": {"qwen2.context_length": 32_768}},
            },
            32_768,
            "/api/show",
            ["/v1/models", "/props", "/api/show"],
        ),
        (  # llama-cpp-python: nothing anywhere
            {("GET", "/v1/models"): {"data": [{"id": "m", "object": "model"}]}},
            None,
            "",
            ["/v1/models", "/props", "/api/show"],
        ),
    ],
    ids=["vllm", "llama.cpp", "ollama", "llama-cpp-python"],
)
async def test_the_window_is_looked_up_one_request_at_a_time(
    routes: dict[tuple[str, str], Any], window: int | None, source: str, asked: list[str]
) -> None:
    with FakeServer(routes) as server:
        found = await lookup_window(server.base_url, "m", "key-1")
    assert found == WindowLookup(
        window, source, True, "" if window else "its /models, /props and /api/show give none"
    )
    assert [path for _, path, _ in server.asked] == asked
    assert all(body in (None, {"model": "m"}) for _, _, body in server.asked)


async def test_an_unreachable_endpoint_is_not_marked_as_asked() -> None:
    with ScriptedServer() as server:
        url = server.base_url
    found = await lookup_window(url, "m", None, per_request=2)
    assert (found.window, found.reached) == (None, False)
    assert found.reason.startswith(f"asking {url}/models failed")


def test_profiles_are_cached_per_endpoint_and_model(hermes_home: Path) -> None:
    a = EndpointRecord(
        "http://127.0.0.1:8080/v1",
        "qwen",
        context_window=8192,
        window_source="/props",
        window_checked=True,
        window_warned=False,
        client=EndpointProfile(stream_options=True, usage_reported=False, calls_as_text=True),
    )
    b = EndpointRecord("https://api.example.com/v1", "gpt", window_checked=True, window_warned=True)
    assert save_record(a) is None and save_record(b) is None
    loaded = load_record("http://127.0.0.1:8080/v1/", "qwen")  # a trailing / is the same
    assert (loaded.updated_at > 0, loaded.__class__) == (True, EndpointRecord)
    assert [load_record(r.base_url, r.model).to_dict() | {"updated_at": 0} for r in (a, b)] == [
        a.to_dict(),
        b.to_dict(),
    ]
    assert load_record("http://127.0.0.1:8080/v1", "other") == EndpointRecord(
        "http://127.0.0.1:8080/v1", "other"
    )
    data = json.loads(profiles_path().read_text())
    assert data["version"] == 1 and sorted(data["endpoints"]) == [
        "http://127.0.0.1:8080/v1 qwen",
        "https://api.example.com/v1 gpt",
    ]
    assert loaded.describe() == (
        "context window 8,192 (from /props) · tool calls written as text · usage estimated "
        "(not reported)"
    )
    assert sorted(p.name for p in hermes_home.iterdir()) == ["endpoints.json"]  # no temp left


def test_a_damaged_or_unwritable_cache_never_fails(
    hermes_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles_path().write_text("{not json")
    assert load_record("http://127.0.0.1:1/v1", "m") == EndpointRecord("http://127.0.0.1:1/v1", "m")
    profiles_path().write_text(
        json.dumps(
            {
                "endpoints": {
                    "http://127.0.0.1:1/v1 m": {
                        "context_window": "big",
                        "window_checked": "yes",
                        "calls_as_text": 1,
                    }
                }
            }
        )
    )
    assert load_record("http://127.0.0.1:1/v1", "m") == EndpointRecord("http://127.0.0.1:1/v1", "m")
    blocked = hermes_home / "not-a-dir"
    blocked.write_text("a file where HERMES_HOME should be")
    monkeypatch.setenv("HERMES_HOME", str(blocked / "home"))  # unwritable, even for root
    problem = save_record(EndpointRecord("http://127.0.0.1:1/v1", "m", window_checked=True))
    assert problem is not None and problem.startswith("could not save the endpoint profile")


def test_a_missing_key_says_which_variable_or_flag_to_set() -> None:
    cfg = Config(model=ModelConfig(base_url="https://api.example.com/v1", api_key_env="EX_KEY"))
    with pytest.raises(ConfigError) as caught:
        check_endpoint(cfg)
    message = str(caught.value)
    assert message.startswith("no API key for https://api.example.com/v1. export HERMES_API_KEY")
    for needed in ("HERMES_API_KEY or EX_KEY", "--api-key KEY", "--base-url http://127.0.0.1"):
        assert needed in message
    check_endpoint(Config(model=ModelConfig(base_url="http://127.0.0.1:8080/v1")))  # no key needed
