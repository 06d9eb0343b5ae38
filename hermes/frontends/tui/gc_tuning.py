"""Garbage collection tuned for a screen that must answer a key within milliseconds.

With CPython's defaults a full (generation 2) collection ran about once a second while a
reply streamed, each pausing the screen for 40-150 ms. So: everything loaded at start-up
is frozen out of the collector's sight, collections run less often (short-lived objects
are still freed at once by reference counting), and a full collection runs when the
session is idle.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 20, 50)


def tune() -> None:
    """Collect less often than the defaults (700, 10, 10)."""
    gc.set_threshold(*THRESHOLDS)


def freeze_loaded() -> None:
    """Move everything alive now (modules, the engine, tables) out of the collector's
    scans: call once, after start-up has loaded what the session needs."""
    gc.collect()
    gc.freeze()


def collect_idle() -> None:
    """A full collection, for a moment when nobody waits on the screen."""
    gc.collect()
