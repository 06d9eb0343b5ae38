"""Rule-based extraction of durable facts from what the user said (no model needed).

Before old turns are compacted away, hermes keeps what the user told it that will
still be true next session: preferences ("I prefer pytest over unittest"),
corrections ("actually, the port is 5433"), project facts ("tests run with
`make test`") and environment facts ("I'm on macOS with zsh").

How a message is read:

1. Lines that are not the user's own prose are dropped: fenced and indented code,
   ``>`` quoted lines, pasted command output, logs and stack traces.
2. Quoted strings and inline code are masked (same length, so offsets hold):
   nothing inside them is mined, though they still count as values.
3. The rest is split into sentences, each sentence into clauses, and each clause
   is matched against patterns anchored at its start (after fillers such as
   "btw," or "please"). Anchoring is what keeps "it's not that I prefer X",
   "Tom mentioned the port is 8443" and "we don't use docker anymore" out.
4. A clause is skipped when it is a question, a hedge ("maybe we should..."),
   reported speech ("my colleague prefers...", "the docs say...") or negated; of a
   conditional ("if you're unsure, always ask") only the main clause counts.
   Negated statements are never facts, "we no longer use X" included: only
   positive statements are kept.
5. Instructions become preferences only when durable: a marker ("always",
   "from now on", "in general"), an inherently durable verb ("prefer", "default
   to"), a "use X instead of Y" shape, or a general "don't use/add/write X". Any
   instruction scoped to the task at hand ("here", "for now", "in this file",
   "for this PR") is dropped.
6. A sentence that opens with a correction marker ("actually", "no,", "I meant",
   "that's wrong", "not X but Y") and states a fact yields one correction.

Matching runs on lowercased text with case-sensitive patterns, which lets ``re``
skip most positions quickly; the original text is used for values and content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hermes.memory.facts import patterns as fp
from hermes.memory.facts import text as ft
from hermes.memory.facts.clauses import Clause, FactCategory, Hit, Markers, lead_word, match_clause
from hermes.memory.facts.lexicon import find_terms, first_term

__all__ = ["ExtractedFact", "FactCategory", "extract_facts", "normalize_fact"]


@dataclass(frozen=True)
class ExtractedFact:
    """One durable fact found in a user message.

    ``content`` reads on its own ("The user prefers pytest over unittest");
    ``subject`` is a short lowercase key used to supersede older facts on the same
    topic ("test runner", "port"); ``span`` gives the character offsets of the
    sentence it came from in the source text.
    """

    category: FactCategory
    content: str
    subject: str
    confidence: float
    span: tuple[int, int]


@dataclass
class _State:
    """What one message carries from sentence to sentence."""

    last_subject: str | None = None
    pending_correction: bool = False
    markers: Markers = field(default_factory=Markers)
    facts: list[ExtractedFact] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)


def normalize_fact(content: str) -> str:
    """Normalize fact content for deduplication.

    Casefolds, drops quote characters and backticks, strips punctuation that is not
    inside a word (``config.toml`` and ``3.12`` survive) and collapses whitespace.
    """
    return ft.normalize(content)


def extract_facts(text: str) -> list[ExtractedFact]:
    """Extract durable facts from one user message.

    Returns at most one fact per (category, subject), in the order they appear.
    Code, quoted and pasted text is never mined; see the module docstring for the
    rules. Pure and fast: no I/O, no model.
    """
    state = _State()
    for start, end in ft.prose_lines(text):
        line = ft.mask_line(text[start:end])
        for s, e in ft.sentences(line):
            _sentence(text, line[s:e], start + s, state)
    return state.facts


# --- one sentence -----------------------------------------------------------------

_new_clause = tuple.__new__  # builds a Clause without NamedTuple's Python-level __new__


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _sentence(text: str, sent: str, base: int, state: _State) -> None:
    low = _lower(sent)
    span = (base, base + len(sent))
    original = text[span[0] : span[1]]
    pending = state.pending_correction
    state.pending_correction = False

    clauses = ft.split_clauses(low, fp.CLAUSE_SPLIT_RE, fp.CONJ_SPLIT_RE)
    if not clauses or "according to" in low:
        return
    if low.endswith("?"):
        first = _strip_discourse(low[clauses[0][0] : clauses[0][1]])[1]
        if not _is_request(low, first):
            if (
                len(clauses) == 1
                or (lead_word(first) in fp.INTERROGATIVE_FIRST and fp.INTERROGATIVE_RE.match(first))
                or fp.TAG_QUESTION_RE.search(low)
            ):
                return
            clauses = clauses[:-1]

    heads = fp.CORRECTION_HEADS
    marker = fp.CORRECTION_START_RE.match(low) if low[:3] in heads or low[:2] in heads else None
    correction = pending or marker is not None or "misspoke" in low or "correction:" in low
    tail = (
        low.rstrip(" .!?,;:)\"'`~").endswith(fp.CORRECTION_TAIL_WORDS)
        and fp.CORRECTION_TAIL_RE.search(low) is not None
    )
    markers = state.markers
    markers.reset(low)

    hits: list[Hit] = []
    reporting = False
    for cs, ce in clauses:
        offset, clause = _strip_discourse(low[cs:ce])
        if not clause:
            continue
        lead = lead_word(clause)
        polite = fp.POLITE_RE.match(clause) if lead in fp.POLITE_FIRST else None
        if polite:
            rest = clause[polite.end() :]
            pad = len(rest) - len(rest.lstrip(" ,"))
            more, clause = _strip_discourse(rest[pad:])
            offset += polite.end() + pad + more
            if not clause:
                continue
            lead = lead_word(clause)
        if reporting and not fp.CONTRAST_START_RE.match(low[cs:ce].lstrip()):
            continue
        reporting = False
        start = cs + offset
        if _is_reported(clause, sent[start : start + len(clause)]):
            reporting = True
            continue
        if lead in fp.CONDITIONAL_FIRST and fp.CONDITIONAL_RE.match(clause):
            # "If you're unsure, always ask first": only the main clause can hold a fact.
            comma = clause.find(", ")
            if comma < 0:
                continue
            start += comma + 2
            clause = clause[comma + 2 :]
            lead = lead_word(clause)
        if lead in fp.INTERROGATIVE_FIRST and fp.INTERROGATIVE_RE.match(clause):
            continue
        cl = _new_clause(Clause, (clause, sent[start : start + len(clause)], original[start:ce]))
        found = match_clause(cl, markers, state.last_subject, lead)
        if found and (
            fp.HEDGE_WORDS.isdisjoint(clause.split()) or fp.HEDGE_RE.search(clause) is None
        ):
            hits.extend(found)
            state.last_subject = found[-1].subject

    bare_tail = tail and len(low.split()) <= 12
    if correction and not bare_tail:
        hit = _correction(low, original, marker, hits)
        if hit is not None:
            hits = [hit]
        elif marker is not None:
            hits = []
    elif not hits and tail:
        # "That quote is wrong." -- the corrected fact comes in the next sentence.
        state.pending_correction = True

    for hit in hits:
        key = (hit.category, hit.subject)
        if key in state.seen:
            continue
        state.seen.add(key)
        state.last_subject = hit.subject
        state.facts.append(
            ExtractedFact(hit.category, hit.content, hit.subject, round(hit.confidence, 2), span)
        )


def _is_request(low: str, first: str) -> bool:
    """ "Could you please, from now on, ...?" is a durable request, not a question."""
    polite = fp.POLITE_RE.match(first) if lead_word(first) in fp.POLITE_FIRST else None
    return bool(
        polite
        and fp.DURABLE_RE.search(low)
        and not fp.POLITE_EXCLUDE_RE.match(first[polite.end() :].lstrip(" ,"))
    )


def _strip_discourse(clause: str) -> tuple[int, str]:
    """Drop leading fillers ("btw,", "please", "from now on,"): (offset, rest)."""
    lead = len(clause) - len(clause.lstrip())
    body = clause[lead:] if lead else clause
    heads = fp.DISCOURSE_HEADS
    m = fp.DISCOURSE_RE.match(body) if body[:3] in heads or body[:2] in heads else None
    offset = lead + (m.end() if m else 0)
    body = clause[offset:]
    stripped = body.strip(" ,.;:!?-—–\"'")
    offset += body.find(stripped[:1]) if stripped else len(body)
    return offset, stripped


def _is_reported(low: str, cased: str) -> bool:
    """Is the clause's subject someone else ("my colleague", "Dave", "the docs")?"""
    first = low.partition(" ")[0]
    if first in fp.PERSON_PRONOUNS or low.startswith("no one "):
        return True
    if first in fp.I_FIRST or first in fp.WE_FIRST or first in fp.IMPERATIVE_FIRST:
        return False
    words = low.split(None, 9)
    if (
        first in fp.PERSON_DETERMINERS
        and not fp.PERSON_NOUNS.isdisjoint(words[1:5])
        and fp.PERSON_RE.match(low) is not None
    ):
        return True
    speech = not fp.SPEECH_WORDS.isdisjoint(words[1:9])
    m = fp.SPEECH_VERB_RE.search(low, 1, 48) if speech else None
    if m is not None and m.start() <= 40:
        subj = low[: m.start()]
        if fp.SPEAKER_RE.fullmatch(subj) and subj.split()[-1] not in fp.NOT_SPEAKERS:
            return True
    name_verb = cased[:1].isupper() and not fp.NAME_VERBS.isdisjoint(words[1:3])
    n = fp.NAME_VERB_RE.match(cased) if name_verb else None
    return bool(n and not find_terms(n.group("name").lower()))


def _correction(
    low: str, original: str, marker: re.Match[str] | None, hits: list[Hit]
) -> Hit | None:
    body_start = marker.end() if marker else 0
    offset, body = _strip_discourse(low[body_start:])
    content = "Correction: " + ft.rewrite(original[body_start + offset :], capitalize=False)
    if hits:
        first = hits[0]
        return Hit("correction", first.subject, content, min(0.9, first.confidence + 0.05))
    said = marker.group("marker") if marker else ""
    if not (
        " not " in f" {body} "
        or "instead" in body
        or said.startswith(("i meant", "i mean", "wrong", "correction"))
    ):
        return None
    begin = marker.start("marker") if marker else 0
    wrong = fp.WRONG_NOUN_RE.match(low[begin:])
    if wrong:
        content = "Correction: " + ft.rewrite(original[begin:], capitalize=False)
        return Hit("correction", wrong.group("noun").strip(), content, 0.75)
    not_but = fp.NOT_BUT_RE.search(body)
    subject = first_term(body[not_but.start("y") :]) if not_but else None
    subject = subject or first_term(body)
    if subject is None:
        return None
    return Hit("correction", subject, content, 0.7)
