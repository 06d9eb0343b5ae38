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
4. A clause is skipped when it is a question, a conditional or hedge ("if we
   used...", "maybe we should..."), reported speech ("my colleague prefers...",
   "the docs say..."), or negated. Negated statements are never facts, including
   "we no longer use X": only positive statements are kept.
5. Instructions become preferences only when durable: a marker ("always",
   "from now on", "in general"), an inherently durable verb ("prefer", "default
   to"), a "use X instead of Y" shape, or a general "don't use/add/write X". Any
   instruction scoped to the task at hand ("here", "for now", "in this file",
   "for this PR") is dropped.
6. A sentence that opens with a correction marker ("actually", "no,", "I meant",
   "that's wrong", "not X but Y") and states a fact yields one correction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

from hermes import fact_patterns as fp

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


@dataclass(frozen=True)
class _Hit:
    category: FactCategory
    subject: str
    content: str
    confidence: float


@dataclass
class _State:
    """What one message carries from sentence to sentence."""

    last_subject: str | None = None
    pending_correction: bool = False
    facts: list[ExtractedFact] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)


_MASK_RE: Final = re.compile(
    r"\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|`[^`\n]+`|(?<![\w])'[^'\n]+'(?![\w])"
)
_SENT_END_RE: Final = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n")
_ABBREV: Final = frozenset("e.g i.e etc vs approx incl no cf fig al mr ms dr st v".split())
_PUNCT_EDGE_RE: Final = re.compile(r"^[\s,.;:!?—–-]+|[\s,.;:!?—–-]+$")
_NORM_QUOTES_RE: Final = re.compile(r"[\"'`“”‘’«»]")
_NORM_PUNCT_RE: Final = re.compile(r"(?<!\w)[^\w\s]+|[^\w\s]+(?!\w)")
_WS_RE: Final = re.compile(r"\s+")
_STATE_WORDS_RE: Final = re.compile(
    r"^(?:(?!using\b)\w+ing(?=\s|$)|broken|down|up|slow|fast|flaky|wrong|fine|ok|okay|done|ready|missing|"
    r"empty|gone|green|red|there|here|too|very|so|quite|pretty|still|weird|odd|a mess|"
    r"messy|huge|big|small|ugly|old|stale|the problem|the issue|what|why|how|like)\b",
    re.IGNORECASE,
)
_NP_BAD_RE: Final = re.compile(
    r"\b(?:i|we|you|he|she|they|it|that|there|here|what|which|who|not|no|never|n't|"
    r"don't|doesn't|isn't|aren't|one|thing|problem|issue|error|bug|question|title|message|"
    r"quote|comment|snippet|function|output|result)\b|n't",
    re.IGNORECASE,
)
_IT_PORT_RE: Final = re.compile(
    r"^(?:it|that|this)(?:'s| is| runs| listens| lives| serves)\b", re.IGNORECASE
)
_PORT_NEG_RE: Final = re.compile(r"n't\b|\b(?:not|no longer|never)\b", re.IGNORECASE)
_LIKE_MY_RE: Final = re.compile(r"^(?:my|our|it when|when)\b", re.IGNORECASE)
_KEEP_STYLE_RE: Final = re.compile(
    r"\b(?:short|shorter|simple|small|smaller|minimal|concise|brief|lean|tidy|consistent|"
    r"readable|focused|flat|narrow|under \d+|below \d+)\b",
    re.IGNORECASE,
)
_POLITE_RE: Final = re.compile(
    r"^(?:could|can|would|will)\s+you\s+(?:please\s+)?(?:,\s*)?", re.IGNORECASE
)
_POLITE_EXCLUDE_RE: Final = re.compile(r"^(?:prefer|like|rather|want|think|say)\b", re.I)
_NO_NOUN_RE: Final = re.compile(r"^no\s+(?!one\b|longer\b|more\b)[a-z]", re.IGNORECASE)
_NEG_START_RE: Final = re.compile(r"^(?:not|n't|no longer|never|no)\b", re.IGNORECASE)
_PRONOUN_VERB_RE: Final = re.compile(
    r"\b(?P<subj>I|we)\b(?!\.)(?P<c>'m|'re|'ve|'d|'ll)?(?:\s+(?P<adv>(?:really|always|also|only|"
    r"still|usually|mostly|generally|just|now|never|currently|strongly|personally)\s+)*"
    r"(?P<verb>[a-z']+))?",
    re.IGNORECASE,
)
_POSSESSIVE_RE: Final = re.compile(r"\b(?:my|our|me|us|mine|ours)\b", re.IGNORECASE)
_MODALS: Final = frozenset(
    "can can't will won't would should might must could may shall don't didn't doesn't "
    "'d 'll".split()
)
_IRREGULAR: Final = {"have": "has", "do": "does", "go": "goes", "are": "is", "were": "was",
                     "don't": "doesn't", "am": "is", "'re": "is", "'m": "is", "'ve": "has"}
