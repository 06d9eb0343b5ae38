"""Text plumbing for the fact extractor: what is prose, masking, sentences, rewriting.

Offsets are preserved everywhere: masking replaces the inside of a quote with the
same number of ``~`` characters, so a span found in masked text is a span of the
original message.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["mask_line", "normalize", "prose_lines", "rewrite", "sentences", "split_clauses"]

# --- lines that are not prose (pasted output, logs, traces) -----------------------
_OUTPUT_LINE_RE: Final = re.compile(
    r"^(?:\s*\$\s|\s*>>>\s|\s*PS [A-Z]:\\|[A-Z]:\\[^ ]*>|"
    r"\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\[?\d{2}:\d{2}:\d{2}|"
    r"\[?(?:DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL|TRACE|NOTICE)\]?[\s:]|"
    r"(?:npm|yarn|pnpm|pip|cargo|go|make)(?:\[\d+\])?(?: ERR!| WARN| error| warning)?[:!]|"
    r"(?:npm|yarn) (?:ERR!|WARN)|hint:|error(?:\[\w+\])?:|warning:|note:|fatal:|"
    r"remote:|Traceback \(most recent|\s*File \"|\s*at [\w.$<>]+\(|\s*-->|"
    r"[\w.]+(?:Error|Exception|Warning|Interrupt|Exit)(?::|$)|"
    r"E\s{2,}|FAILED\b|PASSED\b|ERROR\b|SKIPPED\b|XFAIL|={3,}|-{3,}|\+{3,}|\|.*\||"
    r"[\w./\\-]+\.\w+:\d+(?::\d+)?:|\s*\d+ (?:passed|failed|errors?|warnings?)\b|"
    r"Found \d+ errors?|Collecting |Requirement already|Successfully (?:installed|built)|"
    r"Downloading |Installing |Building |Compiling |Finished |Running |Step \d+/\d+|"
    r"#\d+ \[|\s*\^+\s*$|\s*\d+\s*\|)",
)
_TABLE_LINE_RE: Final = re.compile(r"\S {3,}\S.* {2,}\S|\S {3,}\S+\s*$")

# First words of output lines that OUTPUT_LINE_RE recognises by a leading plain word.
_OUTPUT_WORDS: Final = frozenset(
    "npm yarn pnpm pip cargo go make hint error warning note fatal remote traceback file "
    "failed passed skipped xfail found collecting requirement successfully downloading "
    "installing building compiling finished running step debug info warn critical trace "
    "notice e at ps".split()
)
_OPEN_SQUOTE_RE: Final = re.compile(r"'(?<!\w')")  # a ' not preceded by a letter
_MASK_RE: Final = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|`[^`\n]+`|'(?<!\w')[^'\n]+'(?!\w)")
_SENT_END_RE: Final = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n")
_ABBREV: Final = frozenset("e.g i.e etc vs approx incl no cf fig al mr ms dr st v".split())
_EDGE_CHARS: Final = " \t\r\n,.;:!?—–-"
_PLEASE_TAIL_RE: Final = re.compile(r"[, ]+please$", re.IGNORECASE)
_NORM_QUOTES_RE: Final = re.compile(r"[\"'`“”‘’«»]")
_NORM_PUNCT_RE: Final = re.compile(r"(?<!\w)[^\w\s]+|[^\w\s]+(?!\w)")
_WS_RE: Final = re.compile(r"\s+")
# First-person words as they appear between spaces (a gate for the rewrite below).
_PRONOUN_WORDS: Final = frozenset(
    q + w + p
    for w in "i i'm i've i'd i'll we we're we've we'd we'll my our me us mine ours".split()
    for p in ("", ",", ".", ";", ":", "!", "?", ")")
    for q in ("", "(")
)
# Case-sensitive on purpose ("US" and "us-east-1" are not "us"); also much faster.
_PRONOUN_RE: Final = re.compile(
    r"\b(?:(?P<subj>[Ii]|[Ww]e)\b(?![.\-])(?P<c>'m|'re|'ve|'d|'ll)?(?:\s+(?P<adv>(?:really|always|"
    r"also|only|still|usually|mostly|generally|just|now|never|currently|strongly|personally)"
    r"\s+)*(?P<verb>[a-z']+))?|(?P<poss>[Mm]y|[Oo]ur|[Mm]e|[Uu]s|[Mm]ine|[Oo]urs)\b(?![.\-]))"
)
_POSSESSIVES: Final = {
    "my": "the user's",
    "mine": "the user's",
    "me": "the user",
    "our": "the project's",
    "ours": "the project's",
    "us": "the team",
}
_AUX: Final = {"'m": "is", "'re": "is", "'ve": "has", "'d": "would", "'ll": "will"}
_MODALS: Final = frozenset(
    "can can't will won't would should might must could may shall don't didn't doesn't".split()
)
_IRREGULAR: Final = {
    "have": "has",
    "do": "does",
    "go": "goes",
    "are": "is",
    "were": "was",
    "don't": "doesn't",
    "am": "is",
}
_MAX_CONTENT: Final = 220


def prose_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line of ``text`` that is the user's own prose.

    Dropped: fenced blocks (also unclosed ones), indented code, ``>`` quotes,
    pasted command output, logs, stack traces and tables.
    """
    out: list[tuple[int, int]] = []
    end = len(text)
    if "\n" not in text and "```" not in text and "~~~" not in text:
        _scan_line(text, 0, out)
        return out
    if "```" not in text and "~~~" not in text:
        _scan_lines(text, 0, end, out)
        return out
    pos = 0
    while pos < end:
        fence = _find_fence(text, pos, ("```", "~~~"))
        if fence is None:
            _scan_lines(text, pos, end, out)
            break
        line_start, marker = fence
        _scan_lines(text, pos, line_start, out)
        eol = text.find("\n", line_start)
        close = _find_fence(text, eol + 1, (marker,)) if eol >= 0 else None
        if close is None:  # an unclosed fence runs to the end of the message
            break
        eol = text.find("\n", close[0])
        pos = end if eol < 0 else eol + 1
    return out


