"""A capped command output summed up: tail, real line count, saved file."""

from __future__ import annotations

from hermes.frontends.common.output_view import OutputSummary, saved_path, summarize

CAPPED = (
    "1\n2\n3\n[... 19,898 bytes omitted; full output saved to /h/outputs/t1.log ...]\n"
    "4998\n4999\n5000\n[exit code 0]"
)


def test_a_capped_output_counts_what_streamed_and_names_the_file() -> None:
    summary = summarize(CAPPED, 3, streamed_lines=5000)
    assert summary == OutputSummary(
        ["4999", "5000", "[exit code 0]"], 4997, 19898, "/h/outputs/t1.log"
    )
    assert summary.more_line(" · enter") == (
        "… 4,997 more lines (19,898 bytes not kept in the result) · full output: "
        "/h/outputs/t1.log · enter"
    )


def test_without_a_live_count_the_result_is_counted() -> None:
    assert summarize(CAPPED, 3).hidden_lines == 4
    assert summarize("a\nb\n", 6) == OutputSummary(["a", "b"], 0, 0, "")
    assert summarize("a\nb\n", 6).more_line() == ""


def test_saved_path() -> None:
    note = "[... 5 bytes omitted; output saved to /x/y.log without its middle 3 bytes ...]"
    assert saved_path(note) == "/x/y.log"
    assert saved_path("no note here") == ""