_SPEECH_RE: Final = re.compile(
    r"^(?P<subj>[\w'.\- ]{1,40}?)\s+(?:\w+ly\s+|always\s+|also\s+|still\s+|just\s+)?"
    r"(?:says|said|say|thinks?|thought|mentioned|mentions|told|tells|wrote|writes|claims?|"
    r"claimed|suggests?|suggested|recommends?|recommended|believes?|insists?|argues?|"
    r"argued|reckons?|asked|wants|wanted|stated|reads)\b",
    re.IGNORECASE,
)
_NAME_VERB_RE: Final = re.compile(
    r"^(?P<name>[A-Z][a-z]+)\s+(?:\w+ly\s+|always\s+|also\s+|still\s+|never\s+)?"
    r"(?:prefers|preferred|likes|liked|uses|used|loves|hates|swears by|wants|insists)\b"
)
_FIRST_PERSON_START_RE: Final = re.compile(r"^(?:i|i'm|i've|i'd|we|we're|we've|me|us)\b",
                                           re.IGNORECASE)
_NOT_SPEAKERS: Final = frozenset(
    "don't do not never always please to you i we should would can will ever just also "
    "and so but or then".split()
)
_CONTRAST_START_RE: Final = re.compile(r"^(?:but|however|though|whereas|while|yet)\b",
                                       re.IGNORECASE)
_DURABLE_VERBS_RE: Final = re.compile(r"^(?:prefer|default to|stick (?:to|with)|lean towards)$",
                                      re.IGNORECASE)
_USE_VERBS: Final = frozenset({"use", "using", "write", "prefer"})
_EVERY_RE: Final = re.compile(r"\b(?:every|all|always|each|any)\b", re.IGNORECASE)
_ENV_CUT_RE: Final = re.compile(
    r",|;|\s(?:for|so|because|but|if|since|which|that|instead|rather|via|through|installed|"
    r"managed|from|when|to)\s",
    re.IGNORECASE,
)
_ON_OS_RE: Final = re.compile(
    r"\bon\s+((?:mac\s?os|windows|linux|ubuntu|debian|fedora|arch|wsl2?)\b[\w. ]*?)\s*[,.]?$",
    re.IGNORECASE,
)
_GENERIC_MACHINE: Final = frozenset("laptop machine computer setup box workstation pc mac".split())
_MAX_CONTENT: Final = 220


def normalize_fact(content: str) -> str:
    """Normalize fact content for deduplication.

    Casefolds, drops quote characters and backticks, strips punctuation that is not
    inside a word (``config.toml`` and ``3.12`` survive) and collapses whitespace.
    """
    text = _NORM_QUOTES_RE.sub("", content.casefold())
    text = _NORM_PUNCT_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip()


def extract_facts(text: str) -> list[ExtractedFact]:
    """Extract durable facts from one user message.

    Returns at most one fact per (category, subject), in the order they appear.
    Code, quoted and pasted text is never mined; see the module docstring for the
    rules. Pure and fast: no I/O, no model.
    """
    state = _State()
    for start, end in _prose_lines(text):
        line = text[start:end]
        masked = _MASK_RE.sub(_mask_match, line) if _has_quote_chars(line) else line
        for s, e in _sentences(masked):
            _sentence(text, masked, start, s, e, state)
    return state.facts


# --- reading the message ----------------------------------------------------------


def _has_quote_chars(line: str) -> bool:
    return '"' in line or "`" in line or "'" in line or "“" in line or "‘" in line


def _mask_match(m: re.Match[str]) -> str:
    g = m.group()
    return g[0] + "~" * (len(g) - 2) + g[-1]