def _find_fence(text: str, pos: int, markers: tuple[str, ...]) -> tuple[int, str] | None:
    """The next line at or after ``pos`` that starts (after blanks) with a fence marker."""
    while True:
        hits = [(i, m) for m in markers if (i := text.find(m, pos)) >= 0]
        if not hits:
            return None
        i, marker = min(hits)
        line_start = text.rfind("\n", 0, i) + 1
        if not text[line_start:i].strip(" \t"):
            return line_start, marker
        pos = i + 3


def _scan_lines(text: str, begin: int, end: int, out: list[tuple[int, int]]) -> None:
    """Append the prose lines of ``text[begin:end]`` (no fences in it) to ``out``."""
    start = begin
    for raw in text[begin:end].split("\n"):
        _scan_line(raw, start, out)
        start += len(raw) + 1


def _scan_line(raw: str, start: int, out: list[tuple[int, int]]) -> None:
    """Append ``raw`` (one line, found at ``start``) to ``out`` if it is prose."""
    line = raw.rstrip("\r")
    stripped = line.lstrip()
    if not stripped or stripped[0] == ">" or line.startswith(("    ", "\t")):
        return
    if _maybe_output(stripped) and _OUTPUT_LINE_RE.match(line):
        return
    if "   " in line and len(line) < 300 and _TABLE_LINE_RE.search(line):
        return
    out.append((start, start + len(line)))


def _maybe_output(stripped: str) -> bool:
    """False for lines that plainly start like prose (a plain word, then a space)."""
    word, space, _ = stripped.partition(" ")
    return not (
        space
        and word.isalpha()
        and word.lower() not in _OUTPUT_WORDS
        and not word.endswith(("Error", "Exception", "Warning", "Interrupt", "Exit"))
    )


def mask_line(line: str) -> str:
    """Replace the inside of quoted strings and inline code with ``~`` (same length)."""
    if (
        '"' in line
        or "`" in line
        or "“" in line
        or "‘" in line
        or ("'" in line and _OPEN_SQUOTE_RE.search(line) is not None)
    ):
        return _MASK_RE.sub(_mask_match, line)
    return line


def _mask_match(m: re.Match[str]) -> str:
    g = m.group()
    return g[0] + "~" * (len(g) - 2) + g[-1]


