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
from typing import Final, Literal, NamedTuple

from hermes import fact_patterns as fp
from hermes import fact_text as ft
from hermes.fact_lexicon import find_terms, first_term

__all__ = ["ExtractedFact", "FactCategory", "extract_facts", "normalize_fact"]

FactCategory = Literal["preference", "correction", "project", "environment"]


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


class _Hit(NamedTuple):
    category: FactCategory
    subject: str
    content: str
    confidence: float


class _Clause(NamedTuple):
    """One clause three ways: lowercased (matched), masked in its case, original."""

    low: str
    cased: str
    orig: str


class _Markers:
    """Sentence-level markers, scanned only when a pattern asks for them."""

    __slots__ = ("_durable", "_transient", "low")

    def __init__(self, low: str) -> None:
        self.low = low
        self._durable: bool | None = None
        self._transient: bool | None = None

    @property
    def durable(self) -> bool:
        if self._durable is None:
            low = self.low
            self._durable = (
                fp.DURABLE_HINT_RE.search(low) is not None and fp.DURABLE_RE.search(low) is not None
            )
        return self._durable

    @property
    def transient(self) -> bool:
        if self._transient is None:
            low = self.low
            self._transient = (
                fp.TRANSIENT_HINT_RE.search(low) is not None
                and fp.TRANSIENT_RE.search(low) is not None
            )
        return self._transient


@dataclass
class _State:
    """What one message carries from sentence to sentence."""

    last_subject: str | None = None
    pending_correction: bool = False
    facts: list[ExtractedFact] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)


_COMMAND_SUBJECTS: Final = {
    "test": "test command",
    "lint": "lint command",
    "linting": "lint command",
    "build": "build command",
}


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


_LEAD_RE: Final = re.compile(r"\w*")


def _lead(clause: str) -> str:
    """The leading run of word characters ("what" of "what's up")."""
    m = _LEAD_RE.match(clause)
    return m.group() if m else ""


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

    clauses = ft.split_clauses(low, fp.CLAUSE_SPLIT_RE)
    if not clauses or "according to" in low:
        return
    if low.endswith("?") and not _is_request(low, clauses[0]):
        first = _strip_discourse(low[clauses[0][0] : clauses[0][1]])[1]
        if (
            len(clauses) == 1
            or (_lead(first) in fp.INTERROGATIVE_FIRST and fp.INTERROGATIVE_RE.match(first))
            or fp.TAG_QUESTION_RE.search(low)
        ):
            return
        clauses = clauses[:-1]

    marker = fp.CORRECTION_START_RE.match(low)
    correction = pending or marker is not None or "misspoke" in low or "correction:" in low
    tail = fp.TAIL_WORDS_RE.search(low) is not None and fp.CORRECTION_TAIL_RE.search(low) is not None
    markers = _Markers(low)

    hits: list[_Hit] = []
    reporting = False
    for cs, ce in clauses:
        offset, clause = _strip_discourse(low[cs:ce])
        polite = fp.POLITE_RE.match(clause) if _lead(clause) in fp.POLITE_FIRST else None
        if polite:
            rest = clause[polite.end() :]
            lead = len(rest) - len(rest.lstrip(" ,"))
            more, clause = _strip_discourse(rest[lead:])
            offset += polite.end() + lead + more
        if not clause:
            continue
        if reporting and not fp.CONTRAST_START_RE.match(low[cs:ce].lstrip()):
            continue
        reporting = False
        start = cs + offset
        if _is_reported(clause, sent[start : start + len(clause)]):
            reporting = True
            continue
        lead = _lead(clause)
        if lead in fp.CONDITIONAL_FIRST and fp.CONDITIONAL_RE.match(clause):
            # "If you're unsure, always ask first": only the main clause can hold a fact.
            comma = clause.find(", ")
            if comma < 0:
                continue
            start += comma + 2
            clause = clause[comma + 2 :]
            lead = _lead(clause)
        if lead in fp.INTERROGATIVE_FIRST and fp.INTERROGATIVE_RE.match(clause):
            continue
        cl = _Clause(clause, sent[start : start + len(clause)], original[start:ce])
        found = _clause(cl, markers, state)
        if found and not fp.HEDGE_RE.search(clause):
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


