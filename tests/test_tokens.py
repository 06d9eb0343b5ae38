"""Offline token counting: shipped rank files, counts, caching, fallback, no network."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import tiktoken
import tiktoken_ext.openai_public as openai_public  # type: ignore[import-untyped]
from tiktoken.load import load_tiktoken_bpe

from hermes import tokens
from hermes.data.build_rank_files import convert_js_ranks
from hermes.messages import Message, ToolCall, tool_result, user
from hermes.tokens import (
    EXPECTED_SHA256,
    MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    TOOL_CALL_OVERHEAD,
    TokenCounter,
    encoding_for_model,
    estimate_tokens,
)

DATA_DIR = Path(tokens.__file__).parent / "data"
ENCODINGS = ("o200k_base", "cl100k_base")

LONG_TEXTS = [
    "The quick brown fox jumps over the lazy dog. " * 20,
    'def parse(line: str) -> dict[str, int]:\n    """Split it."""\n'
    '    k, _, v = line.partition("=")\n    return {k.strip(): int(v)}\n' * 10,
    "Ünïcödé, 中文字符, русский текст, emoji 🚀🔥 and\ttabs\r\n\n   spaces   ",
    '{"path": "src/app.py", "old": "x = 1", "new": "x = 2", "n": [1, 22, 333, 4444]}',
    "literal special tokens stay text: <|endoftext|> <|endofprompt|> <|fim_prefix|>",
    "\n".join(f"{i:05d} | {'ab' * (i % 7)} | {i * 3.14159:.3f}" for i in range(200)),
]


def _tiktoken_expected_hashes() -> dict[str, str]:
    """The ``expected_hash`` values from tiktoken_ext/openai_public.py's source."""
    spec = importlib.util.find_spec("tiktoken_ext.openai_public")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text("utf-8")
    found = dict(
        re.findall(r'encodings/(\w+)\.tiktoken",\s*expected_hash="([0-9a-f]{64})"', source)
    )
    return {name: found[name] for name in ENCODINGS}


