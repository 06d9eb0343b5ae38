"""Knobs of the TUI that tests and benchmarks turn (no textual here)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hermes.frontends.common.input_history import InputHistory


@dataclass
class AppOptions:
    """Knobs for tests and benchmarks: fixed clocks make snapshots deterministic."""

    clock: Callable[[], float] = time.monotonic
    now: Callable[[], float] = time.time
    # An approval takes keys only this long after it appeared AND after the last keystroke:
    # longer than the pauses of ordinary typing, so typed text never answers it.
    approval_arm_seconds: float = 0.75
    quit_window: float = 2.0
    cursor_blink: bool = True
    tune_gc: bool = True  # process-wide: off where many apps share a process (tests)
    history: InputHistory | None = None
    files: list[str] | None = field(default=None)
