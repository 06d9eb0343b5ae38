"""Pack files of the shadow repository, read and written in process.

Writing: the objects of one checkpoint (a blob, the trees on its path, the commit) go
into one small pack, so making them durable costs two fsyncs instead of one per object.
A big workspace scan stores its blobs in one pack too (``core.bigFileThreshold=1`` makes
git stream them there instead of writing thousands of loose files). Packs are merged
now and then (:func:`should_repack`).

Reading: whole objects are read straight from the ``.pack`` by way of the ``.idx`` (v2).
A deltified object (only a manual ``git gc`` makes those) returns None, and the caller
asks git.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from bisect import bisect_left
from collections.abc import Mapping
from pathlib import Path

from hermes.durable import write_atomic

_KINDS = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
_CODES = {name: code for code, name in _KINDS.items()}
REPACK_AFTER = 64
"""Merge the packs into one when there are more than this many."""


class _Index:
    """One ``.idx`` (version 2): sorted object ids and their offsets in the ``.pack``."""

    def __init__(self, idx: Path) -> None:
        data = idx.read_bytes()
        if data[:8] != b"\xfftOc\x00\x00\x00\x02":
            raise ValueError(f"{idx}: not a version 2 pack index")
        count = struct.unpack(">I", data[8 + 255 * 4 : 8 + 256 * 4])[0]
        names_at = 8 + 256 * 4
        self.names = [data[names_at + 20 * i : names_at + 20 * (i + 1)] for i in range(count)]
        offsets_at = names_at + 24 * count  # names, then 4-byte CRCs
        self._small = struct.unpack(f">{count}I", data[offsets_at : offsets_at + 4 * count])
        self._large_at = offsets_at + 4 * count
        self._data = data
        self.pack = idx.with_suffix(".pack")

    def offset(self, sha: bytes) -> int | None:
        i = bisect_left(self.names, sha)
        if i == len(self.names) or self.names[i] != sha:
            return None
        off = self._small[i]
        if off & 0x80000000:
            at = self._large_at + 8 * (off & 0x7FFFFFFF)
            return int(struct.unpack(">Q", self._data[at : at + 8])[0])
        return off


class PackReader:
    """Whole (non-delta) objects from every pack under ``objects/pack``."""

    def __init__(self, objects: Path) -> None:
        self._dir = objects / "pack"
        self._indexes: dict[Path, _Index] = {}

    def _refresh(self) -> None:
        present = set(self._dir.glob("*.idx")) if self._dir.is_dir() else set()
        for gone in set(self._indexes) - present:  # merged away by a repack
            del self._indexes[gone]
        for idx in present - set(self._indexes):
            try:
                self._indexes[idx] = _Index(idx)
            except (OSError, ValueError, struct.error):
                continue

    def _find(self, raw: bytes) -> tuple[_Index, int] | None:
        for index in list(self._indexes.values()):
            offset = index.offset(raw)
            if offset is not None:
                return index, offset
        return None

    def contains(self, sha: str) -> bool:
        """Whether a pack holds ``sha`` (as last seen; a miss rescans the directory)."""
        raw = bytes.fromhex(sha)
        if self._find(raw) is None:
            self._refresh()
        return self._find(raw) is not None

    def read(self, sha: str) -> tuple[str, bytes] | None:
        """``(kind, body)`` of ``sha`` if a pack holds it whole; None otherwise."""
        raw = bytes.fromhex(sha)
        for attempt in range(2):
            found = self._find(raw)
            if found is not None:
                try:
                    return _read_at(found[0].pack, found[1])
                except FileNotFoundError:
                    if attempt:
                        raise
            self._refresh()
        return None


def _read_at(pack: Path, offset: int) -> tuple[str, bytes] | None:
    with open(pack, "rb") as f:
        f.seek(offset)
        head = f.read(32)
        byte = head[0]
        kind = (byte >> 4) & 7
        size = byte & 15
        shift, i = 4, 1
        while byte & 0x80:
            byte = head[i]
            size |= (byte & 0x7F) << shift
            shift += 7
            i += 1
        if kind not in _KINDS:
            return None  # a delta: let git resolve it
        f.seek(offset + i)
        inflate = zlib.decompressobj()
        out = bytearray()
        while len(out) < size and not inflate.eof:
            chunk = f.read(max(65536, size - len(out)))
            if not chunk:
                break
            out += inflate.decompress(chunk)
        if len(out) != size:
            raise ValueError(f"{pack}: object at {offset} is truncated")
        return _KINDS[kind], bytes(out)


def _header(kind: str, size: int) -> bytes:
    out = bytearray()
    byte = (_CODES[kind] << 4) | (size & 15)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def write_pack(objects_dir: Path, objects: Mapping[str, tuple[str, bytes]]) -> Path:
    """Store ``{sha: (kind, body)}`` as one pack + index (fsynced); returns the index."""
    pack = bytearray(b"PACK" + struct.pack(">II", 2, len(objects)))
    where: dict[bytes, tuple[int, int]] = {}
    for sha, (kind, body) in objects.items():
        record = _header(kind, len(body)) + zlib.compress(body, 1)
        where[bytes.fromhex(sha)] = (len(pack), zlib.crc32(record))
        pack += record
    checksum = hashlib.sha1(pack, usedforsecurity=False).digest()
    pack += checksum
    names = sorted(where)
    fanout = [0] * 256
    for name in names:
        fanout[name[0]] += 1
    total = 0
    for i in range(256):
        total += fanout[i]
        fanout[i] = total
    small: list[int] = []
    large: list[int] = []
    for name in names:
        offset = where[name][0]
        if offset < 0x80000000:
            small.append(offset)
        else:
            small.append(0x80000000 | len(large))
            large.append(offset)
    idx = bytearray(b"\xfftOc" + struct.pack(">I", 2))
    idx += struct.pack(">256I", *fanout)
    idx += b"".join(names)
    idx += struct.pack(f">{len(names)}I", *(where[n][1] for n in names))
    idx += struct.pack(f">{len(names)}I", *small)
    idx += struct.pack(f">{len(large)}Q", *large)
    idx += checksum
    idx += hashlib.sha1(idx, usedforsecurity=False).digest()
    directory = objects_dir / "pack"
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"pack-{checksum.hex()}"
    write_atomic(
        directory / f"{stem}.pack", bytes(pack), mode=0o444
    )  # the pack first, then its index
    write_atomic(directory / f"{stem}.idx", bytes(idx), mode=0o444)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return directory / f"{stem}.idx"


def should_repack(objects_dir: Path) -> bool:
    """Whether the packs are many enough to be merged (``git repack -a -d``)."""
    directory = objects_dir / "pack"
    return directory.is_dir() and sum(1 for _ in directory.glob("*.idx")) > REPACK_AFTER
