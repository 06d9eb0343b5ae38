"""Low-level shell text handling for :mod:`hermes.safety.shell.analyze`.

Pre-parse checks on the raw text, the lazily built tree-sitter parser, and the
resolution of one bash word node to its value after quote removal. Pure functions,
no I/O.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_COMMAND_CHARS = 10_000

_parser: Any = None

_ASCII_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
# A backslash-newline glues the two sides into one word in bash, but tree-sitter
# treats it as a word break; between two non-blank characters the two disagree.
_CONTINUATION = re.compile(r"\\\n")
# tree-sitter-bash drops an escaped blank that starts a token; bash keeps it in the word.
_LEADING_ESCAPED_BLANK = re.compile(r"(?:^|[\s;|&()'\"])\\ ")
_CONTROL_NAMES = {"\r": "carriage return \\r", "\t": "tab", "\x1b": "escape", "\x00": "NUL"}
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\ufeff\u2060")


def get_parser() -> Any:
    """The shared tree-sitter bash parser, built on first use."""
    global _parser
    if _parser is None:
        import tree_sitter_bash
        from tree_sitter import Language, Parser

        _parser = Parser(Language(tree_sitter_bash.language()))
    return _parser


def precheck(command: str) -> str | None:
    """Why the raw text is refused before parsing, or None when it may be parsed."""
    if len(command) > MAX_COMMAND_CHARS:
        return f"command is too long ({len(command)} characters)"
    m = _ASCII_CONTROL.search(command)
    if m:
        ch = m.group()
        name = _CONTROL_NAMES.get(ch, f"U+{ord(ch):04X}")
        return f"control character ({name}) in the command"
    if not command.isascii():
        for ch in command:
            if ch.isascii():
                continue
            problem = _non_ascii_problem(ch)
            if problem:
                return problem
    if "\\\n" in command and _joining_continuation(command):
        return "line continuation inside a word"
    if "\\ " in command and _LEADING_ESCAPED_BLANK.search(command):
        return "escaped space at the start of a word"
    return None


def _joining_continuation(command: str) -> bool:
    """Whether a backslash-newline glues two words together in bash.

    tree-sitter-bash treats a continuation as a word break; bash removes it, so the
    two only agree when a real (unescaped) blank sits on one side of it.
    """
    for m in _CONTINUATION.finditer(command):
        i = m.start()
        before = command[i - 1] if i else " "
        escaped = i >= 2 and command[i - 2] == "\\"
        after = command[i + 2] if i + 2 < len(command) else " "
        if (before in " \n" and not escaped) or after in " \n":
            continue
        return True
    return False


def _non_ascii_problem(ch: str) -> str | None:
    code = f"U+{ord(ch):04X}"
    if ch in _BIDI:
        return f"bidirectional control character ({code}) in the command"
    if ch in _ZERO_WIDTH:
        return f"zero-width character ({code}) in the command"
    cat = unicodedata.category(ch)
    if ch.isspace() or cat in ("Zs", "Zl", "Zp"):
        return f"non-ASCII whitespace ({code}) in the command"
    if cat in ("Cc", "Cf", "Co", "Cs", "Cn"):
        return f"invisible or control character ({code}) in the command"
    return None


@dataclass(frozen=True)
class Word:
    """One shell word: its value after quote removal and why it is not plain, if so."""

    value: str
    problem: str | None = None


_GLOB = frozenset("*?[{}")
_WORD_BREAKERS = frozenset(" \t\n;&|<>()'\"")
_DISAGREE = "the parser and bash may read this word differently"
_DQ_ESCAPABLE = frozenset('$`"\\')
_EXPANSION_PROBLEMS = {
    "simple_expansion": "variable expansion",
    "expansion": "variable expansion",
    "command_substitution": "command substitution $(...)",
    "process_substitution": "process substitution",
    "arithmetic_expansion": "arithmetic expansion $((...))",
    "brace_expression": "brace expansion",
    "translated_string": 'locale string $"..."',
}


def node_text(node: Any) -> str:
    """The source text of a node."""
    return bytes(node.text).decode("utf-8", "replace")


def resolve_word(node: Any) -> Word:
    """The value of a word node after quote removal, with the first problem found."""
    kind = node.type
    text = node_text(node)
    if kind == "word":
        return _unquoted(text)
    if kind == "number":
        return _unquoted(text)
    if kind == "raw_string":
        if len(text) < 2 or text[0] != "'" or text[-1] != "'" or "'" in text[1:-1]:
            return Word(text, _DISAGREE)
        return Word(text[1:-1])
    if kind == "string":
        return _double_quoted(node)
    if kind == "ansi_c_string":
        if _quote_end(text, 2, "'") != len(text):
            return Word(text, _DISAGREE)
        value = decode_ansi_c(text[2:-1])
        if value is None:
            return Word(text, "unsupported ANSI-C string")
        return Word(value)
    if kind == "concatenation":
        parts = [resolve_word(c) for c in node.children]
        problem = next((p.problem for p in parts if p.problem), None)
        if any(a.end_byte != b.start_byte for a, b in itertools.pairwise(node.children)):
            problem = problem or f"ambiguous word boundary in {text[:40]}"
        if problem and " in " in problem and problem.startswith(("unquoted", "tilde")):
            problem = f"{problem.partition(' in ')[0]} in {text[:40]}"
        return Word("".join(p.value for p in parts), problem)
    return Word(text, _expansion_problem(node))


def _expansion_problem(node: Any) -> str:
    kind = node.type
    if kind == "command_substitution" and node_text(node).startswith("`"):
        return "command substitution `...`"
    if kind in ("simple_expansion", "expansion"):
        return f"variable expansion {node_text(node)[:40]}"
    return _EXPANSION_PROBLEMS.get(kind, f"shell expansion ({kind})")


def _unquoted(text: str) -> Word:
    out: list[str] = []
    problem: str | None = None
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 < n:
                if text[i + 1] != "\n":
                    out.append(text[i + 1])
                i += 2
                continue
            out.append(ch)
            i += 1
            continue
        if problem is None:
            if ch in _WORD_BREAKERS:
                # bash would end or quote the word here; the parser disagreed.
                problem = _DISAGREE if ch != "\n" else "newline inside a word"
            elif ch in "$`":
                problem = f"expansion {ch} in {text[:40]}"
            elif ch in _GLOB:
                problem = f"unquoted glob or brace character {ch!r} in {text[:40]}"
            elif ch == "~" and (i == 0 or text[i - 1] in "=:"):
                problem = f"tilde expansion in {text[:40]}"
        out.append(ch)
        i += 1
    return Word("".join(out), problem)


def _double_quoted(node: Any) -> Word:
    # Decode from the raw text: tree-sitter can fold characters into its quote tokens.
    problem: str | None = None
    for child in node.children:
        if child.type in ('"', "string_content"):
            continue
        if problem is None:
            problem = _expansion_problem(child) if child.is_named else "expansion $"
    text = node_text(node)
    if (
        len(text) < 2
        or text[0] != '"'
        or (problem is None and _quote_end(text, 1, '"') != len(text))
    ):
        return Word(text, problem or _DISAGREE)
    value, bad = _unescape_double(text[1:-1])
    if bad and problem is None:
        problem = "expansion inside double quotes"
    return Word(value, problem)


def _quote_end(text: str, start: int, quote: str) -> int:
    """Index just past the quote that closes a string opened before ``start``, or -1."""
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            return i + 1
        i += 1
    return -1


def _unescape_double(text: str) -> tuple[str, bool]:
    out: list[str] = []
    bad = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and (text[i + 1] in _DQ_ESCAPABLE or text[i + 1] == "\n"):
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
            continue
        if ch in "$`":
            bad = True
        out.append(ch)
        i += 1
    return "".join(out), bad


_ANSI_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ANSI_NUMERIC = re.compile(r"[0-7]{1,3}|x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|c.")


def decode_ansi_c(body: str) -> str | None:
    """Decode the inside of a bash ``$'...'`` string; None when it cannot be decoded."""
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ANSI_SIMPLE:
            out.append(_ANSI_SIMPLE[nxt])
            i += 2
            continue
        m = _ANSI_NUMERIC.match(body, i + 1)
        if m is None:
            out.append("\\" + nxt)
            i += 2
            continue
        token = m.group()
        try:
            if token[0] in "xuU":
                out.append(chr(int(token[1:], 16)))
            elif token[0] == "c":
                out.append(chr(ord(token[1].upper()) ^ 0x40))
            else:
                out.append(chr(int(token, 8) & 0xFF))
        except (ValueError, OverflowError):
            return None
        i = m.end()
    return "".join(out)


def has_error(root: Any) -> bool:
    """Whether the tree holds an ERROR or MISSING node (tree-sitter tracks both)."""
    return bool(root.has_error or root.is_missing)


def words_are_separate(gap: bytes) -> bool:
    """Whether bash splits two words at ``gap`` (the text between them) as the parser did.

    tree-sitter-bash splits ``'a'\\b`` and ``'a'\\ b`` into two words where bash reads one.
    """
    rest = gap.replace(b"\\\n", b"")
    return bool(rest) and not rest.strip(b" \t")
