"""The in-process llama.cpp backend: load once, render, prefill in chunks, stream tokens.

Everything here blocks and runs in a worker thread; :mod:`hermes.local_model` bridges
it to asyncio. One backend per model file and settings is shared by every client in
the process, and a lock lets one generation run at a time (the llama context is not
thread-safe).

The prompt of each request is compared with what the context already holds: the
shared prefix (system prompt, tools, earlier turns) stays in the KV cache and only the
new tail is evaluated, in chunks, so a cancelled request stops within one chunk even
while it is still reading a long prompt. During generation the cancel flag is checked
at every token.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes.local_chat import CHATML_TEMPLATE, ChatTemplate, render_chat
from hermes.local_files import ModelFile
from hermes.messages import Message

DEFAULT_CONTEXT = 8192
DEFAULT_MAX_TOKENS = 1024
PREFILL_CHUNK = 256
SEED = 1234
_OPEN, _CLOSE = "<tool_call>", "</tool_call>"


class Cancelled(Exception):
    """The request was cancelled before it finished."""


class ContextFull(Exception):
    """The prompt does not fit the model's context window."""


@dataclass(frozen=True)
class Sampling:
    """How tokens are drawn."""

    max_tokens: int | None = None
    temperature: float = 0.2
    top_p: float = 0.9
    top_k: int = 40
    repeat_penalty: float = 1.05


