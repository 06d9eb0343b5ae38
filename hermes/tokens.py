"""Offline token counting for context budgets.

Encodings are built with ``tiktoken.Encoding(...)`` directly from the rank files
shipped in ``hermes/data`` (sha256-checked against the hashes tiktoken itself
expects), so counting never touches the network and ignores ``TIKTOKEN_CACHE_DIR``.
``tiktoken.get_encoding`` is never called.

Nothing happens at import time (tiktoken is imported inside the loader). The
first count loads the encoding, once per process, under a lock. If it cannot be
loaded (unknown name, missing or corrupted rank file, tiktoken not importable)
counts fall back to an estimate of ``ceil(utf-8 bytes / 4)`` and one warning is
emitted per process for that encoding.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from binascii import a2b_base64
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable
    from pathlib import Path

    from hermes.messages import Message

__all__ = [
    "EXPECTED_SHA256",
    "CacheStats",
    "TokenCounter",
    "encoding_for_model",
    "estimate_tokens",
]

#: sha256 of the rank files, as in ``tiktoken_ext/openai_public.py`` (``expected_hash``).
EXPECTED_SHA256: dict[str, str] = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

_ENDOFTEXT = "<|endoftext|>"
_FIM_PREFIX = "<|fim_prefix|>"
_FIM_MIDDLE = "<|fim_middle|>"
_FIM_SUFFIX = "<|fim_suffix|>"
_ENDOFPROMPT = "<|endofprompt|>"

# pat_str and special tokens copied verbatim from tiktoken_ext.openai_public.
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""


class _Spec(NamedTuple):
    pat_str: str
    special_tokens: Mapping[str, int]


_SPECS: dict[str, _Spec] = {
    "o200k_base": _Spec(_O200K_PAT, {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018}),
    "cl100k_base": _Spec(
        _CL100K_PAT,
        {
            _ENDOFTEXT: 100257,
            _FIM_PREFIX: 100258,
            _FIM_MIDDLE: 100259,
            _FIM_SUFFIX: 100260,
            _ENDOFPROMPT: 100276,
        },
    ),
}

#: Per-message framing, as in OpenAI's cookbook (``tokens_per_message = 3``).
MESSAGE_OVERHEAD = 3
#: Approximate framing per tool call (type/function wrapper around name and arguments).
TOOL_CALL_OVERHEAD = 3
#: Every reply is primed with ``<|start|>assistant<|message|>``.
REPLY_PRIMING = 3
#: Default bound on the per-counter message cache.
DEFAULT_CACHE_SIZE = 16_384

# ---------------------------------------------------------------------------
# Model -> encoding

_CL100K_MODEL = re.compile(
    r"^(gpt-4(?![o.\d])|gpt-4-|gpt-3\.5|gpt-35|text-embedding-|davinci-002|babbage-002)"
)


def encoding_for_model(model: str, override: str | None = None) -> str:
    """Return the encoding name to count ``model``'s tokens with.

    ``override`` (e.g. from config) wins. Provider prefixes (``openai/gpt-4o``) and
    fine-tune prefixes (``ft:gpt-4:org:...``) are ignored. GPT-4 (non-``o``, pre-4.1),
    GPT-3.5 and embedding models use ``cl100k_base``; everything else, including
    gpt-4o/4.1/4.5/5, the o-series and unknown modern names, uses ``o200k_base``.
    """
    if override:
        return override
    name = model.strip().lower().rsplit("/", 1)[-1]
    name = name.removeprefix("ft:")
    return "cl100k_base" if _CL100K_MODEL.match(name) else "o200k_base"


# ---------------------------------------------------------------------------
# Process-wide encoding cache


def estimate_tokens(text: str) -> int:
    """The fallback estimate: ``ceil(len(utf-8 bytes) / 4)``."""
    return -(-len(text.encode("utf-8", "surrogatepass")) // 4)


class _Loaded(NamedTuple):
    count: Callable[[str], int]
    exact: bool
    reason: str  # why the fallback is used; "" when exact


_LOCK = threading.Lock()
_LOADED: dict[tuple[str, str], _Loaded] = {}
_WARNED: set[tuple[str, str]] = set()


def _parse_ranks(blob: bytes) -> dict[bytes, int]:
    # Only called on a hash-verified file: ``<base64> <rank>`` pairs, whitespace-separated.
    fields = blob.split()
    return dict(zip(map(a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))


def _load(name: str, data_dir: Traversable | Path | None) -> _Loaded:
    """Build the encoding; on any failure, return the estimate with a reason."""

    def fallback(reason: str) -> _Loaded:
        return _Loaded(estimate_tokens, False, reason)

    spec = _SPECS.get(name)
    if spec is None:
        return fallback(f"unknown encoding {name!r} (known: {', '.join(sorted(_SPECS))})")
    try:
        import tiktoken
    except Exception as exc:  # ImportError, or a broken native extension
        return fallback(f"tiktoken is not importable ({exc})")
    import hashlib
    from importlib.resources import files

    root: Traversable | Path = data_dir if data_dir is not None else files("hermes.data")
    filename = f"{name}.tiktoken"
    try:
        blob = root.joinpath(filename).read_bytes()
    except OSError as exc:
        return fallback(f"rank file {filename} cannot be read ({exc})")
    digest = hashlib.sha256(blob).hexdigest()
    if digest != EXPECTED_SHA256[name]:
        return fallback(
            f"rank file {filename} is corrupted (sha256 {digest[:16]}..., "
            f"expected {EXPECTED_SHA256[name][:16]}...)"
        )
    try:
        encoding = tiktoken.Encoding(
            name,
            pat_str=spec.pat_str,
            mergeable_ranks=_parse_ranks(blob),
            special_tokens=dict(spec.special_tokens),
        )
    except Exception as exc:  # tiktoken raises assorted errors from its Rust core
        return fallback(f"building {name} failed ({exc})")
    encode = encoding.encode_ordinary

    def count(text: str) -> int:
        return len(encode(text))

    return _Loaded(count, True, "")


def _get(name: str, data_dir: Traversable | Path | None) -> tuple[_Loaded, bool]:
    """The loaded encoding for ``name``, and whether the caller must warn (first failure)."""
    key = (name, "" if data_dir is None else str(data_dir))
    loaded = _LOADED.get(key)
    if loaded is None:
        with _LOCK:
            loaded = _LOADED.get(key)
            if loaded is None:
                loaded = _LOADED[key] = _load(name, data_dir)
    if loaded.exact or key in _WARNED:
        return loaded, False
    with _LOCK:
        if key in _WARNED:
            return loaded, False
        _WARNED.add(key)
    return loaded, True


def _reset() -> None:
    """Forget loaded encodings and emitted warnings (tests only)."""
    with _LOCK:
        _LOADED.clear()
        _WARNED.clear()


# ---------------------------------------------------------------------------
# Counter


class CacheStats(NamedTuple):
    """Per-counter message cache statistics."""

    hits: int
    misses: int
    size: int


class TokenCounter:
    """Counts tokens of text, chat messages and tool schemas for one encoding.

    Loading is lazy (first count) and shared process-wide; per-message counts are
    cached in a bounded LRU keyed by the (frozen, hashable) message. Thread-safe.
    """

    def __init__(
        self,
        encoding: str = "o200k_base",
        on_warning: Callable[[str], None] | None = None,
        *,
        data_dir: Traversable | Path | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        """``data_dir`` overrides where rank files are read from (tests, packaging)."""
        self.encoding = encoding
        self._on_warning = on_warning
        self._data_dir = data_dir
        self._cache_size = max(0, cache_size)
        self._loaded: _Loaded | None = None
        self._cache: OrderedDict[Message, int] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    # -- loading -------------------------------------------------------------

    def _resolve(self) -> _Loaded:
        loaded = self._loaded
        if loaded is None:
            loaded, must_warn = _get(self.encoding, self._data_dir)
            self._loaded = loaded
            if must_warn:
                self._warn(loaded.reason)
        return loaded

    def _warn(self, reason: str) -> None:
        text = (
            f"exact token counting unavailable for {self.encoding!r}: {reason}; "
            "using an estimate of ~4 bytes per token"
        )
        if self._on_warning is not None:
            self._on_warning(text)
        else:
            warnings.warn(text, RuntimeWarning, stacklevel=4)

    def load(self) -> None:
        """Load the encoding now (e.g. from a background thread at start-up)."""
        self._resolve()

    @property
    def exact(self) -> bool:
        """False when counts come from the estimate fallback (loads the encoding)."""
        return self._resolve().exact

    # -- counting ------------------------------------------------------------

    def count_text(self, text: str) -> int:
        """Tokens in ``text`` (special-token strings count as ordinary text)."""
        if not text:
            return 0
        return self._resolve().count(text)

    def _message_tokens(self, message: Message) -> int:
        count = self._resolve().count
        total = MESSAGE_OVERHEAD + count(message.role)
        if message.content:
            total += count(message.content)
        for call in message.tool_calls:
            total += TOOL_CALL_OVERHEAD + count(call.name)
            if call.arguments:
                total += count(call.arguments)
        return total

    def count_message(self, message: Message) -> int:
        """Tokens for one message: framing + role + content + tool call names/arguments."""
        cache = self._cache
        with self._cache_lock:
            cached = cache.get(message)
            if cached is not None:
                cache.move_to_end(message)
                self._hits += 1
                return cached
            self._misses += 1
        tokens = self._message_tokens(message)
        if self._cache_size:
            with self._cache_lock:
                cache[message] = tokens
                if len(cache) > self._cache_size:
                    cache.popitem(last=False)
        return tokens

    def count_messages(self, messages: Sequence[Message]) -> int:
        """Tokens for a whole prompt: every message plus the reply priming."""
        return sum(self.count_message(m) for m in messages) + REPLY_PRIMING

    def count_tools(self, schemas: Sequence[Mapping[str, Any]]) -> int:
        """Approximate cost of tool schemas: the tokens of each one's compact JSON."""
        return sum(
            self.count_text(json.dumps(s, separators=(",", ":"), ensure_ascii=False))
            for s in schemas
        )

    def cache_stats(self) -> CacheStats:
        """Hits, misses and current size of the per-message cache."""
        with self._cache_lock:
            return CacheStats(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        """Drop cached message counts (statistics are kept)."""
        with self._cache_lock:
            self._cache.clear()
