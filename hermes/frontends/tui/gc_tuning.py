"""Garbage collection tuned for a screen that must answer a key within milliseconds.

With CPython's defaults a full (generation 2) collection ran about once a second while a
reply streamed, each pausing the screen for 40-150 ms. So: everything loaded at start-up
is frozen out of the collector's sight, full collections are rare (short-lived objects
are still freed at once by reference counting), and a full collection runs when the
session is idle. The youngest generation stays small: its collection scans all of it, and
at 20,000 objects each pause was 10-30 ms, enough to hold up a key; at 3,000 it is about
a millisecond (and all of them together cost less).
"""

from __future__ import annotations

import gc

THRESHOLDS = (3_000, 20, 100)


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
