"""Clause-level matching for the fact extractor (see hermes.memory.facts.extract).

``match_clause`` takes one clause (lowercased for matching, plus its masked and
original text) and returns the facts it states. Patterns are anchored at the start
of the clause and dispatched on its first word.
"""

from __future__ import annotations

import re
from typing import Final, Literal, NamedTuple

from hermes.memory.facts import patterns as fp
from hermes.memory.facts import text as ft
from hermes.memory.facts.lexicon import find_terms, first_term

__all__ = ["Clause", "FactCategory", "Hit", "Markers", "lead_word", "match_clause"]

FactCategory = Literal["preference", "correction", "project", "environment"]


class Hit(NamedTuple):
    """A fact found in one clause, before deduplication."""

    category: FactCategory
    subject: str
    content: str
    confidence: float


class Clause(NamedTuple):
    """One clause three ways: lowercased (matched), masked in its case, original."""

    low: str
    cased: str
    orig: str


class Markers:
    """Sentence-level markers, scanned only when a pattern asks for them."""

    __slots__ = ("_durable", "_transient", "low")

    def __init__(self) -> None:
        self.reset("")

    def reset(self, low: str) -> None:
        """Start on a new (lowercased) sentence."""
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


_COMMAND_SUBJECTS: Final = {
    "test": "test command",
    "lint": "lint command",
    "linting": "lint command",
    "build": "build command",
}


def lead_word(clause: str) -> str:
    """The first word without trailing punctuation or clitic ("what" of "what's up")."""
    word = clause.partition(" ")[0].partition("'")[0]
    return word.rstrip(",.;:!?") if word[-1:] in ",.;:!?" else word


# --- one clause -------------------------------------------------------------------


def match_clause(cl: Clause, mk: Markers, last: str | None, lead: str) -> list[Hit]:
    """Match one clause against the anchored patterns (dispatched on its first word).

    ``last`` is the subject of the previous fact (for "always run them"), ``lead``
    the clause's first word as given by `lead_word`.
    """
    c = cl.low
    first = c.partition(" ")[0]
    m = fp.MY_PREF_RE.match(c) if first == "my" else None
    if m:
        return [_pref(m.group("obj"), cl.orig, 0.9, last)]
    m = fp.PREF_I_RE.match(c) if first in fp.I_FIRST else None
    if m:
        return _first_person_pref(m.group("verb"), m.group("obj"), cl, mk, last)
    if ("char" in c or "col" in c) and fp.LINE_LENGTH_RE.search(c) and not mk.transient:
        return [Hit("preference", "line length", ft.rewrite(cl.orig), 0.8)]
    m = fp.IMPERATIVE_RE.match(c) if first in fp.IMPERATIVE_FIRST else None
    if m:
        return _imperative(m, cl, mk, last)
    if first == "no" and fp.NO_NOUN_RE.match(c) and mk.durable and not mk.transient:
        return [_pref(c[3:], cl.orig, 0.7, last)]
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
        return [Hit("project", subject, ft.rewrite(cl.orig), 0.7)] if subject else []
    port = fp.PORT_RE.search(c) if "port" in c or "localhost:" in c else None
    command = fp.COMMAND_NOUN_RE.match(c) if lead in fp.COMMAND_FIRST else None
    np_verb = fp.NP_HINT_RE.search(c) is not None
    if port and (command or fp.IT_PORT_RE.match(c) or (np_verb and fp.NP_RE.match(c))):
        if fp.PORT_NEG_RE.search(c[: port.start()]):
            return []
        return [Hit("project", "port", ft.rewrite(cl.orig), 0.8)]
    if command and command.group("rest").strip(" .`~"):
        noun = command.group("np").split()[-1].rstrip("s").replace("linter", "lint")
        subject = _COMMAND_SUBJECTS.get(noun, f"{noun} command")
        if noun in {"doc", "build"}:
            subject = first_term(command.group("rest"), ("tool",)) or subject
        return [Hit("project", subject, ft.rewrite(cl.orig), 0.85)]
    m = fp.NP_RE.match(c) if np_verb else None
    if m:
        return _np(m, cl)
    return []


