"""Shell-command safety analysis: is a command proven read-only, is it catastrophic?

Commands are parsed with tree-sitter-bash, never prefix-matched. Only plain commands
joined by ``&& || ; |`` (and newlines) can be read-only, and only when every one of
them is on the read-only list with read-only flags (see :mod:`hermes.safety.shell.programs`).
Anything else asks, with a reason a person can read. Catastrophic patterns are found
on the parsed commands (through wrappers such as sudo, xargs and ``bash -c``) and, when
the command hides parts of itself, by a textual scan as well
(:mod:`hermes.safety.shell.danger`).

With a :class:`~hermes.safety.shell.context.ShellContext` (where the command runs) the
analysis also consults the disk, and can prove more: ``cd`` into a workspace folder,
globs expanded against the folder, input redirected from a workspace file, here-strings,
``<(...)`` of read-only commands and ``[ ... ]`` tests run without asking, and git
commands are checked against the configuration git would read
(:mod:`hermes.safety.shell.gitconfig`). Without one it is purely syntactic and those
ask. Either way, arguments and redirections naming a secret file
(:mod:`hermes.safety.sensitive`) make the command ask, and so do commands printing the
environment (``env``, ``printenv TOKEN``, ``ps e``, jq's ``env``); with a context, so do
recursive searches (``grep -r``, ``rg``, ``git grep``, ``git show``) that would read a
secret file in the folders they search. Writes naming a protected path
(:mod:`hermes.safety.protected`) are reported.
"""

from __future__ import annotations

import itertools
import os
import posixpath
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from hermes.safety.pathnames import lexical_abspath, real
from hermes.safety.protected import lexical_reason as protected_lexical
from hermes.safety.protected import protected_reason
from hermes.safety.sensitive import TreeRead, glob_may_match_secret, secret_in_tree, sensitive_kind
from hermes.safety.shell.context import ShellContext
from hermes.safety.shell.danger import (
    catastrophic_command,
    catastrophic_pipeline,
    catastrophic_redirect,
    textual_catastrophic,
    textual_network,
)
from hermes.safety.shell.git import git_config_writes, split_git
from hermes.safety.shell.gitconfig import Entry, git_config_problem, names_program
from hermes.safety.shell.globs import expand, has_glob
from hermes.safety.shell.parse import (
    Word,
    get_parser,
    has_error,
    node_text,
    precheck,
    resolve_word,
    words_are_separate,
)
from hermes.safety.shell.programs import (
    environment_read,
    file_words,
    glob_position_problem,
    is_network,
    judge,
    prefix_of,
    read_only_programs,
    tree_reads,
)
from hermes.safety.shell.wrappers import SHELLS, base, unwrap

__all__ = ["CommandVerdict", "ShellContext", "SimpleCommand", "analyze_command"]

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
    sensitive: str | None = None
    """Why the command may read a secret file (it then asks, whatever else it is)."""
    protected: str | None = None
    """Why the command writes a protected path (it then asks in every mode)."""


def analyze_command(command: str, context: ShellContext | None = None) -> CommandVerdict:
    """Classify a shell command line; fails closed (not read-only) on anything unsure.

    ``context`` says where the command runs; without it nothing on disk is consulted
    and everything that would need it asks (callers deciding for real pass one).
    """
    try:
        cwds = [context.cwd] if context is not None else []
        return _analyze(command, 0, context, cwds)
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


