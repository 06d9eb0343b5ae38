"""Regenerate the shipped BPE rank files from the npm package ``js-tiktoken``.

hermes never downloads anything at run time, so the ``o200k_base`` and
``cl100k_base`` rank tables are shipped in this directory in tiktoken's own
``.tiktoken`` format (one ``<base64 token> <rank>`` line per token, in rank
order). They are rebuilt from js-tiktoken, which carries the same tables in a
compact form (``dist/ranks/<name>.cjs``: ``module.exports = {..., "bpe_ranks":
"! 0 tok0 tok1 ..."}`` where each line is ``<label> <first rank> <tokens...>``).
The output must hash to exactly what tiktoken itself expects, or nothing is written.

Usage::

    python -m hermes.data.build_rank_files                  # runs `npm pack js-tiktoken`
    python -m hermes.data.build_rank_files --from DIR       # DIR: unpacked js-tiktoken package
    python -m hermes.data.build_rank_files --check          # only verify the shipped files
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hermes.tokens import EXPECTED_SHA256

DATA_DIR = Path(__file__).resolve().parent
NPM_PACKAGE = "js-tiktoken@1.0.21"  # any version works; the hash check decides
_EXPORT_PREFIX = "module.exports = "


def convert_js_ranks(source: str) -> bytes:
    """Turn a js-tiktoken ``ranks/<name>.cjs`` module into ``.tiktoken`` file bytes."""
    body = source.strip()
    if not body.startswith(_EXPORT_PREFIX):
        raise ValueError("not a js-tiktoken CommonJS rank module")
    data = json.loads(body[len(_EXPORT_PREFIX) :].rstrip(";"))
    ranks: dict[str, int] = {}
    for line in data["bpe_ranks"].split("\n"):
        if not line:
            continue
        _label, offset, *tokens = line.split(" ")
        start = int(offset)
        for i, token in enumerate(tokens):
            ranks[token] = start + i
    ordered = sorted(ranks.items(), key=lambda item: item[1])
    if [rank for _, rank in ordered] != list(range(len(ordered))):
        raise ValueError("ranks are not a contiguous 0..n-1 sequence")
    return "".join(f"{token} {rank}\n" for token, rank in ordered).encode("ascii")


def _find_rank_module(package_dir: Path, name: str) -> Path:
    for candidate in (
        package_dir / "dist" / "ranks" / f"{name}.cjs",
        package_dir / "package" / "dist" / "ranks" / f"{name}.cjs",
        package_dir / "ranks" / f"{name}.cjs",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no ranks/{name}.cjs under {package_dir}")


def _npm_pack(workdir: Path) -> Path:
    """Fetch and unpack js-tiktoken with ``npm pack`` (the only network use, build time only)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found; pass --from DIR with an unpacked js-tiktoken")
    out = subprocess.run(
        [npm, "pack", NPM_PACKAGE, "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    tarball = workdir / out.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(package_dir: Path, out_dir: Path = DATA_DIR) -> dict[str, str]:
    """Convert every expected rank table; write each only if its hash matches."""
    written: dict[str, str] = {}
    for name, expected in EXPECTED_SHA256.items():
        blob = convert_js_ranks(_find_rank_module(package_dir, name).read_text("utf-8"))
        digest = hashlib.sha256(blob).hexdigest()
        if digest != expected:
            raise ValueError(f"{name}: sha256 {digest} != tiktoken's expected {expected}")
        target = out_dir / f"{name}.tiktoken"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(blob)
        tmp.replace(target)
        written[name] = digest
    return written


def check(out_dir: Path = DATA_DIR) -> bool:
    """Verify the shipped files; print one line per file. True when all match."""
    ok = True
    for name, expected in EXPECTED_SHA256.items():
        path = out_dir / f"{name}.tiktoken"
        digest = sha256_file(path) if path.is_file() else "missing"
        good = digest == expected
        ok = ok and good
        print(f"{'ok ' if good else 'BAD'} {name}: {digest}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="unpacked js-tiktoken dir")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output directory")
    parser.add_argument("--check", action="store_true", help="only verify shipped files")
    args = parser.parse_args(argv)
    if args.check:
        return 0 if check(args.out) else 1
    try:
        if args.source is not None:
            written = build(args.source, args.out)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                written = build(_npm_pack(Path(tmp)), args.out)
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, digest in written.items():
        print(f"wrote {name}.tiktoken sha256={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