def sentences(line: str) -> list[tuple[int, int]]:
    """Sentence spans within one prose line, trimmed of surrounding whitespace."""
    if (
        ". " not in line
        and "! " not in line
        and "? " not in line
        and "\t" not in line
        and '" ' not in line
        and "' " not in line
        and ") " not in line
        and "] " not in line
    ) or _SENT_END_RE.search(line) is None:  # one sentence: the common case
        body = line.strip()
        lead = len(line) - len(line.lstrip())
        return [(lead, lead + len(body))] if len(body) > 1 else []
    out: list[tuple[int, int]] = []
    begin = 0
    for m in _SENT_END_RE.finditer(line):
        word_start = line.rfind(" ", begin, m.start()) + 1
        if line[word_start : m.start()].lower().rstrip(".") in _ABBREV:
            continue
        out.append((begin, m.end()))
        begin = m.end()
    if begin < len(line):
        out.append((begin, len(line)))
    trimmed: list[tuple[int, int]] = []
    for s, e in out:
        chunk = line[s:e]
        lead = len(chunk) - len(chunk.lstrip())
        tail = len(chunk) - len(chunk.rstrip())
        if e - tail > s + lead + 1:
            trimmed.append((s + lead, e - tail))
    return trimmed


def split_clauses(
    sentence: str, punct: re.Pattern[str], conj: re.Pattern[str]
) -> list[tuple[int, int]]:
    """Clause spans of a (lowercased) sentence, cut where ``punct`` or ``conj`` match.

    ``conj`` (a bare "and"/"but"/"so" before a new subject) only runs when the sentence
    has one of those words.
    """
    cuts: list[tuple[int, int]] = []
    if (
        "," in sentence
        or ";" in sentence
        or ":" in sentence
        or "—" in sentence
        or "–" in sentence
        or " -" in sentence
    ):
        cuts = [m.span() for m in punct.finditer(sentence)]
    if " and " in sentence or " but " in sentence or " so " in sentence:
        more = [m.span() for m in conj.finditer(sentence)]
        if more:
            cuts = sorted(cuts + more)
    if not cuts:
        return [(0, len(sentence))]
    out: list[tuple[int, int]] = []
    begin = 0
    for start, end in cuts:
        if start > begin:
            out.append((begin, start))
        begin = max(begin, end)
    if begin < len(sentence):
        out.append((begin, len(sentence)))
    return out


def normalize(content: str) -> str:
    """Casefold, drop quotes, strip punctuation outside words, collapse whitespace."""
    text = _NORM_QUOTES_RE.sub("", content.casefold())
    text = _NORM_PUNCT_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip()


def rewrite(text: str, capitalize: bool = True) -> str:
    """Make a clause readable out of context: first person becomes third person.

    "I'm on macOS" -> "The user is on macOS"; "we deploy to Fly.io" -> "The project
    deploys to Fly.io"; "my editor" -> "the user's editor".
    """
    text = text.strip(_EDGE_CHARS)
    low = text.lower()
    if low.startswith(("please ", "pls ")):
        text = text.split(None, 1)[1]
    if low.endswith("please"):
        text = _PLEASE_TAIL_RE.sub("", text)
    if not _PRONOUN_WORDS.isdisjoint(low.split()):
        text = _PRONOUN_RE.sub(_third_person, text)
    if len(text) > _MAX_CONTENT:
        text = text[:_MAX_CONTENT].rsplit(" ", 1)[0] + "…"
    if capitalize and text:
        text = text[0].upper() + text[1:]
    return text


def _third_person(m: re.Match[str]) -> str:
    if m.group("poss"):
        return _POSSESSIVES[m.group("poss").lower()]
    who = "the user" if m.group("subj").lower() == "i" else "the project"
    contraction = (m.group("c") or "").lower()
    adv = m.group("adv") or ""
    verb = m.group("verb")
    if contraction:
        tail = f" {adv}{verb}" if verb else ""
        return f"{who} {_AUX[contraction]}{tail}"
    if verb is None:
        return who
    return f"{who} {adv}{_conjugate(verb)}"


def _conjugate(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low in _MODALS or low.endswith(("ed", "'t")) or not low.isalpha():
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"
