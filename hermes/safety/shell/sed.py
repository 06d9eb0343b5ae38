"""sed rules for :mod:`hermes.safety.shell.analyze`: only ``-n`` scripts that print are read-only."""

from __future__ import annotations

from dataclasses import dataclass

from hermes.safety.shell.wrappers import Argv


@dataclass(frozen=True)
class _SedArgs:
    quiet: bool
    scripts: tuple[str, ...]
    files: tuple[str, ...]
    problem: str | None


def _parse(args: Argv) -> _SedArgs:
    quiet = False
    scripts: list[str] = []
    positional: list[str] = []
    problem: str | None = None
    j = 0
    n = len(args)
    while j < n:
        a = args[j]
        j += 1
        if a == "--":
            positional.extend(args[j:])
            break
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if name and "in-place".startswith(name):
                problem = problem or "sed -i edits files in place"
            elif name in ("quiet", "silent"):
                quiet = True
            elif name == "expression":
                if eq:
                    scripts.append(value)
                elif j < n:
                    scripts.append(args[j])
                    j += 1
            elif name in ("regexp-extended", "separate", "unbuffered", "null-data", "posix"):
                pass
            elif name in ("debug", "sandbox", "zero-terminated"):
                pass
            else:
                problem = problem or f"sed option --{name} is not read-only"
            continue
        if a.startswith("-") and len(a) > 1:
            k = 1
            while k < len(a):
                ch = a[k]
                if ch == "i":
                    problem = problem or "sed -i edits files in place"
                elif ch == "n":
                    quiet = True
                elif ch in "Ersuz":
                    pass
                elif ch in "el":
                    value = a[k + 1 :]
                    if not value and j < n:
                        value = args[j]
                        j += 1
                    if ch == "e":
                        scripts.append(value)
                    break
                else:
                    problem = problem or f"sed -{ch} is not read-only"
                    if ch == "f":
                        break
                k += 1
            continue
        positional.append(a)
    if not scripts and positional:
        scripts.append(positional.pop(0))
    return _SedArgs(quiet, tuple(scripts), tuple(positional), problem)


def sed_judge(args: Argv) -> str | None:
    """None for ``sed -n`` with scripts that only print, else why it asks."""
    parsed = _parse(args)
    if parsed.problem:
        return parsed.problem
    if not parsed.scripts:
        return "sed without a script"
    if not parsed.quiet:
        return "sed is read-only only with -n"
    for script in parsed.scripts:
        if not sed_script_is_safe(script):
            return "sed script may write files or run commands"
    return None


def sed_script_words(args: Argv) -> list[str]:
    """The words of ``sed args...`` that name input files (not the script)."""
    return list(_parse(args).files)


_SED_PLAIN = frozenset("pPlqQnNdDgGhHxz={}F")


def _sed_regex_end(s: str, i: int, delim: str) -> int:
    """Index just past the closing ``delim`` of a regex starting at ``i``, or -1."""
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "\n":
            return -1
        if ch == delim:
            return i + 1
        i += 1
    return -1


def _sed_address(s: str, i: int) -> int:
    n = len(s)
    if i < n and s[i].isdigit():
        while i < n and (s[i].isdigit() or s[i] == "~"):
            i += 1
        return i
    if i < n and s[i] == "$":
        return i + 1
    if i < n and s[i] in "/\\":
        delim = "/"
        if s[i] == "\\":
            if i + 1 >= n:
                return -1
            delim = s[i + 1]
            i += 1
        i = _sed_regex_end(s, i + 1, delim)
        while 0 <= i < n and s[i] in "IM":
            i += 1
        return i
    return i


def sed_script_is_safe(script: str) -> bool:
    """Whether a sed script uses only commands that print (no w/W/e/r, no s///w or s///e)."""
    s = script
    n = len(s)
    i = 0
    while i < n:
        while i < n and s[i] in " \t\n;":
            i += 1
        if i >= n:
            break
        if s[i] == "#":
            while i < n and s[i] != "\n":
                i += 1
            continue
        i = _sed_address(s, i)
        if i < 0:
            return False
        if i < n and s[i] == ",":
            i += 1
            if i < n and s[i] in "+~":
                i += 1
                while i < n and s[i].isdigit():
                    i += 1
            else:
                i = _sed_address(s, i)
                if i < 0:
                    return False
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == "!":
            i += 1
            while i < n and s[i] in " \t":
                i += 1
        if i >= n:
            return False
        cmd = s[i]
        i += 1
        if cmd == "{":
            continue  # a block opener needs no separator before its first command
        if cmd in _SED_PLAIN:
            while i < n and (s[i].isdigit() or s[i] in " \t"):
                i += 1
        elif cmd in "sy":
            if i >= n or s[i] in "\\\n":
                return False
            delim = s[i]
            i = _sed_regex_end(s, i + 1, delim)
            if i < 0:
                return False
            i = _sed_regex_end(s, i, delim)
            if i < 0:
                return False
            if cmd == "s":
                while i < n and (s[i] in "gpiImM" or s[i].isdigit()):
                    i += 1
        elif cmd in "btT:":
            while i < n and s[i] not in ";\n":
                i += 1
        else:
            return False
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] not in ";\n}#":
            return False
    return True