def _first_person_pref(verb: str, obj: str, cl: Clause, mk: Markers, last: str | None) -> list[Hit]:
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
    return [_pref(obj, cl.orig, 0.9, last)]


def _imperative(m: re.Match[str], cl: Clause, mk: Markers, last: str | None) -> list[Hit]:
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
    return [_pref(obj, cl.orig, conf, last, verb)]


def _pref(obj: str, orig: str, conf: float, last: str | None, verb: str = "") -> Hit:
    """A preference; its subject comes from the verb and object ("run the tests")."""
    content = ft.rewrite(orig)
    said = f"{verb} {obj}" if verb else obj
    if fp.PRONOUN_OBJ_RE.match(obj.strip()):
        subject = first_term(said) or last
        if subject is not None and last is not None:
            content = f"{content} (re: {last})"
        return Hit("preference", subject or verb or "general", content, conf - 0.1)
    subject = first_term(said) or _head(obj) or verb or "general"
    return Hit("preference", subject, content, conf)


def _env_terms(obj: str, cl: Clause) -> list[Hit]:
    cut = fp.ENV_CUT_RE.search(obj)
    scope = obj[: cut.start()] if cut else obj
    found: list[tuple[str, int, int]] = []
    for subject, kind, s, e in find_terms(scope):
        if kind == "env" and all(subject != x[0] for x in found):
            found.append((subject, s, e))
    if not found:
        return []
    if len(found) == 1:
        return [Hit("environment", found[0][0], ft.rewrite(cl.orig), 0.85)]
    base = cl.low.find(obj)
    hits = []
    for subject, s, e in found:
        value = cl.orig[base + s : base + e] if base >= 0 else scope[s:e]
        label = "OS" if subject == "os" else subject
        hits.append(Hit("environment", subject, f"The user's {label} is {value}", 0.8))
    return hits


def _my(m: re.Match[str], cl: Clause) -> list[Hit]:
    np, rest = m.group("np"), m.group("rest")
    if fp.PERSON_RE.match("my " + np) or fp.NEG_START_RE.match(rest):
        return []
    noun = fp.ENV_NOUNS.search(np)
    if noun is None or not rest.strip(" .,"):
        return []
    subject = noun.group()
    if subject in fp.GENERIC_MACHINE:
        subject = first_term(rest, ("env",)) or subject
    hits = [Hit("environment", subject, ft.rewrite(cl.orig), 0.85)]
    on_os = fp.ON_OS_RE.search(cl.orig.rstrip(" ."))
    if on_os and subject != "os":
        hits.append(Hit("environment", "os", f"The user is on {on_os.group(1)}", 0.75))
    return hits


def _we(m: re.Match[str], cl: Clause) -> list[Hit]:
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
    return [Hit("project", subject, ft.rewrite(cl.orig), 0.85)]


def _np(m: re.Match[str], cl: Clause) -> list[Hit]:
    np, verb, rest = m.group("np"), m.group("verb"), m.group("rest")
    words = np.split()
    if not words or len(words) > 5 or fp.NP_BAD_RE.search(np) or fp.PERSON_RE.match(np):
        return []
    if fp.NEG_START_RE.match(rest) and not fp.NOT_BUT_RE.search(rest):
        return []
    if fp.STATE_WORDS_RE.match(rest) or not _informative(rest, cl.cased[m.start("rest") :]):
        return []
    if fp.CALLED_RE.search(verb) and len(words) <= 3:
        return [Hit("project", f"{' '.join(words[-2:])} name", ft.rewrite(cl.orig), 0.75)]
    nouns = fp.PROJECT_NOUNS.findall(np)
    specific = any(n not in fp.GENERIC_NOUNS for n in nouns)
    own = first_term(np, ("tool",)) if not nouns else None
    subject: str | None
    if own is not None:  # "our Postgres runs on RDS"
        subject = own
    elif specific:  # "the staging server is in Frankfurt"
        subject = " ".join(words[-3:])
    else:  # "the code is formatted with black": the value names the subject
        subject = first_term(rest, ("tool", "env"))
        if subject is None or (not nouns and np not in fp.GENERIC_NOUNS):
            return []
    return [Hit("project", subject, ft.rewrite(cl.orig), 0.75)]


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