def _reference_params(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """tiktoken's own constructor params for ``name``, with its loader fed the shipped file."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # no cache, no network: a local path

    def local_load(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        return load_tiktoken_bpe(str(DATA_DIR / url.rsplit("/", 1)[-1]), expected_hash)

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", local_load)
    params: dict[str, Any] = getattr(openai_public, name)()
    return params


def _unique_dir(tmp_path: Path) -> Path:
    """A fresh data dir, so the process-wide cache key is new for this test."""
    d = tmp_path / f"data-{uuid.uuid4().hex}"
    d.mkdir()
    return d


# -- shipped files ------------------------------------------------------------------


@pytest.mark.parametrize("name", ENCODINGS)
def test_shipped_hashes_match_tiktoken(name: str) -> None:
    expected = _tiktoken_expected_hashes()[name]
    assert EXPECTED_SHA256[name] == expected
    assert hashlib.sha256((DATA_DIR / f"{name}.tiktoken").read_bytes()).hexdigest() == expected


@pytest.mark.parametrize("name", ENCODINGS)
def test_specs_match_tiktoken_ext(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    params = _reference_params(name, monkeypatch)
    spec = tokens._SPECS[name]
    assert spec.pat_str == params["pat_str"]
    assert dict(spec.special_tokens) == params["special_tokens"]
    shipped = tokens._parse_ranks((DATA_DIR / f"{name}.tiktoken").read_bytes())
    assert shipped == params["mergeable_ranks"]


# -- counting -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ENCODINGS)
def test_known_counts(name: str) -> None:
    counter = TokenCounter(name)
    assert counter.count_text("hello world") == 2
    assert counter.count_text("") == 0
    assert counter.exact


@pytest.mark.parametrize("name", ENCODINGS)
def test_counts_match_tiktoken_reference(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = tiktoken.Encoding(**_reference_params(name, monkeypatch))
    counter = TokenCounter(name)
    for text in LONG_TEXTS:
        assert counter.count_text(text) == len(reference.encode_ordinary(text)), text[:40]


def test_encodings_differ_on_some_text() -> None:
    o200k, cl100k = TokenCounter("o200k_base"), TokenCounter("cl100k_base")
    assert o200k.count_text(LONG_TEXTS[2]) != cl100k.count_text(LONG_TEXTS[2])


def test_count_message_formula() -> None:
    counter = TokenCounter()
    c = counter.count_text
    assert counter.count_message(user("hello world")) == MESSAGE_OVERHEAD + c("user") + 2
    call = ToolCall(id="call_1", name="read_file", arguments='{"path": "a.py"}')
    msg = Message(role="assistant", content=None, tool_calls=(call,))
    assert counter.count_message(msg) == (
        MESSAGE_OVERHEAD + c("assistant") + TOOL_CALL_OVERHEAD + c("read_file") + c(call.arguments)
    )
    result = tool_result("call_1", "print('hi')")
    assert counter.count_message(result) == MESSAGE_OVERHEAD + c("tool") + c("print('hi')")
    history = [user("hello world"), msg, result]
    assert counter.count_messages(history) == (
        sum(counter.count_message(m) for m in history) + REPLY_PRIMING
    )
    assert counter.count_messages([]) == REPLY_PRIMING


def test_count_tools_counts_compact_json() -> None:
    counter = TokenCounter()
    schema = {
        "type": "function",
        "function": {
            "name": "grep",
            "description": "Search files for a regex.",
            "parameters": {"type": "object", "properties": {"pattern": {"type": "string"}}},
        },
    }
    compact = json.dumps(schema, separators=(",", ":"))
    assert counter.count_tools([schema]) == counter.count_text(compact)
    assert counter.count_tools([schema, schema]) == 2 * counter.count_text(compact)
    assert counter.count_tools([]) == 0


def test_message_cache_hits(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = TokenCounter()
    computed: list[Message] = []
    original = counter._message_tokens

    def spy(message: Message) -> int:
        computed.append(message)
        return original(message)

    monkeypatch.setattr(counter, "_message_tokens", spy)
    msg = user("some long prompt " * 50)
    first = counter.count_message(msg)
    assert counter.count_message(msg) == first
    assert counter.count_message(user("some long prompt " * 50)) == first  # equal message
    assert computed == [msg]
    stats = counter.cache_stats()
    assert (stats.hits, stats.misses, stats.size) == (2, 1, 1)


def test_message_cache_is_bounded() -> None:
    counter = TokenCounter(cache_size=2)
    a, b, c = user("a"), user("b"), user("c")
    for m in (a, b, a, c):  # a is most recently used when c evicts the LRU entry (b)
        counter.count_message(m)
    assert counter.cache_stats().size == 2
    counter.count_message(a)
    assert counter.cache_stats().hits == 2
    counter.count_message(b)
    assert counter.cache_stats().misses == 4


# -- model mapping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-4.5-preview", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("ft:gpt-4o-mini:acme::abc", "o200k_base"),
        ("qwen2.5-coder:32b", "o200k_base"),
        ("some-future-model", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("GPT-4-0613", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4-32k", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-35-turbo-16k", "cl100k_base"),
        ("openai/gpt-3.5-turbo", "cl100k_base"),
        ("ft:gpt-4-0613:acme::x", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
    ],
)
def test_encoding_for_model(model: str, expected: str) -> None:
    assert encoding_for_model(model) == expected


def test_encoding_override_wins() -> None:
    assert encoding_for_model("gpt-4o", override="cl100k_base") == "cl100k_base"
    assert encoding_for_model("gpt-4", override="o200k_base") == "o200k_base"
    assert encoding_for_model("gpt-4", override=None) == "cl100k_base"


# -- fallback -----------------------------------------------------------------------


def test_unknown_encoding_falls_back_with_one_warning() -> None:
    name = f"nope_{uuid.uuid4().hex}"
    seen: list[str] = []
    first = TokenCounter(name, on_warning=seen.append)
    text = "héllo wörld, this is an estimate"
    assert first.count_text(text) == estimate_tokens(text) == -(-len(text.encode()) // 4)
    assert not first.exact
    second = TokenCounter(name, on_warning=seen.append)
    second.count_text("again")
    second.count_messages([user("x"), user("y")])
    assert len(seen) == 1
    assert name in seen[0] and "unknown encoding" in seen[0]


def test_fallback_uses_warnings_module_without_callback() -> None:
    name = f"nope_{uuid.uuid4().hex}"
    with pytest.warns(RuntimeWarning, match="unknown encoding") as record:
        TokenCounter(name).count_text("abc")
        TokenCounter(name).count_text("abc")
    assert len([w for w in record if name in str(w.message)]) == 1


def test_corrupted_rank_file_falls_back(tmp_path: Path) -> None:
    data = _unique_dir(tmp_path)
    blob = bytearray((DATA_DIR / "o200k_base.tiktoken").read_bytes())
    blob[1000] ^= 0x01
    (data / "o200k_base.tiktoken").write_bytes(bytes(blob))
    seen: list[str] = []
    counter = TokenCounter("o200k_base", on_warning=seen.append, data_dir=data)
    assert counter.count_text("hello world") == estimate_tokens("hello world") == 3
    assert not counter.exact
    TokenCounter("o200k_base", on_warning=seen.append, data_dir=data).count_text("x")
    assert len(seen) == 1 and "corrupted" in seen[0]


def test_missing_rank_file_falls_back(tmp_path: Path) -> None:
    seen: list[str] = []
    counter = TokenCounter("cl100k_base", on_warning=seen.append, data_dir=_unique_dir(tmp_path))
    assert counter.count_text("abcdefgh") == 2
    assert len(seen) == 1 and "cannot be read" in seen[0]


def test_tiktoken_not_importable_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _unique_dir(tmp_path)
    shutil.copy(DATA_DIR / "cl100k_base.tiktoken", data)
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # makes `import tiktoken` fail
    seen: list[str] = []
    counter = TokenCounter("cl100k_base", on_warning=seen.append, data_dir=data)
    assert counter.count_text("hello world") == 3
    assert len(seen) == 1 and "tiktoken is not importable" in seen[0]


def test_concurrent_first_use_loads_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _unique_dir(tmp_path)
    shutil.copy(DATA_DIR / "cl100k_base.tiktoken", data)
    loads: list[str] = []
    original = tokens._load

    def counting_load(name: str, data_dir: Any) -> Any:
        loads.append(name)
        return original(name, data_dir)

    monkeypatch.setattr(tokens, "_load", counting_load)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def work() -> None:
        barrier.wait()
        results.append(TokenCounter("cl100k_base", data_dir=data).count_text("hello world"))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [2] * 6
    assert loads == ["cl100k_base"]


# -- no network ---------------------------------------------------------------------

_OFFLINE_SCRIPT = r"""
import os, sys

def guard(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        raise RuntimeError(f"network access attempted: {event} {args!r}")

sys.addaudithook(guard)
import hermes.tokens as t
assert "tiktoken" not in sys.modules, "import hermes.tokens must not import tiktoken"
warnings = []
for name in ("o200k_base", "cl100k_base"):
    c = t.TokenCounter(name, on_warning=warnings.append)
    print(name, c.count_text("hello world"), c.count_text(sys.argv[1]), c.exact)
assert not warnings, warnings
assert os.listdir(os.environ["TIKTOKEN_CACHE_DIR"]) == []
"""


def test_counting_works_with_network_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = dict(os.environ)
    closed = "http://127.0.0.1:9"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[var] = closed
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    env["TIKTOKEN_CACHE_DIR"] = str(cache)
    text = LONG_TEXTS[1]
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, text],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # hang guard only
    )
    assert proc.returncode == 0, proc.stderr
    expected = {}
    for name in ENCODINGS:
        with monkeypatch.context() as m:
            ref = tiktoken.Encoding(**_reference_params(name, m))
        expected[name] = len(ref.encode_ordinary(text))
    assert proc.stdout.split("\n")[:2] == [
        f"o200k_base 2 {expected['o200k_base']} True",
        f"cl100k_base 2 {expected['cl100k_base']} True",
    ]


# -- build script -------------------------------------------------------------------


def test_convert_js_ranks() -> None:
    source = 'module.exports = {"pat_str":"x","special_tokens":{},"bpe_ranks":"! 0 IQ== Ig==\\n! 2 Iw=="};'
    assert convert_js_ranks(source) == b"IQ== 0\nIg== 1\nIw== 2\n"
    with pytest.raises(ValueError, match="contiguous"):
        convert_js_ranks(source.replace("! 2 Iw==", "! 5 Iw=="))
    with pytest.raises(ValueError, match="CommonJS"):
        convert_js_ranks("export default {}")