def _is_request(low: str, first_clause: tuple[int, int]) -> bool:
    """ "Could you please, from now on, ...?" is a durable request, not a question."""
    first = _strip_discourse(low[first_clause[0] : first_clause[1]])[1]
    polite = fp.POLITE_RE.match(first)
    return bool(
        polite
        and fp.DURABLE_RE.search(low)
        and not fp.POLITE_EXCLUDE_RE.match(first[polite.end() :].lstrip(" ,"))
    )


def _strip_discourse(clause: str) -> tuple[int, str]:
    """Drop leading fillers ("btw,", "please", "from now on,"): (offset, rest)."""
    lead = len(clause) - len(clause.lstrip())
    word = _lead(clause[lead:])
    m = (
        fp.DISCOURSE_RE.match(clause[lead:])
        if word in fp.DISCOURSE_FIRST or word.startswith(("hm", "um", "er", "no"))
        else None
    )
    offset = lead + (m.end() if m else 0)
    body = clause[offset:]
    stripped = body.strip(" ,.;:!?-—–\"'")
    offset += body.find(stripped[:1]) if stripped else len(body)
    return offset, stripped


def _is_reported(low: str, cased: str) -> bool:
    """Is the clause's subject someone else ("my colleague", "Dave", "the docs")?"""
    first = low.partition(" ")[0]
    if first in fp.PERSON_FIRST and fp.PERSON_RE.match(low):
        return True
    if first in fp.I_FIRST or first in fp.WE_FIRST or first in fp.IMPERATIVE_FIRST:
        return False
    m = fp.SPEECH_VERB_RE.search(low, 1, 48)
    if m is not None and m.start() <= 40:
        subj = low[: m.start()]
        if fp.SPEAKER_RE.fullmatch(subj) and subj.split()[-1] not in fp.NOT_SPEAKERS:
            return True
    n = fp.NAME_VERB_RE.match(cased) if cased[:1].isupper() else None
    return bool(n and not find_terms(n.group("name").lower()))


def _correction(
    low: str, original: str, marker: re.Match[str] | None, hits: list[_Hit]
) -> _Hit | None:
    body_start = marker.end() if marker else 0
    offset, body = _strip_discourse(low[body_start:])
    content = "Correction: " + ft.rewrite(original[body_start + offset :], capitalize=False)
    if hits:
        first = hits[0]
        return _Hit("correction", first.subject, content, min(0.9, first.confidence + 0.05))
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
        return _Hit("correction", wrong.group("noun").strip(), content, 0.75)
    not_but = fp.NOT_BUT_RE.search(body)
    subject = first_term(body[not_but.start("y") :]) if not_but else None
    subject = subject or first_term(body)
    if subject is None:
        return None
    return _Hit("correction", subject, content, 0.7)


# --- one clause -------------------------------------------------------------------


