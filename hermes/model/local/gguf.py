"""Reading the metadata of a GGUF model file without loading the model.

The header is a list of typed key-value pairs (GGUF v2/v3, little-endian). Arrays are
not kept (the tokenizer's vocabulary alone has 150,000 strings); only their element
type and length are, as :class:`ArrayInfo`. Nothing here trusts the file: every
length is checked against what is left of it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

GGUF_MAGIC = b"GGUF"
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
_MAX_KEYS = 100_000
_MAX_STRING = 64 * 1024 * 1024


class GgufError(Exception):
    """The file is not a GGUF model file, or its header is damaged."""


@dataclass(frozen=True)
class ArrayInfo:
    """An array value, summarized: its element type code and its length."""

    element_type: int
    length: int


@dataclass(frozen=True)
class GgufHeader:
    """A GGUF file's version, tensor count and metadata (arrays summarized)."""

    version: int
    tensor_count: int
    metadata: dict[str, Any]

    def text(self, key: str) -> str | None:
        """A string value, or None when the key is missing or not a string."""
        value = self.metadata.get(key)
        return value if isinstance(value, str) else None


class _Reader:
    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f = f
        self.size = size

    def take(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise GgufError("the header ends before its last key (truncated file)")
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.scalar("Q")
        if n > _MAX_STRING or n > self.size - self.f.tell():
            raise GgufError(f"a string of {n} bytes does not fit the file")
        return self.take(n).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.scalar("Q")
        if n > self.size - self.f.tell():
            raise GgufError(f"a string of {n} bytes does not fit the file")
        self.f.seek(n, 1)

    def value(self, type_code: int) -> Any:
        if type_code == _STRING:
            return self.string()
        if type_code == _ARRAY:
            element = self.scalar("I")
            length = self.scalar("Q")
            self.skip_array(element, length)
            return ArrayInfo(element, length)
        fmt = _SCALARS.get(type_code)
        if fmt is None:
            raise GgufError(f"unknown value type {type_code}")
        return self.scalar(fmt)

    def skip_array(self, element: int, length: int) -> None:
        if element == _STRING:
            if length > self.size:
                raise GgufError(f"an array of {length} strings does not fit the file")
            for _ in range(length):
                self.skip_string()
            return
        fmt = _SCALARS.get(element)
        if fmt is None:
            raise GgufError(f"unknown array element type {element}")
        nbytes = struct.calcsize(fmt) * length
        if nbytes > self.size - self.f.tell():
            raise GgufError(f"an array of {length} values does not fit the file")
        self.f.seek(nbytes, 1)


def read_gguf_header(path: Path) -> GgufHeader:
    """The header of the GGUF file at ``path``; raises GgufError or OSError."""
    with path.open("rb") as f:
        size = path.stat().st_size
        r = _Reader(f, size)
        if f.read(4) != GGUF_MAGIC:
            raise GgufError(f"{path} is not a GGUF file (wrong magic bytes)")
        version = r.scalar("I")
        if version not in (2, 3):
            raise GgufError(f"{path}: unsupported GGUF version {version}")
        tensors = r.scalar("Q")
        count = r.scalar("Q")
        if count > _MAX_KEYS:
            raise GgufError(f"{path}: {count} metadata keys is not plausible")
        metadata: dict[str, Any] = {}
        for _ in range(count):
            key = r.string()
            metadata[key] = r.value(r.scalar("I"))
    return GgufHeader(version=version, tensor_count=tensors, metadata=metadata)
