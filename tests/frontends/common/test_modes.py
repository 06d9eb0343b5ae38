"""The approval modes Shift+Tab steps through."""

from __future__ import annotations

from hermes.frontends.common.modes import approval_cycle, next_mode


def test_auto_only_with_a_sandbox_and_never_yolo() -> None:
    assert "auto" in approval_cycle(True) and "auto" not in approval_cycle(False)
    assert "yolo" not in approval_cycle(True) + approval_cycle(False)
    assert approval_cycle(False)[:2] == ("ask", "auto-edit")


def test_next_mode_goes_round_and_leaves_yolo_for_ask() -> None:
    cycle = approval_cycle(True)
    walked = [cycle[0]]
    for _ in range(len(cycle)):
        walked.append(next_mode(walked[-1], True))
    assert walked == [*cycle, cycle[0]]
    assert next_mode("yolo", True) == "ask"