@dataclass(frozen=True)
class Generation:
    """One finished request, with its timings."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    prompt_bytes: int
    prefill_seconds: float
    generate_seconds: float


class CallTail:
    """Ends a reply that has closed a tool call and goes on with anything but another
    call. Small models often add prose after ``</tool_call>``, which would make the
    whole call plain text; such prose is held back, then dropped."""

    def __init__(self) -> None:
        self.text = ""
        self.sent = 0
        self.stopped = False

    def _release(self, upto: int) -> str:
        out = self.text[self.sent : upto]
        self.sent = max(self.sent, upto)
        return out

    def feed(self, piece: str) -> str:
        """Add generated text; returns what may be passed on now."""
        self.text += piece
        close = self.text.rfind(_CLOSE)
        opened = self.text.rfind(_OPEN, 0, max(close, 0))
        at_line_start = opened >= 0 and (opened == 0 or self.text[opened - 1] == "\n")
        if close < 0 or not at_line_start or self.text.rfind(_OPEN) > close:
            return self._release(len(self.text))
        after = close + len(_CLOSE)
        rest = self.text[after:].lstrip()
        if not rest or _OPEN.startswith(rest):
            return self._release(after)
        self.stopped = True
        self.text = self.text[:after]
        return self._release(after)

    def finish(self) -> str:
        """What was held back when the reply ends by itself."""
        return self._release(len(self.text))


def default_threads() -> int:
    """All cores (llama-cpp-python's own default is half of them)."""
    return os.cpu_count() or 1


def _token_text(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    try:
        return bytes(llm.detokenize([token], special=True)).decode("utf-8", errors="replace")
    except Exception:
        return ""


def _common_prefix(llm: Any, tokens: Sequence[int]) -> int:
    """How many leading prompt tokens the context already holds (all but the last at
    most: the last one is evaluated again to get fresh logits)."""
    limit = min(int(llm.n_tokens), len(tokens) - 1)
    common = 0
    for held, token in zip(llm.input_ids[:limit].tolist(), tokens, strict=False):
        if held != token:
            break
        common += 1
    return common


class LocalBackend:
    """One loaded model file (lazily), shared by the clients that use it."""

    def __init__(
        self, resolve: Callable[[], ModelFile], n_ctx: int, threads: int | None = None
    ) -> None:
        self._resolve = resolve
        self.n_ctx = n_ctx
        self.threads = threads or default_threads()
        self._lock = threading.Lock()
        self._llm: Any = None
        self._template = ChatTemplate(CHATML_TEMPLATE)
        self.model_file: ModelFile | None = None
        self.load_seconds = 0.0

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        started = time.monotonic()
        model_file = self._resolve()
        from llama_cpp import Llama

        llm = Llama(
            model_path=str(model_file.path),
            n_ctx=self.n_ctx,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            n_batch=PREFILL_CHUNK,
            seed=SEED,
            verbose=False,
        )
        source = llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE
        self._template = ChatTemplate(
            source, _token_text(llm, llm.token_bos()), _token_text(llm, llm.token_eos())
        )
        self.model_file, self._llm = model_file, llm
        self.load_seconds = time.monotonic() - started
        return llm

    def load(self) -> None:
        """Resolve (assemble, verify) and load the model now rather than on first use."""
        with self._lock:
            self._load()

    def render(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> str:
        """The prompt text a request would evaluate (the model must be loaded)."""
        return render_chat(self._template, messages, tools)

    def _prefill(self, llm: Any, tokens: Sequence[int], cancel: threading.Event) -> int:
        """Evaluate all but the last prompt token, reusing the cached prefix; returns the
        number of tokens reused. The last one is evaluated by the generation itself."""
        common = _common_prefix(llm, tokens)
        if common == 0:
            llm.reset()
        else:
            llm.n_tokens = common  # eval() drops the cache past this point
        for start in range(common, len(tokens) - 1, PREFILL_CHUNK):
            if cancel.is_set():
                raise Cancelled
            llm.eval(tokens[start : min(start + PREFILL_CHUNK, len(tokens) - 1)])
        return common

    def generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        sampling: Sampling,
        cancel: threading.Event,
        on_piece: Callable[[str], None],
    ) -> Generation:
        """Run one request to its end (or to ``cancel``), passing text to ``on_piece``."""
        with self._lock:
            if cancel.is_set():
                raise Cancelled
            llm = self._load()
            prompt = self.render(messages, tools)
            tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            room = self.n_ctx - len(tokens)
            if room < 64:
                raise ContextFull(
                    f"the conversation ({len(tokens)} tokens) does not fit the local model's "
                    f"context window ({self.n_ctx}); use /compact, or raise "
                    "model.context_window"
                )
            started = time.monotonic()
            cached = self._prefill(llm, tokens, cancel)
            max_tokens = min(sampling.max_tokens or DEFAULT_MAX_TOKENS, room)
            text, finish, first = self._stream(llm, tokens, max_tokens, sampling, cancel, on_piece)
            ended = time.monotonic()
            completion = len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))
            return Generation(
                text=text,
                finish_reason=finish,
                prompt_tokens=len(tokens),
                completion_tokens=completion,
                cached_tokens=cached,
                prompt_bytes=len(prompt.encode("utf-8")),
                prefill_seconds=(first or ended) - started,
                generate_seconds=ended - (first or ended),
            )

    def _stream(
        self,
        llm: Any,
        tokens: Sequence[int],
        max_tokens: int,
        sampling: Sampling,
        cancel: threading.Event,
        on_piece: Callable[[str], None],
    ) -> tuple[str, str, float | None]:
        stops = ["<|im_end|>", "<|im_start|>", "<|endoftext|>", "<tool_response>"]
        if self._template.eos_token and self._template.eos_token not in stops:
            stops.append(self._template.eos_token)
        chunks = llm.create_completion(
            list(tokens),
            max_tokens=max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            repeat_penalty=sampling.repeat_penalty,
            stop=stops,
            stream=True,
            seed=SEED,
        )
        tail = CallTail()
        finish = "stop"
        first: float | None = None
        try:
            for chunk in chunks:
                if cancel.is_set():
                    raise Cancelled
                choice = chunk["choices"][0]
                if first is None:
                    first = time.monotonic()
                shown = tail.feed(choice.get("text") or "")
                if shown:
                    on_piece(shown)
                if tail.stopped:
                    break
                if choice.get("finish_reason"):
                    finish = str(choice["finish_reason"])
        finally:
            chunks.close()
        rest = tail.finish()
        if rest:
            on_piece(rest)
        return tail.text, finish, first


_BACKENDS: dict[tuple[str, int, int], LocalBackend] = {}
_BACKENDS_LOCK = threading.Lock()


def shared_backend(
    key: str, resolve: Callable[[], ModelFile], n_ctx: int, threads: int | None
) -> LocalBackend:
    """The process's backend for model ``key`` with these settings (made on first use)."""
    threads = threads or default_threads()
    with _BACKENDS_LOCK:
        backend = _BACKENDS.get((key, n_ctx, threads))
        if backend is None:
            backend = _BACKENDS[(key, n_ctx, threads)] = LocalBackend(resolve, n_ctx, threads)
        return backend


def backend_path(backend: LocalBackend) -> Path | None:
    """The loaded model file, if any."""
    return backend.model_file.path if backend.model_file else None
