"""``@path`` attachments: what is attached, capped, and taken apart again."""

from __future__ import annotations

from pathlib import Path

from hermes.frontends.common.attachments import (
    MAX_FILE_LINES,
    Chip,
    Expanded,
    expand,
    mentions,
    split,
)


def test_mentions_are_words_starting_with_at() -> None:
    assert mentions("see @a.py, @dir/ and me@host.com or @a.py again") == ["a.py", "dir/"]


def test_a_file_and_a_folder_are_attached_and_split_back(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("x = 1\ny = 2\n")
    (tmp_path / "src" / "sub").mkdir()
    out = expand("look at @src/app.py and @src/", tmp_path)
    assert out.chips == (Chip("src/app.py", "file", "2 lines"), Chip("src/", "folder", "2 entries"))
    assert out.problems == ()
    assert out.text == (
        "look at @src/app.py and @src/"
        '\n\n<attachment path="src/app.py" kind="file" size="2 lines">\nx = 1\ny = 2\n</attachment>'
        '\n\n<attachment path="src/" kind="folder" size="2 entries">\nsub/\napp.py\n</attachment>'
    )
    assert split(out.text) == ("look at @src/app.py and @src/", out.chips)


def test_words_that_name_nothing_stay_text(tmp_path: Path) -> None:
    assert expand("ping @alice about it", tmp_path) == Expanded("ping @alice about it")
    assert split('a message\n\nwith <attachment path="x"> in it') == (
        'a message\n\nwith <attachment path="x"> in it',
        (),
    )


def test_a_long_file_is_capped_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("".join(f"line {i}\n" for i in range(3000)))
    out = expand("@big.txt", tmp_path)
    assert out.chips == (Chip("big.txt", "file", f"{MAX_FILE_LINES:,} of 3,000 lines"),)
    assert f"line {MAX_FILE_LINES - 1}\n[... 2,000 more lines of this file not attached" in out.text
    assert f"line {MAX_FILE_LINES}\n" not in out.text


def test_binary_files_are_not_attached(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    out = expand("@blob.bin", tmp_path)
    assert out == Expanded("@blob.bin", (), ("@blob.bin: a binary file; not attached",))
