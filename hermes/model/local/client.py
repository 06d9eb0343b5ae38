"""A model client that runs a GGUF model in-process on the CPU (``model.provider: local``).

It implements :class:`hermes.model.base.ModelClient` (``config``, ``complete``,
``with_model``, ``request_body``, ``list_models``, ``aclose``), so the engine, sessions
and compaction take it as they take the endpoint client. Inference runs in a worker
thread; text streams back to the event loop with ``call_soon_threadsafe``. Cancelling
``complete`` (an interrupted turn) sets a flag the worker checks between prompt chunks
and at every token, and nothing it produces afterwards reaches the caller.

Tool calls are written by the model as text, finished under a grammar of the offered
tools (:mod:`hermes.model.local.calls`) and turned into real calls by
:mod:`hermes.model.text_calls`, always on here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hermes.config import ModelConfig
from hermes.messages import Message, Usage
from hermes.model.base import (
    ModelClient,
    ModelError,
    ModelReply,
    RetrySink,
    TextSink,
    chat_request_body,
)
from hermes.model.local.chat import ChatTemplateError, compact_tools
from hermes.model.local.files import (
    INSTALL_HINT,
    ModelFile,
    ModelFileError,
    ensure_pack,
    local_model_name,
    user_model,
)
from hermes.model.local.runtime import (
    DEFAULT_CONTEXT,
    Cancelled,
    ContextFull,
    Generation,
    LocalBackend,
    Sampling,
    shared_backend,
)
from hermes.model.local.steer import ANSWER_NUDGE, MAX_CALLS_PER_TURN, calls_since_user, repeats
from hermes.model.text_calls import TextCallStream, with_text_calls

DEFAULT_TEMPERATURE = 0.2


def _resolver(path: str | None) -> Callable[[], ModelFile]:
    if path:
        return lambda: user_model(path)
    return ensure_pack


def _finished(reply: ModelReply, spent: Usage, started: float) -> ModelReply:
    """``reply`` with the tokens of a discarded attempt added and the whole latency."""
    usage = reply.usage or Usage()
    usage = Usage(
        usage.prompt_tokens, usage.completion_tokens + spent.completion_tokens, usage.estimated
    )
    return replace(reply, usage=usage, latency_ms=(time.monotonic() - started) * 1000)


class LocalModelClient:
    """Runs ``config.path`` (or the default model pack) with llama.cpp, in process."""

    def __init__(self, config: ModelConfig, backend: LocalBackend | None = None) -> None:
        config = replace(
            config,
            name=local_model_name(config.path),
            context_window=config.context_window or DEFAULT_CONTEXT,
            text_tool_calls=True,
        )
        self.config = config
        self.backend = backend or shared_backend(
            str(Path(config.path).expanduser()) if config.path else "default",
            _resolver(config.path),
            config.context_window or DEFAULT_CONTEXT,
            config.threads,
        )
        self.last: Generation | None = None
        self._running: set[threading.Event] = set()

    @property
    def calls_as_text(self) -> bool:
        """Always: the local model writes its calls as text (finished under a grammar)."""
        return True

    def with_model(self, name: str) -> ModelClient:
        """``/model PATH.gguf`` switches to another model file; other names keep this one
        (the local provider has no catalogue of names)."""
        if name.endswith(".gguf"):
            return LocalModelClient(replace(self.config, path=name))
        return self

    async def aclose(self) -> None:
        """Stop any generation still running for this client (the loaded model stays
        shared in the process for later sessions)."""
        for cancel in list(self._running):
            cancel.set()

    def request_body(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """The request in chat-completions form, as the audit log records it."""
        return chat_request_body(self.config, messages, tools)

    async def list_models(self) -> list[dict[str, Any]]:
        """The one model this client runs, with its context window."""
        return [{"id": self.config.name, "context_length": self.backend.n_ctx}]

    def _sampling(self) -> Sampling:
        temperature = self.config.temperature
        return Sampling(
            max_tokens=self.config.max_output_tokens,
            temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
        )

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
        """Generate one reply in a worker thread, streaming its text to ``on_text``. A
        reply that only repeats calls already made this turn is generated again with
        calls suppressed (see :mod:`hermes.model.local.steer`). ``max_tokens`` caps
        this reply below ``model.max_output_tokens``."""
        started = time.monotonic()
        offered = compact_tools(tools)
        view = list(messages)
        sampling = self._sampling()
        if max_tokens is not None and (
            sampling.max_tokens is None or max_tokens < sampling.max_tokens
        ):
            sampling = replace(sampling, max_tokens=max_tokens)
        spent = Usage()
        if not offered or len(calls_since_user(messages)) < MAX_CALLS_PER_TURN:
            first = await self._once(view, offered, sampling, on_text)
            if not (first.tool_calls and repeats(messages, first.tool_calls)):
                return _finished(first, spent, started)
            spent = first.usage or spent
        # Going in circles: ask for the answer, with calls suppressed.
        quiet = replace(sampling, allow_calls=False)
        nudge = Message("user", ANSWER_NUDGE)
        reply = await self._once([*view, nudge], offered, quiet, on_text)
        return _finished(reply, spent, started)

    async def _once(
        self,
        view: Sequence[Message],
        offered: Sequence[dict[str, Any]],
        sampling: Sampling,
        on_text: TextSink | None,
    ) -> ModelReply:
        names = [t["function"]["name"] for t in offered]
        calls = TextCallStream(names) if names and sampling.allow_calls else None
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        done: asyncio.Future[Generation] = loop.create_future()

        def deliver(piece: str) -> None:
            if cancel.is_set():
                return
            shown = calls.feed(piece) if calls is not None else piece
            if shown and on_text is not None:
                on_text(shown)

        def post(callback: Any, *args: Any) -> None:
            try:
                loop.call_soon_threadsafe(callback, *args)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        def settle(result: Generation | None, error: BaseException | None) -> None:
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)  # type: ignore[arg-type]

        def work() -> None:
            try:
                result = self.backend.generate(
                    view, offered, sampling, cancel, lambda piece: post(deliver, piece)
                )
            except BaseException as exc:
                post(settle, None, exc)
            else:
                post(settle, result, None)

        self._running.add(cancel)
        threading.Thread(target=work, name="hermes-local-model", daemon=True).start()
        try:
            generation = await done
        except asyncio.CancelledError:
            cancel.set()
            raise
        except Cancelled as exc:
            raise ModelError("the local model request was cancelled") from exc
        except (ModelFileError, ChatTemplateError, ContextFull) as exc:
            raise ModelError(str(exc)) from exc
        except ImportError as exc:
            raise ModelError(
                f"the local backend (llama-cpp-python) is missing: {exc}; {INSTALL_HINT}"
            ) from exc
        except Exception as exc:
            raise ModelError(f"the local model failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self._running.discard(cancel)
        self.last = generation
        reply = ModelReply(
            content=generation.text,
            tool_calls=(),
            finish_reason=generation.finish_reason,
            usage=Usage(generation.prompt_tokens, generation.completion_tokens),
            request_bytes=generation.prompt_bytes,
        )
        if calls is not None:
            reply = with_text_calls(reply, calls, on_text)
        return reply
