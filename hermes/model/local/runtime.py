"""The in-process llama.cpp backend: load once, render, prefill in chunks, stream tokens.

Everything here blocks and runs in a worker thread; :mod:`hermes.model.local.client` bridges
it to asyncio. One backend per model file and settings is shared by every client in
the process, and a lock lets one generation run at a time (the llama context is not
thread-safe).

The prompt of each request is compared with what the context already holds: the
shared prefix (system prompt, tools, earlier turns) stays in the KV cache and only the
new tail is evaluated, in chunks, so a cancelled request stops within one chunk even
while it is still reading a long prompt. During generation the cancel flag is checked
at every token. Tokens become text with special tokens kept (``<tool_call>`` is one
in Qwen), and a written tool call is finished under a grammar (:mod:`hermes.model.local.calls`).
"""

from __future__ import annotations

import atexit
import codecs
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hermes.messages import Message
from hermes.model.local.calls import CALL_CLOSE, CALL_OPEN, call_grammar, find_opener
from hermes.model.local.chat import CHATML_TEMPLATE, ChatTemplate, render_chat
from hermes.model.local.files import ModelFile
from hermes.model.local.steer import no_call_processor, non_word_tokens

DEFAULT_CONTEXT = 8192
DEFAULT_MAX_TOKENS = 1024
PREFILL_CHUNK = 256
SEED = 1234


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
    allow_calls: bool = True


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
        self._call_starts: list[int] | None = None
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
        # Free the model before interpreter shutdown: left to Llama.__del__, it runs
        # after llama_cpp's module globals are gone and prints a TypeError traceback.
        atexit.register(llm.close)
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
        """Run one request to its end (or to ``cancel``), passing text to ``on_piece``.
        When the model opens a tool call, the call is generated under a grammar of the
        offered tools (see :mod:`hermes.model.local.calls`) and ends the reply."""
        with self._lock:
            if cancel.is_set():
                raise Cancelled
            llm = self._load()
            prompt = self.render(messages, tools)
            started = time.monotonic()
            tokens, cached = self._start(llm, prompt, cancel)
            budget = min(sampling.max_tokens or DEFAULT_MAX_TOKENS, self.n_ctx - len(tokens))
            calls = sampling.allow_calls and bool(tools)
            first = self._stream(llm, tokens, budget, sampling, cancel, on_piece, detect=calls)
            text, finish, count = first.text, first.finish, first.tokens
            if first.opened:
                head = text if not text or text.endswith("\n") else text + "\n"
                on_piece(head[len(text) :] + CALL_OPEN)
                call_tokens, _ = self._start(llm, prompt + head + CALL_OPEN, cancel)
                call = self._stream(
                    llm,
                    call_tokens,
                    max(budget - count, 16),
                    replace(sampling, temperature=0.0),
                    cancel,
                    on_piece,
                    grammar=call_grammar(tools),
                )
                on_piece(CALL_CLOSE)
                text = head + CALL_OPEN + call.text.strip() + CALL_CLOSE
                finish, count = call.finish, count + call.tokens
            ended = time.monotonic()
            return Generation(
                text=text,
                finish_reason=finish,
                prompt_tokens=len(tokens),
                completion_tokens=count,
                cached_tokens=cached,
                prompt_bytes=len(prompt.encode("utf-8")),
                prefill_seconds=(first.first_token or ended) - started,
                generate_seconds=ended - (first.first_token or ended),
            )

    def _start(self, llm: Any, prompt: str, cancel: threading.Event) -> tuple[list[int], int]:
        """Tokenize ``prompt``, check it fits, and prefill it; returns the tokens and how
        many of them were already cached."""
        tokens = list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        if self.n_ctx - len(tokens) < 64:
            raise ContextFull(
                f"the conversation ({len(tokens)} tokens) does not fit the local model's "
                f"context window ({self.n_ctx}); use /compact, or raise model.context_window"
            )
        return tokens, self._prefill(llm, tokens, cancel)

    def _stops(self) -> list[str]:
        stops = ["<|im_end|>", "<|im_start|>", "<|endoftext|>", "<tool_response>"]
        eos = self._template.eos_token
        return [*stops, eos] if eos and eos not in stops else stops

    def _processors(self, llm: Any, tokens: Sequence[int], sampling: Sampling) -> Any:
        if sampling.allow_calls:
            return None
        if self._call_starts is None:
            self._call_starts = non_word_tokens(llm)
        return [no_call_processor(llm, len(tokens), self._call_starts)]

    def _stream(
        self,
        llm: Any,
        tokens: Sequence[int],
        max_tokens: int,
        sampling: Sampling,
        cancel: threading.Event,
        on_piece: Callable[[str], None],
        *,
        detect: bool = False,
        grammar: Any = None,
    ) -> _Stage:
        """Sample until an end token, a stop string, ``max_tokens``, a cancel or (with
        ``detect``) the opening of a tool call. Special tokens are kept as text."""
        stops = self._stops()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text, passed, count, finish = "", 0, 0, "length"
        first: float | None = None
        opened = False
        llm.set_seed(SEED)
        tokens_out = llm.generate(
            list(tokens),
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            temp=sampling.temperature,
            repeat_penalty=sampling.repeat_penalty,
            logits_processor=self._processors(llm, tokens, sampling),
            grammar=grammar,
        )
        try:
            for token in tokens_out:
                if cancel.is_set():
                    raise Cancelled
                if first is None:
                    first = time.monotonic()
                if _is_end(llm, token):
                    finish = "stop"
                    break
                count += 1
                text += decoder.decode(bytes(llm.detokenize([token], special=True)))
                cut = min((text.find(s) for s in stops if s in text), default=-1)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
                safe = len(text) if cut >= 0 else len(text) - _partial_stop(text, stops)
                if detect:
                    opener, sure = find_opener(text)
                    if opener is not None:
                        text, opened, finish = text[:opener], True, "tool_calls"
                    safe = min(safe, sure)
                if safe > passed:
                    on_piece(text[passed:safe])
                    passed = safe
                if cut >= 0 or opened or count >= max_tokens:
                    break
        finally:
            tokens_out.close()
        if passed < len(text):
            on_piece(text[passed:])
        return _Stage(text, finish, count, first, opened)


@dataclass(frozen=True)
class _Stage:
    """One stretch of sampling."""

    text: str
    finish: str
    tokens: int
    first_token: float | None
    opened: bool


def _is_end(llm: Any, token: int) -> bool:
    """An end-of-generation token (end of turn, end of text)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))
    except (AttributeError, ImportError):  # an older or newer binding
        return bool(token == llm.token_eos())


def _partial_stop(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters of ``text`` may be the start of a stop string."""
    longest = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:k]):
                longest = k
                break
    return longest


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
