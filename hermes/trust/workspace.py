"""Loading a workspace's config with trust decided: read and hash the folder's content
once, look the hash up, and let :mod:`hermes.config` leave out what an untrusted folder
may not change. What was left out becomes a :class:`TrustQuestion` for the user."""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hermes.config import ConfigError, ConfigReport, IgnoredSetting, Overrides, load_config_report
from hermes.trust.material import WorkspaceMaterial, read_material
from hermes.trust.store import TrustError, TrustRecord, TrustStore

_KEYS_IN_LINE = 4


@dataclass(frozen=True)
class TrustQuestion:
    """What an untrusted folder's config would change; answering yes trusts ``folder``
    for content ``digest`` (and nothing else)."""

    folder: Path
    digest: str
    config_file: Path
    ignored: tuple[IgnoredSetting, ...]

    @property
    def key(self) -> tuple[Path, str]:
        """What an answer is about: this folder with this content."""
        return self.folder, self.digest

    def headline(self) -> str:
        """The question's first line."""
        return (
            f"{self.config_file} would change what hermes does, and you have not trusted "
            "this folder:"
        )

    def lines(self) -> list[str]:
        """One line per setting it would change."""
        return [item.describe() for item in self.ignored]

    def trust_command(self) -> str:
        """The command that trusts the folder."""
        import shlex  # only when it is shown

        return f"hermes trust {shlex.quote(str(self.folder))}"

    def notice(self) -> str:
        """One line for a run nobody can ask (headless): what is ignored and how to trust."""
        keys = [item.key for item in self.ignored]
        shown = ", ".join(keys[:_KEYS_IN_LINE])
        if len(keys) > _KEYS_IN_LINE:
            shown += f" and {len(keys) - _KEYS_IN_LINE} more"
        return (
            f"ignoring {shown} from {self.config_file}: this folder is not trusted; "
            f"to use them run '{self.trust_command()}' or pass --trust-workspace"
        )


@dataclass(frozen=True)
class LoadedWorkspace:
    """A workspace's effective config and the content it was decided on."""

    report: ConfigReport
    material: WorkspaceMaterial

    @property
    def question(self) -> TrustQuestion | None:
        """What to ask the user, or None when nothing was left out."""
        r = self.report
        if r.trusted or not r.ignored:
            return None
        return TrustQuestion(
            self.material.folder, self.material.digest, r.workspace_file, r.ignored
        )


def load_workspace(
    workspace: Path,
    flags: Overrides | None = None,
    env: typing.Mapping[str, str] | None = None,
    *,
    assume_trusted: bool = False,
    store: TrustStore | None = None,
) -> LoadedWorkspace:
    """The config for ``workspace``, its own config file applied in full only when the
    folder is trusted for its current content (or ``assume_trusted``: --trust-workspace).
    Raises ConfigError."""
    material = read_material(workspace)
    trusted = assume_trusted or (store or TrustStore()).is_trusted(material.folder, material.digest)
    report = load_config_report(workspace, flags, env, layer=material.layer(trusted))
    return LoadedWorkspace(report, material)


def trust_folder(folder: Path, store: TrustStore | None = None) -> TrustRecord:
    """Trust ``folder`` for its content now; raises TrustError or ConfigError."""
    material = read_material(folder)
    return (store or TrustStore()).trust(material.folder, material.digest)


def trust_answer(question: TrustQuestion, store: TrustStore | None = None) -> TrustRecord:
    """Trust the folder a question was about, for the content it showed (if the content
    has changed since, the next start asks again)."""
    return (store or TrustStore()).trust(question.folder, question.digest)


@contextlib.contextmanager
def keeping_trust(workspace: Path, store: TrustStore | None = None) -> Iterator[None]:
    """Around hermes' own change of a workspace's config on the user's word (an "always"
    answer saved by ``approvals.persist``, a rule revoked): if the folder was trusted for
    its content before, or that content needed no trust, it is trusted for the content
    after. Otherwise nothing changes: an untrusted folder stays untrusted."""
    store = store or TrustStore()
    try:
        before = load_workspace(workspace, env={}, store=store)  # env: nothing hides a key
        keep = before.report.trusted or not before.report.ignored
    except ConfigError:
        keep = False
    yield
    if keep:
        with contextlib.suppress(ConfigError, TrustError):  # not recorded: it asks again
            after = read_material(workspace)
            store.trust(after.folder, after.digest)
