"""The first screen and the status line's places: workspace, git branch, endpoint, the
session to resume here, and the cost so far (no textual here).

Everything here is cheap: the branch is read from ``.git/HEAD`` (no ``git`` process),
the latest session is one indexed query.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hermes.frontends.common.format import age_label, one_line
from hermes.frontends.common.transcript import Entry
from hermes.store.sessions import SessionRecord, Store, StoreError

FIRST_KEYS = (
    ("Enter", "send"),
    ("Shift+Enter", "newline"),
    ("@path", "attach a file"),
    ("Shift+Tab", "approval mode"),
    ("Ctrl+F", "search"),
    ("Ctrl+T", "transcript"),
    ("Esc Esc", "edit a message"),
    ("/help", "more"),
)
"""The keys the first screen names."""


def short_path(path: str | Path, width: int = 40) -> str:
    """``path`` for a status line: ``~`` for the home folder, then its last parts."""
    text = str(path)
    home = str(Path.home())
    if text == home or text.startswith(home + os.sep):
        text = "~" + text[len(home) :]
    if len(text) <= width:
        return text
    parts = text.split(os.sep)
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + len(tail) + 3 > width:
            break
        tail = f"{part}{os.sep}{tail}"
    return "…" + os.sep + tail if len(tail) + 2 <= width else "…" + tail[-(width - 1) :]


def git_branch(workspace: str | Path) -> str:
    """The checked-out branch of the repository holding ``workspace`` (a short commit id
    when detached; "" outside a repository)."""
    folder = Path(workspace)
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        try:
            if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
                line = dot_git.read_text(encoding="utf-8").strip()
                if not line.startswith("gitdir:"):
                    return ""
                git_dir = Path(line.split(":", 1)[1].strip())
                dot_git = git_dir if git_dir.is_absolute() else candidate / git_dir
            elif not dot_git.is_dir():
                continue
            head = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return ""
        if head.startswith("ref: "):
            return head[5:].removeprefix("refs/heads/")
        return head[:8]
    return ""


def endpoint_label(base_url: str) -> str:
    """``api.openai.com`` or ``127.0.0.1:8080`` from a base URL."""
    parts = urlsplit(base_url)
    return parts.netloc or base_url


def resume_hint(
    store: Store, workspace: str | Path, exclude: str = "", now: float | None = None
) -> str:
    """``hermes --resume ID`` for the latest session with messages in ``workspace`` (not
    ``exclude``), with its title and age; "" when there is none."""
    try:
        found = store.list_sessions(workspace=str(workspace), limit=3, nonempty=True)
    except StoreError:
        return ""
    latest: SessionRecord | None = next((r for r in found if r.id != exclude), None)
    if latest is None:
        return ""
    when = age_label(latest.updated_at, time.time() if now is None else now)
    title = one_line(latest.title or "(untitled)", 40)
    return f"hermes --resume {latest.id}  ({title}, {when}) · or /resume"


@dataclass(frozen=True)
class Welcome:
    """What the first screen says."""

    workspace: str
    branch: str = ""
    model: str = ""
    endpoint: str = ""
    approval_mode: str = ""
    sandbox: str = ""
    resume: str = ""

    def rows(self) -> list[tuple[str, str]]:
        """``(label, value)`` rows, those not known yet left out."""
        where = self.workspace + (f"  ({self.branch})" if self.branch else "")
        rows = [("workspace", where)]
        if self.model:
            rows.append(("model", self.model + (f"  at {self.endpoint}" if self.endpoint else "")))
        if self.approval_mode:
            rows.append(("approvals", f"{self.approval_mode}  (Shift+Tab to change)"))
        if self.sandbox:
            rows.append(("sandbox", self.sandbox))
        if self.resume:
            rows.append(("last session", self.resume))
        return rows


@dataclass(eq=False)
class WelcomeEntry(Entry):
    """The first screen's block in the conversation (filled in as the session opens)."""

    welcome: Welcome = field(default_factory=lambda: Welcome(""))


def cost_label(
    prompt_tokens: int,
    completion_tokens: int,
    reported: float | None,
    pricing: dict[str, float] | None,
) -> str:
    """``$0.12``: what the endpoint reported, else tokens times ``model.pricing`` (USD per
    million), else "" (unknown, so not shown)."""
    if reported is not None:
        cost = reported
    elif pricing:
        cost = (
            prompt_tokens * pricing.get("input", 0.0)
            + completion_tokens * pricing.get("output", 0.0)
        ) / 1_000_000
    else:
        return ""
    return f"${cost:.4f}" if cost < 0.01 else f"${cost:.2f}"