def _analyze(text: str, depth: int, ctx: ShellContext | None, cwds: list[Path]) -> CommandVerdict:
    problem = precheck(text)
    if problem:
        return _unparsed(text, f"asks: {problem}")
    if depth > _MAX_DEPTH:
        return _unparsed(text, "asks: commands are nested too deeply")
    src = text.encode("utf-8")
    root = get_parser().parse(src).root_node
    if has_error(root):
        return _unparsed(text, "asks: could not parse the command")
    walker = _Walker(depth, src, ctx, cwds)
    walker.visit(root)
    if not walker.commands and walker.ask is None:
        walker.note("no command to run")
    ask = walker.ask or walker.sensitive
    read_only = ask is None
    cat = walker.catastrophic
    if cat is None and walker.structural:
        cat = textual_catastrophic(text)
    reason = f"read-only: {_summary(text)}" if read_only else f"asks: {_printable(ask)}"
    return CommandVerdict(
        read_only=read_only,
        reason=reason,
        catastrophic=_printable(cat) or None,
        commands=tuple(walker.commands),
        parsed=True,
        network=walker.network,
        plain=not walker.structural,
        sensitive=_printable(walker.sensitive) or None,
        protected=_printable(walker.protected) or None,
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

    def __init__(
        self,
        depth: int,
        src: bytes,
        ctx: ShellContext | None = None,
        cwds: list[Path] | None = None,
    ) -> None:
        self.depth = depth
        self.src = src
        self.ctx = ctx
        # Every folder a command may start in: the start, then each `cd` seen so far
        # (a union: which `cd` ran before which command is not worth tracking exactly).
        self.cwds: list[Path] = list(cwds or ([ctx.cwd] if ctx else []))
        self.ask: str | None = None
        self.catastrophic: str | None = None
        self.sensitive: str | None = None
        self.protected: str | None = None
        self.commands: list[SimpleCommand] = []
        self.network = False
        self.structural = False
        # The folders the last command visited moved to, if it was a successful `cd`.
        self.cd_result: list[Path] | None = None

    def note(self, reason: str | None) -> None:
        """Record a reason to ask; the first one recorded is the one shown."""
        if reason and self.ask is None:
            self.ask = reason

    def structure(self, reason: str) -> None:
        """Record a reason that is about shell syntax, not about a program."""
        self.structural = True
        self.note(reason)

    def shape(self) -> None:
        """Syntax that was proven harmless but that prefix rules cannot describe."""
        self.structural = True

    def note_cat(self, reason: str | None) -> None:
        """Record a catastrophe; the first one found is the one shown."""
        if reason and self.catastrophic is None:
            self.catastrophic = reason

    def note_sensitive(self, reason: str | None) -> None:
        """Record that the command reads a secret; the first one found is shown."""
        if reason and self.sensitive is None:
            self.sensitive = reason

    def note_protected(self, reason: str | None) -> None:
        """Record that the command writes a protected path; the first one is shown."""
        if reason and self.protected is None:
            self.protected = reason

    # ------------------------------------------------------------ paths

    def _absolute(self, word: str) -> list[Path]:
        """Where ``word`` points from every folder the command may run in."""
        if self.ctx is None or not word or "\0" in word:
            return []
        if os.path.isabs(word):
            return [lexical_abspath(word, Path("/"))]
        return [lexical_abspath(word, cwd) for cwd in self.cwds]

    def check_reads(self, prog: str, words: list[str]) -> None:
        """Note the first word naming a secret file (as written, or where it points)."""
        if self.sensitive is not None:
            return
        home = self.ctx.hermes_home if self.ctx else None
        for word in words:
            found = sensitive_kind(word, home) if word else None
            if found is None and word and has_glob(word):
                example = glob_may_match_secret(word)
                if example:
                    found = (word, f"it can match {example}")
            for path in [] if found else self._absolute(word):
                found = sensitive_kind(path, home)
                if found:
                    # Keep the word as written, plus where a symlink led.
                    where = found[0].removeprefix(str(path))
                    found = (word + where, found[1])
                    break
            if found:
                shown, kind = found
                self.note_sensitive(f"{prog} reads {shown}, which may hold secrets ({kind})")
                return

    def check_tree_reads(self, prog: str, run: tuple[str, ...]) -> None:
        """Note the first file that may hold secrets a recursive search (``grep -r``,
        ``rg`` ...) would read in the folders it searches."""
        if self.ctx is None or self.sensitive is not None or not run:
            return
        found = tree_reads(run)
        if found is None:
            return
        roots, how = found
        if prog == "rg" and self.ctx.env.get("RIPGREP_CONFIG_PATH"):
            how = TreeRead(follow_links=True)  # flags in its config file may widen the search
        top = "."
        if prog == "git":
            chdirs = split_git(run[1:]).chdirs
            top = posixpath.join(*chdirs) if chdirs else "."
        for root in roots:
            for cwd in self.cwds:
                word = root
                path = lexical_abspath(word, cwd)
                if prog == "git" and not os.path.lexists(path):
                    word = top  # a revision: taken to hold the files of the work tree
                    path = lexical_abspath(word, cwd)
                hit = secret_in_tree(path, how, self.ctx.hermes_home)
                if hit is None:
                    continue
                if hit.path is None:
                    self.note_sensitive(
                        f"{prog} searches {word} recursively: {hit.kind}, too many to rule "
                        "out files that may hold secrets"
                    )
                else:
                    rel = os.path.relpath(hit.path, path)
                    shown = word if rel == "." else os.path.join(word, rel)
                    self.note_sensitive(
                        f"{prog} reads {shown}, which may hold secrets ({hit.kind})"
                    )
                return

    def check_writes(self, prog: str, words: list[str]) -> None:
        """Note the first word naming a protected path a writing command may change."""
        if self.protected is not None:
            return
        home = self.ctx.hermes_home if self.ctx else None
        for word in words:
            if not word:
                continue
            why = protected_lexical(Path(word))
            for path in [] if why else self._absolute(word):
                why = protected_reason(path, home, self.ctx.env if self.ctx else None)
                if why:
                    break
            if why:
                self.note_protected(f"{prog} {why}")
                return

    # ------------------------------------------------------------ tree walking

    def visit(self, node: Any) -> tuple[str, ...] | None:
        """Judge ``node``; for a command, return its unwrapped argv (pipeline checks)."""
        kind = node.type
        if kind in ("program", "list", "pipeline"):
            stages: list[tuple[str, ...]] = []
            previous: Any = None
            for child in node.children:
                if child.is_named:
                    stages.append(self.visit(child) or ())
                    previous = child
                elif child.type not in _LIST_OPERATORS:
                    self.structure(_OPERATOR_REASONS.get(child.type, f"operator {child.type}"))
                elif (
                    kind == "list"
                    and child.type == "&&"
                    and self.cd_result is not None
                    and _ends_with_cd(previous)
                ):
                    # What follows `cd X &&` runs only where the cd went.
                    self.cwds = list(self.cd_result)
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
        if kind == "test_command" and self.ctx is not None:
            problem = _test_expression_problem(node)
            opener = node.children[0].type if node.children else "["
            self.commands.append(SimpleCommand((opener,), opener))
            if problem is None:
                self.shape()
                return None
            self.structure(problem)
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
        self.cd_result = None
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
        handled: set[int] = set()
        verdict: str | None
        if u.payload is not None:
            verdict = self.payload(u.payload, u.wrappers, words, u.payload_idx) or u.ask
            if verdict is None and not u.payload_flags_ok:
                verdict = f"{u.wrappers[-1]} options are not read-only"
        else:
            self.commands.append(SimpleCommand(inner, _prefix(inner, u.wrappers), u.wrappers))
            run = inner
            expand_problem: str | None = None
            if self.ctx is not None and inner:
                run, handled, expand_problem = self.expand_words(arg_nodes, words, u.start, inner)
            verdict = expand_problem or self.judge_command(run, words, u.start) or u.ask
            self.network = self.network or is_network(inner)
            prog = base(run[0]) if run else ""
            self.check_reads(prog, file_words(run) if run else [])
            self.check_tree_reads(prog, run)
            printed = environment_read(run)
            if printed:
                # Not a secret file: hermes' own keys are withheld from commands, and
                # yolo runs this (issue 15, finding 5); but never without asking in ask.
                verdict = verdict or f"{printed}, which may hold secrets"
            if prog in _WRITERS and verdict is not None:
                self.check_writes(prog, [v for w in run[1:] for v in _path_like_values(w)])
            if prog == "git":
                self.check_git_config_write(run)
        self.note(verdict)
        if verdict or name_problem or any(w.problem for w in words):
            self.note_cat(catastrophic_command(argv, depth=self.depth))
        for k, (a, w) in enumerate(zip(arg_nodes, words, strict=True), start=1):
            if w.problem and k not in handled:
                self.structure(w.problem)
                if a.is_named:
                    self.nested(a)
        extra = [w for r in redirects for w in self.redirect(r)]
        if extra:
            self.note_cat(catastrophic_command((*argv, *extra), depth=self.depth))
        return inner or argv

    def judge_command(self, run: tuple[str, ...], words: list[Word], start: int) -> str | None:
        """The program's own rules, then what only the disk can tell (cd, git config)."""
        if not run:
            return None
        prog = base(run[0])
        if prog == "cd" and self.ctx is not None and "/" not in run[0]:
            return self.change_dir(list(run[1:]))
        verdict = judge(run)
        if verdict is None and self.ctx is not None:
            if "/" not in run[0] and prog not in _BUILTINS:
                verdict = self.ctx.program_problem(prog)
            startup = self.ctx.env.get("BASH_ENV") or self.ctx.env.get("ENV")
            if (
                verdict is None
                and startup
                and (not os.path.isabs(startup) or self.ctx.may_be_inside(Path(startup)))
            ):
                verdict = f"BASH_ENV={startup} is a workspace file bash runs first"
        if verdict is None and prog == "git" and self.ctx is not None:
            for cwd in list(self.cwds):
                problem = git_config_problem(run, cwd, self.ctx)
                if problem:
                    return problem
        return verdict

    def change_dir(self, args: list[str]) -> str | None:
        """``cd DIR`` inside the workspace is harmless: it only moves this one shell."""
        assert self.ctx is not None
        ctx = self.ctx
        while args and args[0] in ("-L", "-P", "--"):
            args = args[1:]
        if len(args) != 1:
            return "cd without exactly one folder (cd alone goes to the home folder)"
        target = args[0]
        if target == "-" or target.startswith("-"):
            return "cd - goes back to a folder the analysis cannot see"
        if (
            ctx.env.get("CDPATH")
            and not target.startswith(("/", "./", "../"))
            and target
            not in (
                ".",
                "..",
            )
        ):
            return "cd with CDPATH set may go elsewhere"
        new: list[Path] = []
        for cwd in self.cwds:
            path = lexical_abspath(target, cwd)
            resolved = real(path)
            if not ctx.inside(resolved if resolved.exists() else path):
                return f"cd leaves the workspace ({target})"
            new.append(resolved)
        for p in new:
            if p not in self.cwds:
                self.cwds.append(p)
        self.cd_result = list(dict.fromkeys(new))
        return None

    def expand_words(
        self, arg_nodes: list[Any], words: list[Word], start: int, inner: tuple[str, ...]
    ) -> tuple[tuple[str, ...], set[int], str | None]:
        """The argv bash will run once globs and ``~`` are expanded, which argument
        words that covered (1-based), and why that could not be done safely."""
        assert self.ctx is not None
        ctx = self.ctx
        handled: set[int] = set()
        out: list[str] = [inner[0]]
        problem: str | None = None
        for k, (node, word) in enumerate(zip(arg_nodes, words, strict=True), start=1):
            if k < start:
                continue  # wrapper words: their problems stand
            if k == start:
                continue  # the program name itself stays as it was
            if not word.problem:
                out.append(word.value)
                continue
            if node.type == "process_substitution" and node_text(node).startswith("<("):
                handled.add(k)
                self.shape()
                self.descend(node)
                out.append("/dev/fd/63")
                continue
            kind = _expandable(node)
            if kind is None:
                out.append(word.value)
                continue
            text = node_text(node)
            if text.startswith("~"):
                home = ctx.user_home
                if home is None:
                    out.append(word.value)
                    continue
                text = str(home) + text[1:]
            if kind == "tilde":
                handled.add(k)
                out.append(text)
                continue
            handled.add(k)
            self.shape()  # what a glob expands to is not described by any prefix rule
            why = self.glob_problem(inner, k - start, text)
            if why:
                problem = problem or why
                out.append(text)
                continue
            matches: list[str] = []
            for cwd in self.cwds:
                found = expand(text, cwd)
                if found.problem:
                    problem = problem or found.problem
                matches.extend(m for m in found.matches if m not in matches)
            bad = next((m for m in matches if m.startswith(_OPTION_LIKE)), None)
            if bad:
                problem = problem or f"glob {text} expands to {bad!r}, which reads as an option"
            out.extend(sorted(matches) if matches else [text])
        return tuple(out), handled, problem

    def glob_problem(self, inner: tuple[str, ...], index: int, text: str) -> str | None:
        """Why the glob at ``inner[index]`` may not be expanded, or None."""
        assert self.ctx is not None
        if not self.ctx.globs_predictable():
            return "a glob, with GLOBIGNORE/BASHOPTS/SHELLOPTS set in the environment"
        if base(inner[0]) not in read_only_programs():
            return f"unquoted glob in {text[:40]}"
        return glob_position_problem(inner, index)

    def check_git_config_write(self, run: tuple[str, ...]) -> None:
        """``git config KEY VALUE`` planting a program (fsmonitor, a filter ...) is a
        protected write: it runs later, outside any approval."""
        split = split_git(run[1:])
        if split.sub != "config":
            return
        for key, value in git_config_writes(split.rest):
            section, _, rest = key.partition(".")
            sub, dot, name = rest.rpartition(".")
            entry = Entry(section.lower(), sub if dot else None, name.lower(), value, "", True)
            if names_program(entry):
                self.note_protected(f"git config sets {key}, which names a program git runs")

    def payload(
        self, text: str, wrappers: tuple[str, ...], words: list[Word], idx: tuple[int, ...]
    ) -> str | None:
        """Analyse a ``bash -c``/``eval`` payload; the reason it asks, if any."""
        sub = _analyze(text, self.depth + 1, self.ctx, list(self.cwds))
        static = not any(words[k - 1].problem for k in idx if k >= 1)
        if static:
            # A script built from expansions was already walked as part of this tree.
            for c in sub.commands:
                outer = wrappers + c.wrappers
                self.commands.append(replace(c, wrappers=outer, prefix=_prefix(c.argv, outer)))
        self.network = self.network or sub.network
        self.note_cat(sub.catastrophic)
        self.note_sensitive(sub.sensitive)
        self.note_protected(sub.protected)
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
            if self.ctx is not None and _plain_herestring(node):
                self.shape()
                return []
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
        reads = "<" in op
        writes = ">" in op or op == "<>"
        if reads and dest.value and op not in ("<&", "<&-"):
            self.check_reads("redirect", [dest.value])
        if writes and dest.value and op not in (">&", ">&-"):
            self.check_writes("redirect", [dest.value])
        if dest.problem:
            first = dest_nodes[0]
            if (
                self.ctx is not None
                and op == "<"
                and first.type == "process_substitution"
                and node_text(first).startswith("<(")
            ):
                self.shape()
                self.descend(first)
            else:
                self.structure(dest.problem)
                self.nested(first)
        elif op in ("<&-", ">&-") or (op in (">&", "<&") and dest.value.isdigit()):
            pass
        elif dest.value == "/dev/null" and op in (">", ">>", "&>", "&>>", "<", ">|"):
            pass
        elif op == "<" and self.ctx is not None and self.input_in_workspace(dest.value):
            self.shape()
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

    def input_in_workspace(self, word: str) -> bool:
        """Whether ``< word`` opens a file inside the workspace from every possible folder."""
        assert self.ctx is not None
        paths = self._absolute(word)
        return bool(paths) and all(self.ctx.inside(p) for p in paths)


# bash builtins on the read-only list: found before any $PATH lookup.
_BUILTINS = frozenset({"echo", "printf", "pwd", "test", "[", "true", "false", "type", "command"})
_WRITERS = frozenset(
    (
        "cp mv ln install rm rmdir mkdir touch chmod chown chgrp tee truncate rsync unlink "
        "shred patch dd sed perl curl wget unzip tar git"
    ).split()
)
_OPTION_LIKE = ("-", "+")


def _ends_with_cd(node: Any) -> bool:
    """Whether ``node`` succeeds exactly when a ``cd`` it ends with succeeds."""
    if node is None:
        return False
    if node.type == "command":
        name = node.child_by_field_name("name")
        return name is not None and node_text(name) == "cd"
    if node.type == "list":
        ops = [c.type for c in node.children if not c.is_named]
        named = node.named_children
        return bool(ops) and ops[-1] != "||" and bool(named) and _ends_with_cd(named[-1])
    return False


def _path_like_values(word: str) -> list[str]:
    """``--target=.git/hooks`` and ``of=.git/x`` name a path after ``=``."""
    if "=" in word:
        return [word, word.partition("=")[2]]
    return [word]


def _expandable(node: Any) -> Literal["glob", "tilde", "tilde-glob"] | None:
    """Whether a plain word's only specials are a leading ``~`` and glob characters."""
    if node.type != "word":
        return None
    text = node_text(node)
    if any(ch in text for ch in "\\$`'\"{}\n\t ;&|<>()") or "~" in text[1:]:
        return None
    tilde = text.startswith("~")
    if tilde and not (text == "~" or text.startswith("~/")):
        return None  # ~user
    glob = has_glob(text)
    if tilde and glob:
        return "tilde-glob"
    if glob:
        return "glob"
    return "tilde" if tilde else None


_PLAIN_EXPANSION_PARTS = frozenset({"${", "}", "variable_name"})
_HERESTRING_OK = frozenset(
    {"word", "raw_string", "string", "string_content", "number", "concatenation"}
    | {"ansi_c_string", "simple_expansion", "variable_name", "special_variable_name"}
)


def _plain_herestring(node: Any) -> bool:
    """A here-string of literal text and plain ``$var``/``${var}`` only: nothing in it
    can run (here-strings are not globbed or split)."""
    stack = list(node.named_children)
    while stack:
        n = stack.pop()
        kind = n.type
        if kind == "expansion":
            if [c.type for c in n.children] != ["${", "variable_name", "}"]:
                return False
            continue
        if kind not in _HERESTRING_OK:
            return False
        if kind == "word" and any(ch in node_text(n) for ch in "$`"):
            return False
        stack.extend(n.named_children)
    return True


_ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_TEST_LEAVES = frozenset(
    {"word", "number", "raw_string", "string_content", "regex", "extglob_pattern", "test_operator"}
    | {"variable_name", "special_variable_name"}
)
_TEST_INNER = frozenset(
    {"unary_expression", "binary_expression", "parenthesized_expression", "string"}
    | {"simple_expansion", "expansion"}
)


def _test_expression_problem(node: Any) -> str | None:
    """Why a ``[ ... ]``/``[[ ... ]]`` test is not provably harmless, or None.

    Operands may be literal words and quoted plain variables. ``-v``/``-R`` evaluate an
    array subscript (which can run ``$(...)``), ``[[ ]]`` arithmetic comparisons evaluate
    their operands, and in ``[ ]`` a ``<``/``>`` is a redirection and words are globbed.
    """
    opener = node.children[0].type if node.children else "["
    double = opener == "[["
    label = "[[ ]]" if double else "[ ]"
    stack = [c for c in node.children[1:-1]]
    while stack:
        n = stack.pop()
        kind = n.type
        text = node_text(n)
        if not n.is_named:
            if not double and text in ("<", ">"):
                return f"{text} inside [ ] is a redirection"
            continue
        if kind == "test_operator":
            if text in ("-v", "-R"):
                return f"test {text} evaluates an array subscript, which can run commands"
            continue
        if kind in ("simple_expansion", "expansion"):
            parent = n.parent
            if not double and (parent is None or parent.type != "string"):
                return f"unquoted variable in {label} (split and globbed)"
            if kind == "expansion" and [c.type for c in n.children] != ["${", "variable_name", "}"]:
                return f"expansion {text[:30]} in {label}"
            continue
        if kind == "binary_expression" and double:
            op = n.child_by_field_name("operator")
            if op is not None and node_text(op) in _ARITHMETIC_TESTS:
                operands = [c for c in n.named_children if c.type != "test_operator"]
                if not all(c.type == "number" or node_text(c).isdigit() for c in operands):
                    return "arithmetic comparison in [[ ]] evaluates its operands"
        if kind == "word":
            if not double and (has_glob(text) or text.startswith("~")):
                return f"glob or tilde in [ ] ({text[:30]})"
            if any(ch in text for ch in "$`"):
                return f"expansion in {label}"
            continue
        if kind in _TEST_LEAVES:
            continue
        if kind in _TEST_INNER:
            stack.extend(n.children)
            continue
        return _CONSTRUCTS.get(kind, f"{kind.replace('_', ' ')} in {label}")
    return None


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
