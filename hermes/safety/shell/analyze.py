"""Shell-command safety analysis: is a command proven read-only, is it catastrophic?

Commands are parsed with tree-sitter-bash, never prefix-matched. Only plain commands
joined by ``&& || ; |`` (and newlines) can be read-only, and only when every one of
them is on the read-only list with read-only flags (see :mod:`hermes.safety.shell.programs`).
Anything else asks, with a reason a person can read. Catastrophic patterns are found
on the parsed commands (through wrappers such as sudo, xargs and ``bash -c``) and, when
the command hides parts of itself, by a textual scan as well
(:mod:`hermes.safety.shell.danger`). Pure functions, no I/O.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

from hermes.safety.shell.danger import (
    catastrophic_command,
    catastrophic_pipeline,
    catastrophic_redirect,
    textual_catastrophic,
    textual_network,
)
from hermes.safety.shell.parse import (
    Word,
    get_parser,
    has_error,
    node_text,
    precheck,
    resolve_word,
    words_are_separate,
)
from hermes.safety.shell.programs import is_network, judge, prefix_of
from hermes.safety.shell.wrappers import SHELLS, unwrap

__all__ = ["CommandVerdict", "SimpleCommand", "analyze_command"]

_MAX_DEPTH = 6
_SUMMARY_CHARS = 120


@dataclass(frozen=True)
class SimpleCommand:
    """One simple command, after quote removal and with wrappers peeled off.

    ``wrappers`` names what was peeled (``sudo``, ``env``, ``timeout``, ``bash`` for a
    ``bash -c`` payload ...), so a grant for ``rm`` need not cover ``sudo rm``.
    """

    argv: tuple[str, ...]
    prefix: str
    wrappers: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandVerdict:
    """The analysis of one command line.

    ``plain`` is True when the line is nothing but simple commands joined by
    ``&& || ; |`` with plain words (no redirection, substitution, expansion, subshell
    ...), i.e. when judging it command by command (per-sub-command rules) is sound.
    """

    read_only: bool
    reason: str
    catastrophic: str | None
    commands: tuple[SimpleCommand, ...]
    parsed: bool
    network: bool
    plain: bool = False


def analyze_command(command: str) -> CommandVerdict:
    """Classify a shell command line; fails closed (not read-only) on anything unsure."""
    try:
        return _analyze(command, 0)
    except RecursionError:
        return _unparsed(command, "asks: the command is nested too deeply")
    except Exception as exc:  # a bug here must never make a command pass
        return _unparsed(command, f"asks: could not analyze the command ({type(exc).__name__})")


def _unparsed(text: str, reason: str) -> CommandVerdict:
    try:
        cat = textual_catastrophic(text)
        net = textual_network(text)
    except Exception:  # still refuse to call it read-only; flags stay conservative
        cat, net = None, True
    return CommandVerdict(False, reason, _printable(cat) or None, (), False, net, False)


def _printable(text: str | None) -> str:
    """Reasons quote command text; keep them on one line and free of control codes."""
    if not text:
        return ""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _summary(text: str) -> str:
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines()]
    joined = "; ".join(line for line in lines if line)
    if len(joined) > _SUMMARY_CHARS:
        joined = joined[: _SUMMARY_CHARS - 1] + "…"
    return _printable(joined)


def _analyze(text: str, depth: int) -> CommandVerdict:
    problem = precheck(text)
    if problem:
        return _unparsed(text, f"asks: {problem}")
    if depth > _MAX_DEPTH:
        return _unparsed(text, "asks: commands are nested too deeply")
    src = text.encode("utf-8")
    root = get_parser().parse(src).root_node
    if has_error(root):
        return _unparsed(text, "asks: could not parse the command")
    walker = _Walker(depth, src)
    walker.visit(root)
    if not walker.commands and walker.ask is None:
        walker.note("no command to run")
    read_only = walker.ask is None
    cat = walker.catastrophic
    if cat is None and walker.structural:
        cat = textual_catastrophic(text)
    reason = f"read-only: {_summary(text)}" if read_only else f"asks: {_printable(walker.ask)}"
    return CommandVerdict(
        read_only=read_only,
        reason=reason,
        catastrophic=_printable(cat) or None,
        commands=tuple(walker.commands),
        parsed=True,
        network=walker.network,
        plain=not walker.structural,
    )


_LIST_OPERATORS = frozenset({"&&", "||", ";", "|", "\n"})
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_CONSTRUCTS = {
    "subshell": "subshell ( )",
    "compound_statement": "command group { }",
    "function_definition": "function definition",
    "if_statement": "if statement",
    "while_statement": "loop",
    "for_statement": "loop",
    "c_style_for_statement": "loop",
    "case_statement": "case statement",
    "negated_command": "negated command !",
    "test_command": "test expression [ ]",
    "command_substitution": "command substitution $(...)",
    "process_substitution": "process substitution",
    "arithmetic_expansion": "arithmetic expansion $((...))",
    "variable_assignments": "variable assignments",
}
# Leaf-like nodes: not judged themselves, but searched for commands nested inside.
_PASSIVE = frozenset(
    (
        "word number raw_string string string_content concatenation variable_name "
        "special_variable_name simple_expansion expansion ansi_c_string translated_string regex "
        "test_operator file_descriptor heredoc_start heredoc_body heredoc_content heredoc_end "
        "command_name binary_expression unary_expression ternary_expression postfix_expression "
        "parenthesized_expression subscript array brace_expression extglob_pattern do_group "
        "else_clause elif_clause case_item comment"
    ).split()
)
_OPERATOR_REASONS = {
    "&": "background job &",
    "|&": "pipe with stderr |&",
}


class _Walker:
    """Walks a parsed tree, collecting commands and the first reason to ask."""

    def __init__(self, depth: int, src: bytes) -> None:
        self.depth = depth
        self.src = src
        self.ask: str | None = None
        self.catastrophic: str | None = None
        self.commands: list[SimpleCommand] = []
        self.network = False
        self.structural = False

    def note(self, reason: str | None) -> None:
        """Record a reason to ask; the first one recorded is the one shown."""
        if reason and self.ask is None:
            self.ask = reason

    def structure(self, reason: str) -> None:
        """Record a reason that is about shell syntax, not about a program."""
        self.structural = True
        self.note(reason)

    def note_cat(self, reason: str | None) -> None:
        """Record a catastrophe; the first one found is the one shown."""
        if reason and self.catastrophic is None:
            self.catastrophic = reason

    def visit(self, node: Any) -> tuple[str, ...] | None:
        """Judge ``node``; for a command, return its unwrapped argv (pipeline checks)."""
        kind = node.type
        if kind in ("program", "list", "pipeline"):
            stages: list[tuple[str, ...]] = []
            for child in node.children:
                if child.is_named:
                    stages.append(self.visit(child) or ())
                elif child.type not in _LIST_OPERATORS:
                    self.structure(_OPERATOR_REASONS.get(child.type, f"operator {child.type}"))
            if kind == "pipeline":
                self.note_cat(catastrophic_pipeline(stages))
            return None
        if kind == "command":
            return self.command(node)
        if kind == "redirected_statement":
            body = node.child_by_field_name("body")
            result: tuple[str, ...] | None = None
            extra: list[str] = []
            for child in node.children:
                if child.type in _REDIRECTS:
                    extra.extend(self.redirect(child))
                elif child.is_named:
                    argv = self.visit(child)
                    if body is not None and child.id == body.id:
                        result = argv
            if extra and result:
                result = (*result, *extra)
                self.note_cat(catastrophic_command(result, depth=self.depth))
            return result
        if kind == "comment":
            return None
        if kind in _REDIRECTS:
            self.redirect(node)
            return None
        if kind in ("declaration_command", "unset_command"):
            self.declaration(node)
            return None
        if kind == "variable_assignment":
            name = node.child_by_field_name("name")
            self.structure(f"sets shell variable {node_text(name) if name else ''}")
            self.descend(node)
            return None
        self.structure(_CONSTRUCTS.get(kind, f"unsupported shell syntax ({kind})"))
        self.descend(node)
        return None

    def descend(self, node: Any) -> None:
        """Find and judge the commands nested anywhere under ``node``."""
        for child in node.named_children:
            self.nested(child)

    def nested(self, node: Any) -> None:
        """Judge a node found inside another (a substitution in a word ...)."""
        if node.type in _PASSIVE:
            self.descend(node)
        else:
            self.visit(node)

    def declaration(self, node: Any) -> None:
        """``export``/``declare``/``unset`` ...: never read-only."""
        keyword = node.children[0].type if node.children else "declare"
        self.structure(f"{keyword} changes shell state")
        argv = (keyword, *(node_text(c) for c in node.named_children))
        self.commands.append(SimpleCommand(argv, keyword))
        self.descend(node)

    def command(self, node: Any) -> tuple[str, ...]:
        """Judge one simple command; return its unwrapped argv."""
        assigns: list[Any] = []
        name_node: Any = None
        arg_nodes: list[Any] = []
        redirects: list[Any] = []
        for i, child in enumerate(node.children):
            kind = child.type
            if kind == "variable_assignment":
                assigns.append(child)
            elif kind == "command_name":
                name_node = child
            elif kind in _REDIRECTS:
                redirects.append(child)
            elif kind == "comment":
                continue
            elif child.is_named or node.field_name_for_child(i) == "argument":
                arg_nodes.append(child)
        if _spans_lines(node):
            self.structure("a command spans lines in a way bash reads differently")
        for a in assigns:
            name = a.child_by_field_name("name")
            self.structure(f"sets variable {node_text(name) if name else ''} for the command")
            self.descend(a)
        if name_node is None:
            for r in redirects:
                self.redirect(r)
            return ()
        name_child = name_node.named_children[0] if name_node.named_children else name_node
        name_word = resolve_word(name_child)
        words = [
            resolve_word(a) if a.is_named else Word(node_text(a), "expansion $") for a in arg_nodes
        ]
        argv = (name_word.value, *(w.value for w in words))
        if not _separate_words(node, [name_node, *arg_nodes]):
            self.structure("ambiguous word boundary (quotes next to a backslash)")
        name_problem = _program_name_problem(name_child, name_word)
        if name_problem:
            self.structure(name_problem)
            if name_word.problem:
                self.nested(name_child)

        u = unwrap(argv)
        inner = argv[u.start :]
        verdict: str | None
        if u.payload is not None:
            verdict = self.payload(u.payload, u.wrappers, words, u.payload_idx) or u.ask
            if verdict is None and not u.payload_flags_ok:
                verdict = f"{u.wrappers[-1]} options are not read-only"
        else:
            self.commands.append(SimpleCommand(inner, _prefix(inner, u.wrappers), u.wrappers))
            verdict = (judge(inner) if inner else None) or u.ask
            self.network = self.network or is_network(inner)
        self.note(verdict)
        if verdict or name_problem or any(w.problem for w in words):
            self.note_cat(catastrophic_command(argv, depth=self.depth))
        for a, w in zip(arg_nodes, words, strict=True):
            if w.problem:
                self.structure(w.problem)
                if a.is_named:
                    self.nested(a)
        extra = [w for r in redirects for w in self.redirect(r)]
        if extra:
            self.note_cat(catastrophic_command((*argv, *extra), depth=self.depth))
        return inner or argv

    def payload(
        self, text: str, wrappers: tuple[str, ...], words: list[Word], idx: tuple[int, ...]
    ) -> str | None:
        """Analyse a ``bash -c``/``eval`` payload; the reason it asks, if any."""
        sub = _analyze(text, self.depth + 1)
        static = not any(words[k - 1].problem for k in idx if k >= 1)
        if static:
            # A script built from expansions was already walked as part of this tree.
            for c in sub.commands:
                outer = wrappers + c.wrappers
                self.commands.append(replace(c, wrappers=outer, prefix=_prefix(c.argv, outer)))
        self.network = self.network or sub.network
        self.note_cat(sub.catastrophic)
        if not sub.plain:
            self.structural = True
        if not static:
            label = f"{wrappers[-1]} -c" if wrappers[-1] in SHELLS else wrappers[-1]
            return f"the {label} script is built from expansions"
        if not sub.read_only:
            return sub.reason.removeprefix("asks: ")
        return None

    def redirect(self, node: Any) -> list[str]:
        """Judge one redirection; return words the parser hung on it that bash
        passes to the command as arguments (``ls >/dev/null -la``)."""
        kind = node.type
        if kind == "heredoc_redirect":
            self.structure("here-document <<")
            self.descend(node)
            return []
        if kind == "herestring_redirect":
            self.structure("here-string <<<")
            self.descend(node)
            return []
        op = next((c.type for c in node.children if not c.is_named), ">")
        fd = node.child_by_field_name("descriptor")
        if fd is not None and (
            not node_text(fd).isdigit()
            or (fd.start_byte > 0 and self.src[fd.start_byte - 1] not in b" \n;&|()")
        ):
            # bash reads `-o2>x` as the word `-o2` and `>x`; the parser as `-o` and `2>x`.
            self.structure("ambiguous redirection (a number right after a word)")
        dest_nodes = [c for c in node.named_children if c.type != "file_descriptor"]
        if op in ("<&-", ">&-"):
            # `<&-` closes a descriptor; words after it are the command's arguments.
            extra_nodes, dest_nodes = dest_nodes, []
        else:
            extra_nodes = dest_nodes[1:]
        dest = resolve_word(dest_nodes[0]) if dest_nodes else Word("")
        self.note_cat(catastrophic_redirect(op, dest.value))
        extra = [resolve_word(c) for c in extra_nodes]
        if dest.problem:
            self.structure(dest.problem)
            self.nested(dest_nodes[0])
        elif op in ("<&-", ">&-") or (op in (">&", "<&") and dest.value.isdigit()):
            pass
        elif dest.value == "/dev/null" and op in (">", ">>", "&>", "&>>", "<", ">|"):
            pass
        elif "<" in op and ">" not in op:
            self.structure(f"redirect from {dest.value}")
        else:
            self.structure(f"redirect into {dest.value}")
        if extra:
            self.structure(f"arguments after a redirection ({extra[0].value[:40]})")
            for c, w in zip(extra_nodes, extra, strict=True):
                if w.problem:
                    self.structure(w.problem)
                    self.nested(c)
        return [w.value for w in extra]


def _separate_words(command: Any, nodes: list[Any]) -> bool:
    text = bytes(command.text)
    start = command.start_byte
    for left, right in itertools.pairwise(nodes):
        if not words_are_separate(text[left.end_byte - start : right.start_byte - start]):
            return False
    return True


def _spans_lines(node: Any) -> bool:
    """Whether a raw newline sits between the words of one simple command.

    bash ends a simple command at an unescaped newline, so the parser joining lines
    into one command would mean the two disagree about what runs.
    """
    text = bytes(node.text)
    if b"\n" not in text:
        return False
    start = node.start_byte
    children = node.children
    for left, right in itertools.pairwise(children):
        gap = text[left.end_byte - start : right.start_byte - start]
        if b"\n" in gap.replace(b"\\\n", b""):
            return True
    return False


def _program_name_problem(node: Any, word: Word) -> str | None:
    text = node_text(node)
    kind = node.type
    if kind == "ansi_c_string":
        return f"ANSI-C quoted program name ({text[:40]})"
    if kind != "word":
        if word.problem:
            return f"program name comes from an expansion ({word.problem})"
        return f"quoted program name ({text[:40]})"
    if "\\" in text:
        return f"escaped program name ({text[:40]})"
    if word.problem:
        return word.problem
    if not text.isascii():
        return f"non-ASCII program name ({text[:40]})"
    return None


def _prefix(argv: tuple[str, ...], wrappers: tuple[str, ...]) -> str:
    prefix = prefix_of(argv)
    # Running as another user is a different grant from running as yourself.
    if "sudo" in wrappers or "doas" in wrappers:
        return f"sudo {prefix}" if prefix else "sudo"
    return prefix
