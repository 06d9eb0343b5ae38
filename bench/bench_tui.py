"""Benchmark the TUI as a user meets it: a real ``hermes`` process in a pseudo-terminal.

Run: ``python bench/bench_tui.py [--runs 5] [--messages 10000] [--keys 60]``.

Measures, against the scripted model server on 127.0.0.1 and a fresh HERMES_HOME:

1. start-up: process start to the input box drawn on the terminal (median of runs);
2. keystroke latency: while the model streams ~200 tokens/s of Markdown, a key is
   written to the terminal every ~50 ms and the time until its echo reaches the screen
   is recorded (p50/p95/max);
3. resume: a stored 10,000-message session, process start to its last answer painted,
   and the process's RSS (VmRSS) once painted;
4. a long session (issue 17): on that 10,000-message session, process start to the first
   paint (the input box and the first screen drawn); RSS after each round of 250 PageUp
   then 250 PageDown (1,000 keys in all: flat after the first round means the window
   releases what it scrolls past); Ctrl+F and a query until its match count is drawn;
   and the search itself in-process over the whole session's transcript (cold: texts
   lowered for the first time; warm: cached).

Everything is end to end: Python start-up, imports, SQLite, the engine's replay and
Textual's rendering to a 120x40 terminal.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hermes.store.sessions import Store  # noqa: E402
from hermes.testing.scripted.server import ScriptedServer  # noqa: E402
from hermes.testing.scripted.types import ScriptedReply  # noqa: E402
from tests.frontends.tui.seed import long_session  # noqa: E402

COLS, ROWS = 120, 40
ANSI = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_].*?\x1b\\|\x1b."
)
READY_MARK = b"Message hermes"
CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_].*?\x1b\\|\x1b."
)
CURSOR_TO = re.compile(r"\x1b\[(\d*);?(\d*)H")
UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[PX^_].*)?")


class ScreenCells:
    """The characters on the terminal, cell by cell, as far as telling a key's echo
    needs: text and cursor moves (colours and modes are skipped). A key counts as echoed
    when its character is in the cells, not merely somewhere in the output: a repaint
    of an older frame (which shows the keys typed before) is no echo."""

    def __init__(self) -> None:
        import codecs

        self.watched = ""
        self.seen = 0  # cells holding ``watched`` now
        self.cells: dict[tuple[int, int], str] = {}
        self.row = self.col = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""  # a control sequence cut off at the end of a read

    def watch(self, char: str) -> None:
        """Count the cells holding ``char`` from now on."""
        self.watched = char
        self.seen = sum(1 for cell in self.cells.values() if cell == char)

    def feed(self, data: bytes) -> None:
        text = self._held + self._decoder.decode(data)
        last = text.rfind("\x1b")
        if last >= 0 and UNFINISHED.fullmatch(text, last):
            self._held, text = text[last:], text[:last]
        else:
            self._held = ""
        pos = 0
        for match in CONTROL.finditer(text):
            self._put(text[pos : match.start()])
            cursor = CURSOR_TO.fullmatch(match.group())
            if cursor:
                self.row = int(cursor.group(1) or 1) - 1
                self.col = int(cursor.group(2) or 1) - 1
            pos = match.end()
        self._put(text[pos:])

    def _put(self, text: str) -> None:
        for ch in text:
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row += 1
            elif ch >= " ":
                cell = (self.row, self.col)
                self.seen += (ch == self.watched) - (self.cells.get(cell) == self.watched)
                self.cells[cell] = ch
                self.col += 1


class Terminal:
    """A child process on a pseudo-terminal, and everything it has drawn."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        import fcntl
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True
        )
        os.close(slave)
        self.fd = master
        self.raw = bytearray()
        self.screen = ScreenCells()

    def read(self, timeout: float) -> bytes:
        """Bytes drawn within ``timeout`` seconds (b"" if none)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return b""
        self.raw += data
        self.screen.feed(data)
        return data

    def wait_for(self, mark: bytes, timeout: float = 30.0) -> float:
        """Seconds from process start until ``mark`` appears on screen (ANSI stripped)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.read(0.01)
            if mark in ANSI.sub(b"", bytes(self.raw)):
                return time.perf_counter() - self.started
        raise TimeoutError(f"{mark!r} never appeared; screen tail: {bytes(self.raw[-400:])!r}")

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def cpu_seconds(self) -> float:
        """User + system CPU time the child has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        try:
            self.write(b"\x03\x03")
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        os.close(self.fd)


def hermes_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    env.update(HERMES_HOME=str(home), TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
    return env


def hermes_args(server: ScriptedServer, workspace: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hermes",
        "--base-url",
        server.base_url,
        "-C",
        str(workspace),
        *extra,
    ]


def bench_startup(
    server: ScriptedServer, home: Path, workspace: Path, runs: int
) -> tuple[list[float], list[float]]:
    """Seconds from process start to the input drawn, and the CPU seconds used by then."""
    times, cpu = [], []
    for _ in range(runs):
        term = Terminal(hermes_args(server, workspace), hermes_env(home), workspace)
        try:
            times.append(term.wait_for(READY_MARK))
            cpu.append(term.cpu_seconds())
        finally:
            term.close()
    return times, cpu


STREAM_TEXT = (
    "Here is a walk through the change, step by step, with the code it needs.\n\n"
    "1. read the **configuration** and check every key\n"
    "2. build the `session` object and open the store\n\n"
    "```python\n"
    "def open_session(config, store):\n"
    "    record = store.create_session(config.workspace)\n"
    "    return Session(record, config)\n"
    "```\n\n"
    "Then the loop streams the model, commits each message and runs the tools.\n\n"
)


def bench_keystrokes(
    server: ScriptedServer, home: Path, workspace: Path, keys: int
) -> tuple[list[float], list[float], float, float]:
    """Latencies (ms) of keys typed while idle, and while ~200 tokens/s stream; the
    seconds measured and the share of one CPU hermes used meanwhile."""
    text = STREAM_TEXT * 40  # ~20,000 characters, ~5,000 tokens: ~25 s at 200 tokens/s
    # 4 characters ~ 1 token: 4-character chunks every 5 ms is ~200 tokens/s.
    server.add(ScriptedReply(text=text, chunk_size=4, chunk_delay_seconds=0.005))
    term = Terminal(hermes_args(server, workspace), hermes_env(home), workspace)
    try:
        term.wait_for(READY_MARK)
        time.sleep(1.0)  # let the engine finish loading behind the first frame
        idle = type_keys(term, keys // 2, "Y")
        term.write(b"\x15")  # Ctrl+U (the Y's typed idle may still go with the message)
        term.write(b"explain the change\r")
        term.wait_for(b"walk through the change")
        time.sleep(0.5)
        stream_start = time.perf_counter()
        cpu_start = term.cpu_seconds()
        latencies = type_keys(term, keys)
        elapsed = time.perf_counter() - stream_start
        cpu = (term.cpu_seconds() - cpu_start) / elapsed
    finally:
        term.close()
    return idle, latencies, elapsed, cpu


def type_keys(term: Terminal, keys: int, char: str = "Z") -> list[float]:
    """Type ``char`` every ~50 ms; milliseconds until each one is echoed on screen (one
    more ``char`` in the terminal's cells than before it)."""
    latencies: list[float] = []
    term.screen.watch(char)
    for _ in range(keys):
        for _ in range(100):  # take in what was drawn before the key
            if not term.read(0):
                break
        want = term.screen.seen + 1
        term.write(char.encode())
        sent = time.perf_counter()
        while True:
            term.read(0.002)
            if term.screen.seen >= want:
                latencies.append((time.perf_counter() - sent) * 1000)
                break
            if time.perf_counter() - sent > 5:
                latencies.append(5000.0)
                break
        time.sleep(0.05)
    return latencies


def bench_resume(
    server: ScriptedServer, home: Path, workspace: Path, messages: int, runs: int
) -> tuple[list[float], list[float], list[float]]:
    """Seconds from process start to the last answer painted, CPU seconds by then, RSS."""
    old = os.environ.get("HERMES_HOME")
    os.environ["HERMES_HOME"] = str(home)
    store = Store(home / "hermes.db")
    sid = long_session(store, workspace, messages, model="scripted-model")
    store.close()
    if old is None:
        del os.environ["HERMES_HOME"]
    else:
        os.environ["HERMES_HOME"] = old
    last = f"handler_{messages // 4 - 1}".encode()
    times, cpu, rss = [], [], []
    for _ in range(runs):
        term = Terminal(
            hermes_args(server, workspace, "--resume", sid), hermes_env(home), workspace
        )
        try:
            times.append(term.wait_for(last, timeout=60))
            cpu.append(term.cpu_seconds())
            time.sleep(0.3)
            rss.append(term.rss_mb())
        finally:
            term.close()
    return times, cpu, rss


PAGE_UP, PAGE_DOWN, CTRL_F = b"\x1b[5~", b"\x1b[6~", b"\x06"


def seeded_session(home: Path, workspace: Path, messages: int) -> str:
    """A stored session of ``messages`` messages in ``home``'s database; its id."""
    old = os.environ.get("HERMES_HOME")
    os.environ["HERMES_HOME"] = str(home)
    try:
        store = Store(home / "hermes.db")
        sid = long_session(store, workspace, messages, model="scripted-model")
        store.close()
    finally:
        if old is None:
            del os.environ["HERMES_HOME"]
        else:
            os.environ["HERMES_HOME"] = old
    return sid


def press_keys(term: Terminal, key: bytes, count: int, every: float = 0.03) -> None:
    """``count`` presses of ``key``, one every ``every`` seconds (a held key's repeat),
    draining what is drawn meanwhile."""
    for _ in range(count):
        term.write(key)
        term.read(every)


def settle(term: Terminal, seconds: float) -> None:
    """Let the app work ``seconds``, reading what it draws."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        term.read(0.02)


def bench_long_session(
    server: ScriptedServer, home: Path, workspace: Path, sid: str, messages: int, rounds: int
) -> tuple[float, float, list[float], float]:
    """First paint (s), last answer painted (s), RSS (MB) after each PageUp/PageDown
    round, and Ctrl+F + query until the match count is drawn (ms)."""
    last = f"handler_{messages // 4 - 1}".encode()
    term = Terminal(hermes_args(server, workspace, "--resume", sid), hermes_env(home), workspace)
    try:
        first = term.wait_for(READY_MARK, timeout=60)
        painted = term.wait_for(last, timeout=60)
        settle(term, 2.0)
        rss = [term.rss_mb()]
        for _ in range(rounds):
            press_keys(term, PAGE_UP, 250)
            settle(term, 3.0)
            press_keys(term, PAGE_DOWN, 250)
            settle(term, 4.0)
            rss.append(term.rss_mb())
        seen = len(term.raw)
        term.write(CTRL_F)
        settle(term, 0.5)
        seen = len(term.raw)
        sent = time.perf_counter()
        term.write(b"handler_1234(")
        mark = re.compile(rb"\d+ of \d+")
        while not mark.search(ANSI.sub(b"", bytes(term.raw[seen:]))):
            term.read(0.005)
            if time.perf_counter() - sent > 30:
                raise TimeoutError("the search never drew a match count")
        search_ms = (time.perf_counter() - sent) * 1000
    finally:
        term.close()
    return first, painted, rss, search_ms


def bench_search(home: Path, sid: str, query: str = "handler_1234(") -> tuple[float, float, int]:
    """In-process: the search over every entry of the replayed session, cold and warm
    (ms), and the number of entries."""
    from hermes.engine.view import replay_events
    from hermes.frontends.common.search import ConversationSearch
    from hermes.frontends.common.transcript import Transcript

    store = Store(home / "hermes.db")
    try:
        events = replay_events(store.load_messages(sid), store.call_states(sid))
    finally:
        store.close()
    transcript = Transcript()
    for event in events:
        transcript.apply(event)
    search = ConversationSearch()
    started = time.perf_counter()
    hits = search.find(transcript.entries, query)
    cold = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    search.find(transcript.entries, "handler_17")
    warm = (time.perf_counter() - started) * 1000
    assert hits, "the query should match"
    return cold, warm, len(transcript.entries)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2, help="PageUp/PageDown rounds")
    parser.add_argument(
        "--only", choices=("startup", "keys", "resume", "long"), help="run one part only"
    )
    opts = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.machine()}; load average {os.getloadavg()[0]:.1f} (with other work on "
        "the CPUs the wall times stretch; the CPU figures do not)"
    )
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer() as server:
        home, workspace = Path(tmp) / "home", Path(tmp) / "ws"
        home.mkdir()
        workspace.mkdir()
        if opts.only in (None, "long"):
            sid = seeded_session(home, workspace, opts.messages)
            first, painted, rss, search_ms = bench_long_session(
                server, home, workspace, sid, opts.messages, opts.rounds
            )
            print(
                f"{opts.messages:,}-message session: first paint {ms(first)}, last answer "
                f"painted {ms(painted)}; RSS painted {rss[0]:.0f} MB, after each round of "
                f"250 PageUp + 250 PageDown: "
                + ", ".join(f"{r:.0f} MB" for r in rss[1:])
                + f"; Ctrl+F + query to the match count drawn: {search_ms:.0f} ms"
            )
            cold, warm, n = bench_search(home, sid)
            print(
                f"search over all {n:,} entries in-process: cold {cold:.1f} ms, warm {warm:.1f} ms"
            )
            if opts.only == "long":
                return
        if opts.only == "keys":
            idle, typed, elapsed, cpu = bench_keystrokes(server, home, workspace, opts.keys)
            print(
                f"keystroke to screen during a 200 tokens/s stream: p50 {pct(typed, 0.5):.1f} ms, "
                f"p95 {pct(typed, 0.95):.1f} ms, max {max(typed):.1f} ms "
                f"({len(typed)} keys over {elapsed:.1f} s; hermes used {cpu:.0%} of a CPU)"
            )
            return
        startup, startup_cpu = bench_startup(server, home, workspace, opts.runs)
        print(
            f"start-up to input ready: median {ms(statistics.median(startup))} "
            f"(min {ms(min(startup))}, max {ms(max(startup))}; {opts.runs} runs); "
            f"CPU used by then: median {ms(statistics.median(startup_cpu))}"
        )
        idle, typed, elapsed, cpu = bench_keystrokes(server, home, workspace, opts.keys)
        print(
            f"keystroke to screen, idle: p50 {pct(idle, 0.5):.1f} ms, p95 {pct(idle, 0.95):.1f} ms"
        )
        print(
            f"keystroke to screen during a 200 tokens/s stream: p50 {pct(typed, 0.5):.1f} ms, "
            f"p95 {pct(typed, 0.95):.1f} ms, max {max(typed):.1f} ms "
            f"({len(typed)} keys over {elapsed:.1f} s; hermes used {cpu:.0%} of a CPU)"
        )
        times, resume_cpu, rss = bench_resume(
            server, home, workspace, opts.messages, max(1, opts.runs // 2)
        )
        print(
            f"resume {opts.messages:,} messages to painted: median {ms(statistics.median(times))} "
            f"(max {ms(max(times))}); CPU used by then: median "
            f"{ms(statistics.median(resume_cpu))}; RSS {max(rss):.0f} MB"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