def _clause(cl: _Clause, mk: _Markers, state: _State) -> list[_Hit]:
    """Match one clause against the anchored patterns (dispatched on its first word)."""
    c = cl.low
    first = c.partition(" ")[0]
    m = fp.MY_PREF_RE.match(c) if first == "my" else None
    if m:
        return [_pref(m.group("obj"), cl.orig, 0.9, state)]
    m = fp.PREF_I_RE.match(c) if first in fp.I_FIRST else None
    if m:
        return _first_person_pref(m.group("verb"), m.group("obj"), cl, mk, state)
    if ("char" in c or "col" in c) and fp.LINE_LENGTH_RE.search(c) and not mk.transient:
        return [_Hit("preference", "line length", ft.rewrite(cl.orig), 0.8)]
    m = fp.IMPERATIVE_RE.match(c) if first in fp.IMPERATIVE_FIRST else None
    if m:
        return _imperative(m, cl, mk, state)
    if first == "no" and fp.NO_NOUN_RE.match(c) and mk.durable and not mk.transient:
        return [_pref(c[3:], cl.orig, 0.7, state)]
    m = fp.I_ENV_RE.match(c) if first in fp.I_FIRST else None
    if m:
        obj = m.group("obj") if m.group("obj") is not None else m.group("obj2")
        return _env_terms(obj or "", cl)
    m = fp.MY_RE.match(c) if first == "my" else None
    if m:
        return _my(m, cl)
    m = fp.WE_RE.match(c) if first in fp.WE_FIRST else None
    if m:
        return _we(m, cl)
    m = fp.THIS_IS_A_RE.match(c) if first in fp.THIS_FIRST else None
    if m:
        subject = first_term(m.group("obj"), ("tool",)) or _head(m.group("obj"))
        return [_Hit("project", subject, ft.rewrite(cl.orig), 0.7)] if subject else []
    port = fp.PORT_RE.search(c) if "port" in c or "localhost:" in c else None
    command = fp.COMMAND_NOUN_RE.match(c) if _lead(c) in fp.COMMAND_FIRST else None
    if port and (command or fp.IT_PORT_RE.match(c) or fp.NP_RE.match(c)):
        if fp.PORT_NEG_RE.search(c[: port.start()]):
            return []
        return [_Hit("project", "port", ft.rewrite(cl.orig), 0.8)]
    if command and command.group("rest").strip(" .`~"):
        noun = command.group("np").split()[-1].rstrip("s").replace("linter", "lint")
        subject = _COMMAND_SUBJECTS.get(noun, f"{noun} command")
        if noun in {"doc", "build"}:
            subject = first_term(command.group("rest"), ("tool",)) or subject
        return [_Hit("project", subject, ft.rewrite(cl.orig), 0.85)]
    m = fp.NP_RE.match(c)
    if m:
        return _np(m, cl)
    return []


def _first_person_pref(verb: str, obj: str, cl: _Clause, mk: _Markers, state: _State) -> list[_Hit]:
    if mk.transient:
        return []
    if (
        verb in {"like", "love"}
        and not fp.COMPARATIVE_RE.search(obj)
        and not fp.LIKE_MY_RE.match(obj)
        and not mk.durable
    ):
        return []
    wants = ("want", "always want", "'d like", "would like", "need", "expect", "care", "insist")
    if verb.startswith(wants) and not (fp.EVERY_RE.search(obj) or mk.durable):
        return []
    return [_pref(obj, cl.orig, 0.9, state)]


def _imperative(m: re.Match[str], cl: _Clause, mk: _Markers, state: _State) -> list[_Hit]:
    if mk.transient:
        return []
    neg = (m.group("neg") or "").strip()
    verb = m.group("verb")
    obj = m.group("obj")
    if fp.DURABLE_VERBS_RE.match(verb):
        conf = 0.8
    elif neg in {"always", "never", "never ever", "don't ever", "ever"}:
        conf = 0.85
    elif neg and fp.NEG_IMPERATIVE_VERBS.match(verb):
        conf = 0.65
    elif verb in fp.USE_VERBS and fp.USE_OVER_RE.search(obj):
        conf = 0.7
    elif fp.INSTEAD_RE.search(obj):
        conf = 0.65
    elif verb == "keep" and fp.KEEP_STYLE_RE.search(obj):
        conf = 0.65
    elif mk.durable:
        conf = 0.75
    else:
        return []
    return [_pref(obj, cl.orig, conf, state, verb)]


def _pref(obj: str, orig: str, conf: float, state: _State, verb: str = "") -> _Hit:
    content = ft.rewrite(orig)
    if fp.PRONOUN_OBJ_RE.match(obj.strip()):
        subject = first_term(obj) or state.last_subject
        if subject is not None and state.last_subject is not None:
            content = f"{content} (re: {state.last_subject})"
        return _Hit("preference", subject or verb or "general", content, conf - 0.1)
    subject = first_term(obj) or _head(obj) or verb or "general"
    return _Hit("preference", subject, content, conf)


def _env_terms(obj: str, cl: _Clause) -> list[_Hit]:
    cut = fp.ENV_CUT_RE.search(obj)
    scope = obj[: cut.start()] if cut else obj
    found: list[tuple[str, int, int]] = []
    for subject, kind, s, e in find_terms(scope):
        if kind == "env" and all(subject != x[0] for x in found):
            found.append((subject, s, e))
    if not found:
        return []
    if len(found) == 1:
        return [_Hit("environment", found[0][0], ft.rewrite(cl.orig), 0.85)]
    base = cl.low.find(obj)
    hits = []
    for subject, s, e in found:
        value = cl.orig[base + s : base + e] if base >= 0 else scope[s:e]
        label = "OS" if subject == "os" else subject
        hits.append(_Hit("environment", subject, f"The user's {label} is {value}", 0.8))
    return hits


