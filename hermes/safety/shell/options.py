"""Reading argv the way the program itself will: short clusters, ``--opt=value``, GNU
abbreviations.

``-iO'cmd'`` is ``-i`` then ``-O`` with the value ``cmd``; ``--out=f`` may be
``--output=f``; a letter that takes an argument eats the rest of its cluster or the
next word. :func:`parse` applies one program's :class:`Grammar` to its arguments, and
:func:`danger` finds a forbidden option however it was spelled. Where the grammar is
unsure it errs towards asking: a forbidden letter anywhere in a cluster counts, and a
long option counts when it could abbreviate a forbidden name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grammar:
    """The option syntax of one program (only what the checks need: which options take
    an argument, and the long names abbreviations are resolved against)."""

    short_arg: str = ""
    """Letters taking an argument, attached (``-ofile``) or as the next word."""
    short_optional: str = ""
    """Letters taking an optional argument that can only be attached (``-O[pager]``)."""
    long_arg: frozenset[str] = frozenset()
    """Long names taking an argument (``--name=value`` or ``--name value``)."""
    long_optional: frozenset[str] = frozenset()
    """Long names taking an optional argument, only as ``--name=value``."""
    long_flags: frozenset[str] = frozenset()
    """Long names taking no argument (known, so abbreviations resolve as getopt does)."""
    numeric: bool = False
    """``-20`` is an option (``head -20``)."""
    permute: bool = True
    """GNU order: options may follow operands. False: the first operand ends them."""

    @property
    def long_names(self) -> frozenset[str]:
        """Every long name the grammar knows."""
        return self.long_arg | self.long_optional | self.long_flags


def grammar(
    short_arg: str = "",
    short_optional: str = "",
    long_arg: str = "",
    long_optional: str = "",
    long_flags: str = "",
    numeric: bool = False,
    permute: bool = True,
) -> Grammar:
    """A :class:`Grammar` from space-separated long names."""
    return Grammar(
        short_arg,
        short_optional,
        frozenset(long_arg.split()),
        frozenset(long_optional.split()),
        frozenset(long_flags.split()),
        numeric,
        permute,
    )


@dataclass(frozen=True)
class Option:
    """One option as the program reads it."""

    word: str
    """The argv word it was found in (a whole cluster for short options)."""
    name: str
    """``-x``; ``--full-name`` when an abbreviation resolved; else ``--as-written``."""
    value: str | None = None
    candidates: tuple[str, ...] = ()
    """For a long option that did not resolve to one known name: the known names it
    may abbreviate (several: getopt refuses it as ambiguous)."""
    value_is_next: bool = False


@dataclass(frozen=True)
class Parsed:
    """Options and operands, in order."""

    options: tuple[Option, ...] = ()
    operands: tuple[str, ...] = ()
    after_double_dash: int = -1
    """Index in ``operands`` from which option parsing had stopped (after ``--``, or
    the first operand of a program that takes options only before operands); -1: none."""
    words: tuple[str, ...] = field(default=(), repr=False)
    operand_index: tuple[int, ...] = ()
    """Where each operand is in the parsed words."""
    value_index: tuple[int, ...] = ()
    """Where option values given as separate words are in the parsed words."""

    def has(self, *names: str) -> bool:
        """Whether any of ``names`` (``-x`` or ``--full``) was given."""
        return any(o.name in names for o in self.options)

    def values(self, *names: str) -> list[str]:
        """The values given to any of ``names``, in order."""
        return [o.value for o in self.options if o.name in names and o.value is not None]


def resolve_long(name: str, g: Grammar) -> tuple[str, tuple[str, ...]]:
    """``(full name or name, candidates)`` for a long option name as getopt_long does."""
    names = g.long_names
    if name in names:
        return name, ()
    found = tuple(sorted(n for n in names if n.startswith(name))) if name else ()
    if len(found) == 1:
        return found[0], ()
    return name, found


def parse(args: Sequence[str], g: Grammar) -> Parsed:
    """Split ``args`` (the words after the program name) into options and operands."""
    options: list[Option] = []
    operands: list[str] = []
    where: list[int] = []
    values: list[int] = []
    after = -1
    n = len(args)
    j = 0
    while j < n:
        a = args[j]
        j += 1
        if a == "--":
            after = len(operands)
            operands.extend(args[j:])
            where.extend(range(j, n))
            break
        if a.startswith("--"):
            raw, eq, value = a[2:].partition("=")
            full, candidates = resolve_long(raw, g)
            if eq:
                options.append(Option(a, f"--{full}", value, candidates))
            elif full in g.long_arg and not candidates and j < n:
                options.append(Option(a, f"--{full}", args[j], candidates, True))
                values.append(j)
                j += 1
            else:
                options.append(Option(a, f"--{full}", None, candidates))
            continue
        if a.startswith("-") and len(a) > 1:
            if g.numeric and a[1:].isdigit():
                options.append(Option(a, "-#", a[1:]))
                continue
            k = 1
            while k < len(a):
                ch = a[k]
                rest = a[k + 1 :]
                if ch in g.short_arg:
                    if rest:
                        options.append(Option(a, f"-{ch}", rest))
                    elif j < n:
                        options.append(Option(a, f"-{ch}", args[j], value_is_next=True))
                        values.append(j)
                        j += 1
                    else:
                        options.append(Option(a, f"-{ch}"))
                    break
                if ch in g.short_optional:
                    options.append(Option(a, f"-{ch}", rest or None))
                    break
                options.append(Option(a, f"-{ch}"))
                k += 1
            continue
        operands.append(a)
        where.append(j - 1)
        if not g.permute:
            after = len(operands)
            operands.extend(args[j:])
            where.extend(range(j, n))
            break
    return Parsed(tuple(options), tuple(operands), after, tuple(args), tuple(where), tuple(values))


def danger(
    parsed: Parsed, g: Grammar, short: Mapping[str, str], long: Mapping[str, str]
) -> tuple[str, str] | None:
    """``(option as shown, why)`` for the first forbidden option, else None.

    ``short`` maps letters and ``long`` maps full long names to why they are forbidden.
    A forbidden letter counts anywhere in a cluster (even where a letter before it
    might take it as its argument); a long option counts when it is, or could
    abbreviate, a forbidden name, unless it is exactly some other known name.
    """
    known = g.long_names
    for o in parsed.options:
        if o.name.startswith("--"):
            name = o.name[2:]
            if name in long:
                return f"--{name}", long[name]
            if name in known:
                continue  # exactly, or unambiguously abbreviating, an allowed name
            typed = o.word[2:].partition("=")[0]
            for full, why in long.items():
                if typed and full.startswith(typed):
                    return f"--{full}", why
            continue
        if o.name == "-#":
            continue
        for ch in o.word[1:]:
            if ch in short:
                return f"-{ch}", short[ch]
    return None