def _prose_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line that is the user's own prose."""
    out: list[tuple[int, int]] = []
    fence: str | None = None
    pos = 0
    for raw in text.splitlines(keepends=True):
        start = pos
        pos += len(raw)
        line = raw.rstrip("\r\n")
        stripped = line.lstrip()
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if not stripped or stripped.startswith(">") or line.startswith(("    ", "\t")):
            continue
        if fp.OUTPUT_LINE_RE.match(line) or fp.TABLE_LINE_RE.search(line):
            continue
        out.append((start, start + len(line)))
    return out


def _sentences(line: str) -> list[tuple[int, int]]:
    """Split one prose line into sentence spans (offsets within the line)."""
    out: list[tuple[int, int]] = []
    begin = 0
    for m in _SENT_END_RE.finditer(line):
        word_start = line.rfind(" ", begin, m.start()) + 1
        if line[word_start : m.start()].lower().rstrip(".") in _ABBREV:
            continue
        if m.end() - begin > 1:
            out.append((begin, m.end()))
        begin = m.end()
    if begin < len(line):
        out.append((begin, len(line)))
    trimmed: list[tuple[int, int]] = []
    for s, e in out:
        chunk = line[s:e]
        lead = len(chunk) - len(chunk.lstrip())
        tail = len(chunk) - len(chunk.rstrip())
        if e - tail > s + lead:
            trimmed.append((s + lead, e - tail))
    return trimmed