def _my(m: re.Match[str], cl: _Clause) -> list[_Hit]:
    np, rest = m.group("np"), m.group("rest")
    if fp.PERSON_RE.match("my " + np) or fp.NEG_START_RE.match(rest):
        return []
    noun = fp.ENV_NOUNS.search(np)
    if noun is None or not rest.strip(" .,"):
        return []
    subject = noun.group()
    if subject in fp.GENERIC_MACHINE:
        subject = first_term(rest, ("env",)) or subject
    hits = [_Hit("environment", subject, ft.rewrite(cl.orig), 0.85)]
    on_os = fp.ON_OS_RE.search(cl.orig.rstrip(" ."))
    if on_os and subject != "os":
        hits.append(_Hit("environment", "os", f"The user is on {on_os.group(1)}", 0.75))
    return hits


def _we(m: re.Match[str], cl: _Clause) -> list[_Hit]:
    verb, obj = m.group("verb"), m.group("obj")
    obj_start = m.start("obj")
    pronoun = fp.PRONOUN_OBJ_RE.match(obj)
    if pronoun:
        obj = obj[pronoun.end() :]
        obj_start += pronoun.end()
    if not obj.strip() or not _informative(obj, cl.cased[obj_start:]):
        return []
    subject: str | None
    if fp.PORT_RE.search(cl.low):
        subject = "port"
    elif fp.DEPLOY_VERB_RE.match(verb):
        subject = "deploy target"
    elif fp.SWITCH_VERB_RE.match(verb):
        to = fp.SWITCH_TARGET_RE.search(obj)
        subject = first_term(obj[to.end() :] if to else obj) or _head(obj)
    else:
        subject = first_term(obj) or _head(obj)
    if not subject:
        return []
    return [_Hit("project", subject, ft.rewrite(cl.orig), 0.85)]


def _np(m: re.Match[str], cl: _Clause) -> list[_Hit]:
    np, verb, rest = m.group("np"), m.group("verb"), m.group("rest")
    words = np.split()
    if len(words) > 5 or fp.NP_BAD_RE.search(np) or fp.PERSON_RE.match(np):
        return []
    if fp.NEG_START_RE.match(rest) and not fp.NOT_BUT_RE.search(rest):
        return []
    if fp.STATE_WORDS_RE.match(rest) or not _informative(rest, cl.cased[m.start("rest") :]):
        return []
    if fp.CALLED_RE.search(verb) and len(words) <= 3:
        return [_Hit("project", f"{' '.join(words[-2:])} name", ft.rewrite(cl.orig), 0.75)]
    noun = fp.PROJECT_NOUNS.search(np)
    own = first_term(np, ("tool",)) if noun is None else None
    subject: str | None
    if own is not None:
        subject = own
    elif words[-1] in fp.GENERIC_NOUNS or noun is None:
        subject = first_term(rest, ("tool", "env"))
        if subject is None or (noun is None and np not in fp.GENERIC_NOUNS):
            return []
    else:
        subject = " ".join(words[-3:])
    return [_Hit("project", subject, ft.rewrite(cl.orig), 0.75)]


# --- helpers ----------------------------------------------------------------------


def _informative(low: str, cased: str) -> bool:
    """Does a value name something (a number, path, code, Name or known tool)?"""
    return bool(fp.INFORMATIVE_RE.search(cased) or find_terms(low))


def _head(obj: str) -> str | None:
    """Fallback subject: the first content words of an object phrase."""
    cut = fp.OBJECT_CUT_RE.search(obj)
    phrase = fp.DETERMINERS_RE.sub("", (obj[: cut.start()] if cut else obj).strip())
    words = [w.strip("~`\"'.,!?()") for w in phrase.split()[:2]]
    words = [w for w in words if w and w not in fp.STOP_WORDS and not set(w) <= {"~"}]
    if len(words) == 2 and words[1].endswith(("ed", "ly")):
        words = words[:1]
    return " ".join(words) or None
