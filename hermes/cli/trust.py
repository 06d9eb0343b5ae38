"""``hermes trust [PATH]``, ``hermes trust list [--json]``, ``hermes trust revoke PATH``:
which folders' own ``.hermes`` config hermes applies in full.

Trusting records the folder's real path and the hash of its ``.hermes/config.yaml``,
``.hermes/commands/`` and ``.hermes/agents/`` as they are now; any later change makes
the folder untrusted again (the next interactive start asks). A folder named ``list``
or ``revoke`` is given as ``./list``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hermes.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ago, err


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``trust`` command."""
    parser = subparsers.add_parser(
        "trust",
        help="trust a folder's .hermes config; list or revoke trusted folders",
        usage="hermes trust [PATH] | hermes trust list [--json] | hermes trust revoke PATH",
        description="Until you trust a folder, its own .hermes/config.yaml may only tighten "
        "what hermes does: settings that loosen approvals, start processes (MCP servers), "
        "or change where requests and credentials go are ignored. 'hermes trust PATH' "
        "(default: .) trusts the folder as its files are now; a change asks again.",
    )
    parser.add_argument("target", nargs="?", metavar="PATH", help="the folder (default: .)")
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="with list: one JSON array")
    parser.set_defaults(func=cmd_trust)


def cmd_trust(args: argparse.Namespace) -> int:
    """Dispatch ``hermes trust``."""
    from hermes.config import ConfigError
    from hermes.trust.store import TrustError

    target, path = args.target, args.path
    try:
        if target == "list":
            if path is not None:
                err("'hermes trust list' takes no folder")
                return EXIT_USAGE
            return _list(args.json)
        if target == "revoke":
            if path is None:
                err("'hermes trust revoke' needs the folder to forget")
                return EXIT_USAGE
            return _revoke(Path(path))
        if path is not None:
            err("trust one folder at a time: hermes trust [PATH]")
            return EXIT_USAGE
        return _trust(Path(target or "."))
    except ConfigError as exc:
        err(f"{exc} (fix the config before trusting the folder)")
        return EXIT_USAGE
    except TrustError as exc:
        err(str(exc))
        return EXIT_FAILED


def _trust(folder: Path) -> int:
    from hermes.trust.store import TrustStore
    from hermes.trust.workspace import load_workspace

    if not folder.expanduser().is_dir():
        err(f"{folder} is not a directory")
        return EXIT_USAGE
    loaded = load_workspace(folder.expanduser())  # what it changes, decided untrusted
    material = loaded.material
    TrustStore().trust(material.folder, material.digest)
    print(f"trusted {material.folder} (as its .hermes files are now; a change asks again)")
    question = loaded.question
    if question is None:
        print("  its config changes nothing that needed trust")
        return EXIT_OK
    print("  now applies:")
    for line in question.lines():
        print(f"    {line}")
    return EXIT_OK


def _state(folder: str, digest: str) -> str:
    from hermes.config import ConfigError
    from hermes.trust.material import read_material

    if not Path(folder).is_dir():
        return "missing"
    try:
        return "trusted" if read_material(Path(folder)).digest == digest else "changed"
    except ConfigError:
        return "unreadable"


_STATE_NOTES = {
    "trusted": "",
    "changed": "  (changed since: untrusted until trusted again)",
    "missing": "  (the folder is gone)",
    "unreadable": "  (its config cannot be read)",
}


def _list(as_json: bool) -> int:
    from hermes.trust.store import TrustStore

    records = TrustStore().records()
    rows = [(r, _state(r.folder, r.digest)) for r in records]
    if as_json:
        out = [
            {"folder": r.folder, "digest": r.digest, "trusted_at": r.trusted_at, "state": state}
            for r, state in rows
        ]
        print(json.dumps(out, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("no trusted folders (hermes trust [PATH] trusts one)")
    for r, state in rows:
        print(f"{state:10}  {ago(r.trusted_at):>9}  {r.folder}{_STATE_NOTES[state]}")
    return EXIT_OK


def _revoke(path: Path) -> int:
    from hermes.trust.material import real_folder
    from hermes.trust.store import TrustStore

    store = TrustStore()
    candidates = [real_folder(path), path.expanduser().absolute()]
    for folder in candidates:
        record = store.revoke(folder)
        if record is not None:
            print(f"revoked trust in {record.folder}")
            return EXIT_OK
    err(f"{candidates[0]} is not a trusted folder (see 'hermes trust list')")
    return EXIT_FAILED