def _clauses(sentence: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    begin = 0
    for m in fp.CLAUSE_SPLIT_RE.finditer(sentence):
        if m.start() > begin:
            out.append((begin, m.start()))
        begin = m.end()
    if begin < len(sentence):
        out.append((begin, len(sentence)))
    return out


# --- one sentence -----------------------------------------------------------------


def _sentence(text: str, masked_line: str, base: int, s: int, e: int, state: _State) -> None:
    sent = masked_line[s:e]
    span = (base + s, base + e)
    original = text[span[0] : span[1]]
    pending = state.pending_correction
    state.pending_correction = False

    clauses = _clauses(sent)
    if not clauses:
        return
    if sent.rstrip().endswith("?") and not _is_request(sent, clauses[0]):
        first = _strip_discourse(sent[clauses[0][0] : clauses[0][1]])[1]
        if (
            len(clauses) == 1
            or fp.INTERROGATIVE_RE.match(first)
            or fp.TAG_QUESTION_RE.search(sent)
        ):
            return
        clauses = clauses[:-1]
    lower = sent.lower()
    if "according to" in lower:
        return

    marker = fp.CORRECTION_START_RE.match(sent)
    correction = pending or marker is not None or bool(fp.CORRECTION_ANY_RE.search(sent))
    durable = fp.DURABLE_RE.search(sent) is not None
    transient = fp.TRANSIENT_RE.search(sent) is not None

    hits: list[_Hit] = []
    reporting = False
    for cs, ce in clauses:
        offset, clause = _strip_discourse(sent[cs:ce])
        polite = _POLITE_RE.match(clause)
        if polite:
            rest = clause[polite.end() :]
            lead = len(rest) - len(rest.lstrip(" ,"))
            more, clause = _strip_discourse(rest[lead:])
            offset += polite.end() + lead + more
        if not clause:
            continue
        if reporting and not _CONTRAST_START_RE.match(sent[cs:ce].lstrip()):
            continue
        reporting = False
        if _is_reported(clause):
            reporting = True
            continue
        if fp.CONDITIONAL_RE.match(clause):
            # "If you're unsure, always ask first": only the main clause can hold a fact.
            comma = clause.find(", ")
            if comma < 0:
                continue
            offset += comma + 2
            clause = clause[comma + 2 :]
        if fp.HEDGE_RE.search(clause):
            continue
        if fp.INTERROGATIVE_RE.match(clause) and not clause.lower().startswith("right"):
            continue
        orig_clause = original[cs + offset : ce]
        found = _clause(clause, orig_clause, durable, transient, state)
        if found:
            hits.extend(found)
            state.last_subject = found[-1].subject

    if correction and not _is_bare_tail(sent):
        hit = _correction(sent, original, marker, hits)
        if hit is not None:
            hits = [hit]
        elif marker is not None:
            hits = []
    elif fp.CORRECTION_TAIL_RE.search(sent) and not hits:
        state.pending_correction = True

    for hit in hits:
        key = (hit.category, hit.subject)
        if key in state.seen:
            continue
        state.seen.add(key)
        state.last_subject = hit.subject
        state.facts.append(ExtractedFact(hit.category, hit.content, hit.subject,
                                         round(hit.confidence, 2), span))


def _is_request(sent: str, first_clause: tuple[int, int]) -> bool:
    """ "Could you please, from now on, ...?" is a durable request, not a question."""
    first = _strip_discourse(sent[first_clause[0] : first_clause[1]])[1]
    polite = _POLITE_RE.match(first)
    return bool(
        polite
        and fp.DURABLE_RE.search(sent)
        and not _POLITE_EXCLUDE_RE.match(first[polite.end() :].lstrip(" ,"))
    )


def _is_bare_tail(sent: str) -> bool:
    """ "That quote is wrong." -- a correction whose fact comes in the next sentence."""
    return fp.CORRECTION_TAIL_RE.search(sent) is not None and len(sent.split()) <= 12


def _strip_discourse(clause: str) -> tuple[int, str]:
    m = fp.DISCOURSE_RE.match(clause)
    offset = m.end() if m else 0
    body = clause[offset:]
    stripped = body.strip(" ,.;:!-—–\"'")
    offset += body.find(stripped[:1]) if stripped else len(body)
    return offset, stripped


def _is_reported(clause: str) -> bool:
    if fp.PERSON_RE.match(clause):
        return True
    m = _SPEECH_RE.match(clause)
    if m:
        subj = m.group("subj").lower()
        if not _FIRST_PERSON_START_RE.match(subj) and subj.split()[-1] not in _NOT_SPEAKERS:
            return True
    n = _NAME_VERB_RE.match(clause)
    return bool(n and not fp.find_terms(n.group("name")))


def _correction(sent: str, original: str, marker: re.Match[str] | None,
                hits: list[_Hit]) -> _Hit | None:
    body_start = marker.end() if marker else 0
    offset, body = _strip_discourse(sent[body_start:])
    orig_body = original[body_start + offset :]
    content = "Correction: " + _rewrite(orig_body, capitalize=False)
    if hits:
        first = hits[0]
        return _Hit("correction", first.subject, content, min(0.9, first.confidence + 0.05))
    low = body.lower()
    if not (" not " in f" {low} " or "instead" in low or (marker and marker.group("marker")
            .lower().startswith(("i meant", "i mean", "wrong", "correction")))):
        return None
    wrong = fp.WRONG_NOUN_RE.match(sent[marker.start("marker") :] if marker else sent)
    if wrong:
        content = "Correction: " + _rewrite(original[marker.start("marker") :] if marker else
                                             original, capitalize=False)
        return _Hit("correction", wrong.group("noun").lower().strip(), content, 0.75)
    not_but = fp.NOT_BUT_RE.search(body)
    subject = fp.first_term(body[not_but.start("y"):]) if not_but else None
    subject = subject or fp.first_term(body)
    if subject is None:
        return None
    return _Hit("correction", subject, content, 0.7)


# --- one clause -------------------------------------------------------------------


def _clause(c: str, orig: str, durable: bool, transient: bool, state: _State) -> list[_Hit]:
    m = fp.MY_PREF_RE.match(c)
    if m:
        return [_pref(m.group("obj"), orig, 0.9, state)]
    m = fp.PREF_I_RE.match(c)
    if m:
        return _first_person_pref(m.group("verb").lower(), m.group("obj"), orig, durable,
                                  transient, state)
    if fp.LINE_LENGTH_RE.search(c) and not transient:
        return [_Hit("preference", "line length", _rewrite(orig), 0.8)]
    m = fp.IMPERATIVE_RE.match(c)
    if m:
        return _imperative(m, orig, durable, transient, state)
    if durable and not transient and _NO_NOUN_RE.match(c):
        return [_pref(c[3:], orig, 0.7, state)]
    m = fp.I_ENV_RE.match(c)
    if m:
        obj = m.group("obj") if m.group("obj") is not None else m.group("obj2")
        return _env_terms(obj or "", orig)
    m = fp.MY_RE.match(c)
    if m:
        return _my(m.group("np"), m.group("rest"), orig)
    m = fp.WE_RE.match(c)
    if m:
        return _we(m.group("verb").lower(), m.group("obj"), c, orig)
    m = fp.THIS_IS_A_RE.match(c)
    if m:
        subject = fp.first_term(m.group("obj"), ("tool",)) or _head(m.group("obj"))
        return [_Hit("project", subject, _rewrite(orig), 0.7)] if subject else []
    port = fp.PORT_RE.search(c)
    command = fp.COMMAND_NOUN_RE.match(c)
    if port and (command or _IT_PORT_RE.match(c) or fp.NP_RE.match(c)):
        if _PORT_NEG_RE.search(c[: port.start()]):
            return []
        return [_Hit("project", "port", _rewrite(orig), 0.8)]
    if command and command.group("rest").strip(" .`~"):
        noun = command.group("np").lower().split()[-1].rstrip("s").replace("linter", "lint")
        subject = {"test": "test command", "lint": "lint command", "linting": "lint command",
                   "build": "build command"}.get(noun, f"{noun} command")
        if noun in {"doc", "build"}:
            subject = fp.first_term(command.group("rest"), ("tool",)) or subject
        return [_Hit("project", subject, _rewrite(orig), 0.85)]
    m = fp.NP_RE.match(c)
    if m:
        return _np(m.group("np"), m.group("verb").lower(), m.group("rest"), c, orig)
    return []


def _first_person_pref(verb: str, obj: str, orig: str, durable: bool, transient: bool,
                       state: _State) -> list[_Hit]:
    if transient:
        return []
    if (
        verb in {"like", "love"}
        and not fp.COMPARATIVE_RE.search(obj)
        and not durable
        and not _LIKE_MY_RE.match(obj)
    ):
        return []
    if verb.startswith(("want", "always want", "'d like", "would like", "need", "expect",
                        "care", "insist")) and not (durable or _EVERY_RE.search(obj)):
        return []
    return [_pref(obj, orig, 0.9, state)]


def _imperative(m: re.Match[str], orig: str, durable: bool, transient: bool,
                state: _State) -> list[_Hit]:
    if transient:
        return []
    neg = (m.group("neg") or "").strip().lower()
    verb = m.group("verb").lower()
    obj = m.group("obj")
    if _DURABLE_VERBS_RE.match(verb):
        conf = 0.8
    elif neg in {"always", "never", "never ever", "don't ever", "ever"}:
        conf = 0.85
    elif neg and fp.NEG_IMPERATIVE_VERBS.match(verb):
        conf = 0.65
    elif verb in _USE_VERBS and re.search(r"\b(?:instead of|rather than|over)\b", obj, re.I):
        conf = 0.7
    elif re.search(r"\b(?:instead of|rather than)\b", obj, re.I):
        conf = 0.65
    elif verb == "keep" and _KEEP_STYLE_RE.search(obj):
        conf = 0.65
    elif durable:
        conf = 0.75
    else:
        return []
    return [_pref(obj, orig, conf, state, verb)]


def _pref(obj: str, orig: str, conf: float, state: _State, verb: str = "") -> _Hit:
    content = _rewrite(orig)
    if fp.PRONOUN_OBJ_RE.match(obj.strip()):
        subject = fp.first_term(obj) or state.last_subject
        if subject is not None and state.last_subject is not None:
            content = f"{content} (re: {state.last_subject})"
        return _Hit("preference", subject or "general", content, conf - 0.1)
    subject = fp.first_term(obj) or _head(obj) or verb.lower() or "general"
    return _Hit("preference", subject, content, conf)


def _env_terms(obj: str, orig: str) -> list[_Hit]:
    cut = _ENV_CUT_RE.search(obj)
    scope = obj[: cut.start()] if cut else obj
    subjects: list[tuple[str, int, int]] = []
    for subject, kind, s, e in fp.find_terms(scope):
        if kind == "env" and all(subject != x[0] for x in subjects):
            subjects.append((subject, s, e))
    if not subjects:
        return []
    if len(subjects) == 1:
        return [_Hit("environment", subjects[0][0], _rewrite(orig), 0.85)]
    return [
        _Hit("environment", subject, f"The user's {_label(subject)} is {scope[s:e]}", 0.8)
        for subject, s, e in subjects
    ]


def _my(np: str, rest: str, orig: str) -> list[_Hit]:
    if fp.PERSON_RE.match("my " + np) or _NEG_START_RE.match(rest):
        return []
    noun = fp.ENV_NOUNS.search(np)
    if noun is None or not rest.strip(" .,"):
        return []
    subject = noun.group().lower()
    if subject in _GENERIC_MACHINE:
        subject = fp.first_term(rest, ("env",)) or subject
    hits = [_Hit("environment", subject, _rewrite(orig), 0.85)]
    on_os = _ON_OS_RE.search(rest)
    if on_os and subject != "os":
        hits.append(_Hit("environment", "os", f"The user is on {on_os.group(1)}", 0.75))
    return hits


def _we(verb: str, obj: str, clause: str, orig: str) -> list[_Hit]:
    pronoun = fp.PRONOUN_OBJ_RE.match(obj)
    if pronoun:
        obj = obj[pronoun.end() :]
    if not obj.strip() or not _informative(obj):
        return []
    if fp.PORT_RE.search(clause):
        subject: str | None = "port"
    elif fp.DEPLOY_VERB_RE.match(verb):
        subject = "deploy target"
    elif fp.SWITCH_VERB_RE.match(verb):
        to = re.search(r"\b(?:to|on|with)\s", obj)
        subject = fp.first_term(obj[to.end():] if to else obj) or _head(obj)
    else:
        subject = fp.first_term(obj) or _head(obj)
    if not subject:
        return []
    return [_Hit("project", subject, _rewrite(orig), 0.85)]


def _np(np: str, verb: str, rest: str, clause: str, orig: str) -> list[_Hit]:
    words = np.split()
    if len(words) > 5 or _NP_BAD_RE.search(np) or fp.PERSON_RE.match(np):
        return []
    if _NEG_START_RE.match(rest) and not fp.NOT_BUT_RE.search(rest):
        return []
    if _STATE_WORDS_RE.match(rest) or not _informative(rest):
        return []
    low = np.lower()
    if re.search(r"\b(?:called|named)$", verb) and len(words) <= 3:
        return [_Hit("project", f"{' '.join(words[-2:]).lower()} name", _rewrite(orig), 0.75)]
    noun = fp.PROJECT_NOUNS.search(low)
    own = fp.first_term(low, ("tool",)) if noun is None else None
    if own is not None:
        subject: str | None = own
    elif low.split()[-1] in fp.GENERIC_NOUNS or noun is None:
        subject = fp.first_term(rest, ("tool", "env"))
        if subject is None or noun is None and low not in fp.GENERIC_NOUNS:
            return []
    else:
        subject = " ".join(words[-3:]).lower()
    return [_Hit("project", subject, _rewrite(orig), 0.75)]


# --- helpers ----------------------------------------------------------------------


def _informative(value: str) -> bool:
    return bool(fp.INFORMATIVE_RE.search(value) or fp.find_terms(value))


def _head(obj: str) -> str | None:
    """Fallback subject: the first content words of an object phrase."""
    cut = fp.OBJECT_CUT_RE.search(obj)
    phrase = fp.DETERMINERS_RE.sub("", (obj[: cut.start()] if cut else obj).strip())
    words = [w.strip("~`\"'.,!?()").lower() for w in phrase.split()[:2]]
    words = [w for w in words if w and w not in fp.STOP_WORDS and not set(w) <= {"~"}]
    if len(words) == 2 and words[1].endswith(("ed", "ly")):
        words = words[:1]
    return " ".join(words) or None


def _label(subject: str) -> str:
    return "OS" if subject == "os" else subject


def _rewrite(text: str, capitalize: bool = True) -> str:
    """Make a clause readable out of context: first person becomes third person."""
    text = _PUNCT_EDGE_RE.sub("", text)
    text = re.sub(r"^(?:please|pls)\s+|[, ]+please$", "", text, flags=re.IGNORECASE)
    text = _PRONOUN_VERB_RE.sub(_third_person, text)
    text = _POSSESSIVE_RE.sub(_possessive, text)
    if len(text) > _MAX_CONTENT:
        text = text[:_MAX_CONTENT].rsplit(" ", 1)[0] + "…"
    if capitalize and text:
        text = text[0].upper() + text[1:]
    return text


def _third_person(m: re.Match[str]) -> str:
    who = "the user" if m.group("subj").lower() == "i" else "the project"
    contraction = (m.group("c") or "").lower()
    adv = m.group("adv") or ""
    verb = m.group("verb")
    if contraction:
        aux = {"'m": "is", "'re": "is", "'ve": "has", "'d": "would", "'ll": "will"}[contraction]
        tail = f" {adv}{verb}" if verb else ""
        return f"{who} {aux}{tail}"
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


def _possessive(m: re.Match[str]) -> str:
    word = m.group().lower()
    return {"my": "the user's", "mine": "the user's", "me": "the user",
            "our": "the project's", "ours": "the project's", "us": "the team"}[word]
