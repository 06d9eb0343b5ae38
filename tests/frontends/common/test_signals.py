"""SignalStop: the stop signals reach the loop once, and are given back afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

from hermes.frontends.common.signals import STOP_SIGNALS, SignalStop, exit_code, signal_name


async def test_the_first_stop_signal_is_passed_on_and_the_handlers_given_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    got: list[int] = []
    with SignalStop(got.append) as stop:
        for sig in STOP_SIGNALS:
            assert signal.getsignal(sig) not in (signal.SIG_DFL, signal.SIG_IGN)
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)  # the stop is under way: not passed on again
        for _ in range(100):
            await asyncio.sleep(0.01)
            if got:
                break
        await asyncio.sleep(0.05)
    assert got == [signal.SIGHUP]
    assert (stop.received, stop.exit_code) == (signal.SIGHUP, 129)
    assert {sig: signal.getsignal(sig) for sig in STOP_SIGNALS} == before


def test_names_and_codes() -> None:
    assert [signal_name(s) for s in STOP_SIGNALS] == ["SIGTERM", "SIGHUP", "SIGQUIT"]
    assert [exit_code(s) for s in STOP_SIGNALS] == [143, 129, 131]
    assert SignalStop(lambda n: None).exit_code is None


def test_outside_the_main_thread_it_does_nothing() -> None:
    result: list[object] = []

    def worker() -> None:
        async def body() -> None:
            with SignalStop(lambda n: None) as stop:
                result.append(stop.received)

        asyncio.run(body())

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert result == [None]
