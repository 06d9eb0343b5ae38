"""Every program on the read-only list, every option that writes or runs something,
however it is spelled (issue 15, finding 4 and its generalisation): clusters
(``-iO'cmd'``), ``--opt=value``, ``--opt value`` and GNU abbreviations."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from hermes.safety.sensitive import TreeRead
from hermes.safety.shell.analyze import analyze_command
from hermes.safety.shell.context import ShellContext
from hermes.safety.shell.options import danger, grammar, parse
from hermes.safety.shell.programs import (
    environment_read,
    prefix_of,
    read_only_programs,
    tree_reads,
)

# program -> command lines using an option that writes files or runs a program.
DANGEROUS: dict[str, list[str]] = {
    "sort": [
        "sort -o out in",
        "sort -uo out in",
        "sort -uoout in",
        "sort --output=out in",
        "sort --output out in",
        "sort --out=out in",
        "sort --ou out in",
        "sort in --output=out",
        "sort --compress-program=sh in",
        "sort --compress=sh in",
        "sort --c=sh in",
    ],
    "rg": [
        "rg --pre=cat x",
        "rg --pre cat x",
        "rg --pre-glob '*.gz' x",
        "rg --hostname-bin=./h x",
        "rg -z x",
        "rg -iz x",
        "rg --search-zip x",
        "rg x --pre=sh",
    ],
    "ag": ["ag --pager=less x", "ag --pager less x", "ag --pag=x y"],
    "tree": [
        "tree -o out",
        "tree -ao out",
        "tree -aoout",
        "tree -R -H . -o x",
        "tree -aR",
        "tree --output=x",
        "tree --fromfile list",
    ],
    "file": ["file -C", "file -bC -m x", "file -z a.gz", "file -Z a.gz", "file --compile"],
    "yq": [
        "yq -i '.a = 1' f.yml",
        "yq -Pi '.a = 1' f.yml",
        "yq --inplace '.a' f.yml",
        "yq --inpl '.a' f.yml",
        "yq -s '.a' f.yml",
        "yq -Ps '.a' f.yml",
        "yq --split-exp '.a' f.yml",
        "yq --split '.a' f.yml",
        "yq --security-enable-system-operator '.a = system(\"id\")' f.yml",
        "yq e '.a = load(\"x.yml\")' f.yml",
        "yq --from-file x.yq f.yml",
    ],
    "jq": [
        "jq -L . 'import \"a\" as a; .' f.json",
        "jq -n 'include \"x\"; .'",
        "jq -f prog.jq f.json",
        "jq --from-file prog.jq f.json",
    ],
    "date": ["date -s 2020-01-01", "date -us now", "date --set=now", "date --se=now", "date 0101"],
    "uniq": ["uniq in out", "uniq -c in out", "uniq -f 1 in out"],
    "hostname": ["hostname new", "hostname -F file", "hostname -b x"],
    "printf": ["printf -v var x", "printf -vvar x"],
    "find": [
        "find . -exec rm {} +",
        "find . -execdir x \\;",
        "find . -ok rm {} \\;",
        "find . -okdir rm {} \\;",
        "find . -delete",
        "find . -name x -delete",
        "find . -fprint out",
        "find . -fprint0 out",
        "find . -fprintf out %p",
        "find . -fls out",
    ],
    "sed": [
        "sed -i s/a/b/ f",
        "sed -ni p f",
        "sed -n -i.bak p f",
        "sed -in p f",
        "sed --in-place p f",
        "sed --in-pl p f",
        "sed --in=.bak -n p f",
        "sed 's/a/b/' f",
        "sed -n 'w out' f",
        "sed -n 'W out' f",
        "sed -n 's/a/b/w out' f",
        "sed -n 's/a/b/e' f",
        "sed -n 'e id' f",
        "sed -n '1e id' f",
        "sed -n 'r /etc/passwd' f",
        "sed -n 'R x' f",
        "sed -n -f s.sed f",
        "sed -nf s.sed f",
        "sed -n --file=s.sed f",
        "sed -n -e p -e 'w x' f",
        "sed -n --expression='w x' f",
    ],
    "git": [
        "git grep -O TODO",
        "git grep -Ovim TODO",
        "git grep -iO'touch /tmp/x;' TODO",
        "git grep -niO TODO",
        "git grep --open-files-in-pager=vi x",
        "git grep --open-files x",
        "git grep --op x",
        "git grep --textconv x",
        "git config edit",
        "git config --edit",
        "git config -e",
        "git config --ed",
        "git config set a.b c",
        "git config a.b c",
        "git config --unset a.b",
        "git config --add a.b c",
        "git config --replace-all a.b c",
        "git config --rename-section a b",
        "git diff --output=f",
        "git diff --output f",
        "git diff --outp=f",
        "git diff --ext-diff",
        "git diff --ext",
        "git diff --textconv",
        "git log --output=f",
        "git log -p --ext-diff",
        "git show --textconv HEAD",
        "git show --output=x HEAD",
        "git range-diff --output=x a b",
        "git stash show --ext-diff",
        "git cat-file --textconv HEAD:a",
        "git cat-file --filters HEAD:a",
        "git blame --textconv a",
        "git -c core.pager=x log",
        "git -ccore.pager=x log",
        "git --config-env=core.pager=X log",
        "git --git-dir=/x status",
        "git --work-tree=/x status",
        "git --exec-path=/x status",
        "git branch -D x",
        "git branch --edit-description",
        "git tag v1",
        "git tag -d v1",
        "git remote add o u",
        "git remote set-url o u",
        "git stash",
        "git stash pop",
        "git reflog expire --all",
        "git reflog delete HEAD@{1}",
        "git worktree add x",
        "git checkout x",
        "git fetch",
    ],
    "env": [
        "env -i ls",
        "env X=1",
        "env -S 'rm x'",
        "env -u X ls",
        "env --chdir=/ ls",
        "env rm x",
        "env",  # prints every variable: tokens and keys live there
        "env -0",
    ],
    "test": ["test -v x", "test -v 'a[$(id)]'", "test -R x", "test -n x -a -v y"],
    "[": ["[ -v x ]", "[ -R x ]", "[ x -o -v y ]"],
    "command": ["command -p rm x", "command rm x"],
    "nice": ["nice -n 5", "nice rm x"],
}

# Programs with no option that writes a file or runs a program (a spread of their
# options stays read-only).
HARMLESS: dict[str, list[str]] = {
    "cat": ["cat -nA f", "cat --number --show-all f"],
    "head": ["head -n 5 f", "head -20 f", "head -c 100 f", "head --lines=5 f"],
    "tail": ["tail -n 5 f", "tail -20 f", "tail -f f", "tail --pid=1 f"],
    "wc": ["wc -lwc f", "wc --lines f"],
    "ls": ["ls -laR --color=auto", "ls -1 --hyperlink=never d"],
    "grep": [
        "grep -rniE 'a|b' d",
        "grep -e x -f pats f",
        "grep --color=always -A3 x f",
        "grep -5 x f",
    ],
    "egrep": ["egrep -i 'a|b' f"],
    "fgrep": ["fgrep -r x d"],
    "echo": ["echo -ne 'a\\tb'"],
    "pwd": ["pwd -P"],
    "true": ["true"],
    "false": ["false"],
    "which": ["which -a git"],
    "type": ["type -a ls"],
    "stat": ["stat -c %s f", "stat --printf=%n f"],
    "du": ["du -sh d", "du --max-depth=1 ."],
    "df": ["df -h", "df --output=source"],
    "whoami": ["whoami"],
    "id": ["id -un"],
    "uname": ["uname -a"],
    "basename": ["basename -s .py a/b.py"],
    "dirname": ["dirname a/b"],
    "realpath": ["realpath --relative-to=. f"],
    "readlink": ["readlink -f f"],
    "diff": ["diff -ru a b", "diff --color=always a b"],
    "cmp": ["cmp -l a b"],
    "comm": ["comm -12 a b"],
    "cut": ["cut -d: -f1 f"],
    "tr": ["tr -d x"],
    "printenv": ["printenv PATH"],
    "nl": ["nl -ba f"],
    "od": ["od -An -tx1 f"],
    "hexdump": ["hexdump -C f"],
    "md5sum": ["md5sum f"],
    "sha1sum": ["sha1sum f"],
    "sha256sum": ["sha256sum -c sums"],
    "sha512sum": ["sha512sum f"],
    "cksum": ["cksum f"],
    "b2sum": ["b2sum f"],
    "column": ["column -t f"],
    "paste": ["paste -sd, f"],
    "fold": ["fold -w 80 f"],
    "rev": ["rev f"],
    "tac": ["tac f"],
    "seq": ["seq 1 10"],
    "sleep": ["sleep 1"],
    "nproc": ["nproc --all"],
    "uptime": ["uptime -p"],
    "arch": ["arch"],
    "groups": ["groups"],
    "tty": ["tty"],
    "whereis": ["whereis ls"],
    "expand": ["expand -t 4 f"],
    "unexpand": ["unexpand -a f"],
    "locale": ["locale -a"],
    "ps": ["ps aux", "ps -ef"],
    "free": ["free -h"],
    "lsb_release": ["lsb_release -a"],
    "sort": [
        "sort -nrk2 f",
        "sort -t, -k 2 f",
        "sort --reverse f",
        "sort --rev f",
        "sort -T /tmp f",
    ],
    "rg": ["rg -n TODO", "rg -e x -g '*.py'", "rg --type py x", "rg -uu x"],
    "ag": ["ag -i x", "ag -G py x"],
    "tree": ["tree -L 2", "tree -a -I node_modules"],
    "file": ["file -b f", "file --mime-type f"],
    "yq": ["yq '.a' f.yml", "yq -o json '.a' f.yml", "yq e '.a' f.yml", "yq -P . f.yml"],
    "jq": ["jq -r '.a' f.json", "jq -n --arg x 1 '$x'", "jq --indent 4 . f.json"],
    "date": ["date", "date -u +%F", "date -d yesterday", "date -I", "date --iso-8601=seconds"],
    "uniq": ["uniq -c f", "uniq -f 1 f"],
    "hostname": ["hostname", "hostname -f", "hostname -I"],
    "printf": ["printf '%s\\n' a b"],
    "find": ["find . -name '*.py' -type f -print0", "find . -newer x -maxdepth 2"],
    "sed": ["sed -n 1,20p f", "sed -En '/a/,/b/p' f", "sed -n -e 's/a/b/p' f", "sed -ns p f"],
    "git": [
        "git status -sb",
        "git log --oneline -n 5 --graph",
        "git diff --stat --text",
        "git diff --output-indicator-new=+",
        "git diff -O order.txt",
        "git show --stat HEAD",
        "git grep -n -e TODO -- '*.py'",
        "git config --get user.name",
        "git config --list --show-origin",
        "git config get user.name",
        "git config list",
        "git config user.name",
        "git config -f .gitmodules --get-regexp path",
        "git branch -a",
        "git reflog",
        "git reflog show main",
        "git worktree list",
        "git remote -v",
        "git stash list",
    ],
    "test": ["test -f x", "test -n x -a -d y"],
    "[": ["[ -f x ]"],
    "command": ["command -v ls"],
    "nice": ["nice"],
}


def context(tmp_path: Path) -> ShellContext:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    return ShellContext.create(ws, env={"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"})


def test_every_read_only_program_has_its_flags_tested() -> None:
    missing = sorted(read_only_programs() - set(DANGEROUS) - set(HARMLESS))
    assert not missing, f"add the write/exec options of {missing} to DANGEROUS or HARMLESS"


@pytest.mark.parametrize(
    "command", [c for cases in DANGEROUS.values() for c in cases], ids=lambda c: c
)
def test_options_that_write_or_run_ask(command: str, tmp_path: Path) -> None:
    v = analyze_command(command)
    assert not v.read_only, v.reason
    v = analyze_command(command, context(tmp_path))
    assert not v.read_only, v.reason


@pytest.mark.parametrize(
    "command", [c for cases in HARMLESS.values() for c in cases], ids=lambda c: c
)
def test_harmless_options_stay_read_only(command: str, tmp_path: Path) -> None:
    v = analyze_command(command, context(tmp_path))
    assert v.read_only, v.reason
    if not command.startswith("["):  # `[ ]` syntax needs a context to be proven
        assert analyze_command(command).read_only


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("git grep -iO'touch /tmp/x;' TODO", "git grep -O opens files in a program"),
        ("git config edit", "git config edit opens an editor"),
        ("git config --edit", "git config --edit opens an editor"),
        ("yq -s '.a' f.yml", "yq -s writes a file per document"),
        ("sort --out=f in", "sort --output writes files"),
        ("rg --pre cat foo", "rg --pre runs a program"),
        ("git diff --ext", "git diff --ext-diff is not read-only"),
    ],
)
def test_reasons_name_the_option_as_the_program_reads_it(command: str, reason: str) -> None:
    assert reason in analyze_command(command).reason


# ---------------------------------------------------------------- programs kept off the list


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("awk 'BEGIN { system(\"id\") }'", "awk can run commands"),
        ("awk '{ print > \"out\" }' f", "awk can run commands"),
        ("awk '{ print | \"sh\" }' f", "awk can run commands"),
        ("gawk -i inplace '{print}' f", "gawk can run commands"),
        ("less f", "less is an interactive pager"),
        ("more f", "more is an interactive pager"),
        ("xargs grep x", "xargs passes its input"),
        ("tee f", "tee writes files"),
        ("vim f", "vim edits files"),
    ],
)
def test_programs_that_can_always_write_or_run_ask(command: str, reason: str) -> None:
    v = analyze_command(command)
    assert not v.read_only and reason in v.reason, v.reason


# ---------------------------------------------------------------- the option reader


def test_clusters_attached_values_and_abbreviations() -> None:
    g = grammar("ek", "O", "regexp output", long_flags="only")
    p = parse(["-iO'cmd'", "-ekx", "--out=f", "--o", "--", "-O"], g)
    assert [(o.name, o.value) for o in p.options] == [
        ("-i", None),
        ("-O", "'cmd'"),
        ("-e", "kx"),
        ("--output", "f"),
        ("--o", None),
    ]
    assert p.operands == ("-O",)
    assert p.options[-1].candidates == ("only", "output")
    assert danger(p, g, {"O": "runs"}, {}) == ("-O", "runs")
    assert danger(parse(["--o"], g), g, {}, {"output": "writes"}) == ("--output", "writes")
    assert danger(parse(["--only"], g), g, {}, {"output": "writes"}) is None


# ---------------------------------------------------------------- prefixes and grants


@pytest.mark.parametrize(
    ("command", "prefix"),
    [
        ("python -m pytest -q", "python -m pytest"),
        ("python3 tools/gen.py --x", "python3 tools/gen.py"),
        ("python -c 'print(1)'", "python -c"),
        ("python", "python"),
        ("node --test", "node --test"),
        ("npm run test -- --watch", "npm run test"),
        ("npm run", "npm run"),
        ("npm test", "npm test"),
        ("yarn run lint", "yarn run lint"),
        ("uv run pytest -q", "uv run pytest"),
        ("uv run python -m pytest", "uv run python -m pytest"),
        ("poetry run pytest", "poetry run pytest"),
        ("bundle exec rspec", "bundle exec rspec"),
        ("go run ./cmd/x", "go run ./cmd/x"),
        ("cargo test --all", "cargo test"),
        ("npx prettier --write .", "npx prettier"),
        ("docker run --rm img", "docker run"),
    ],
)
def test_prefixes_name_what_runs(command: str, prefix: str) -> None:
    assert prefix_of(tuple(command.replace("'print(1)'", "x").split())) == prefix


# ---------------------------------------------------------------- what prints the environment
# Tokens and keys live in environment variables (hermes withholds only its own), so a
# command printing them reads secrets (the independent command suite, issue 15).


@pytest.mark.parametrize(
    ("command", "printed"),
    [
        ("env", "env prints every environment variable"),
        ("env -0", "env prints every environment variable"),
        ("env -u X", "env prints every environment variable"),
        ("printenv", "printenv prints every environment variable"),
        ("printenv -0", "printenv prints every environment variable"),
        ("printenv GITHUB_TOKEN", "printenv prints $GITHUB_TOKEN"),
        ("printenv PATH AWS_SECRET_ACCESS_KEY", "printenv prints $AWS_SECRET_ACCESS_KEY"),
        ("ps eww", "ps e prints the environment of processes"),
        ("ps auxe", "ps e prints the environment of processes"),
        ("ps aux e", "ps e prints the environment of processes"),
        ("ps -o pid,user e", "ps e prints the environment of processes"),
        ("ps -E", "ps e prints the environment of processes"),
        ("jq -n env", "jq's filter reads environment variables"),
        ("jq -n 'env.GITHUB_TOKEN'", "jq's filter reads environment variables"),
        ("jq -n '$ENV'", "jq's filter reads environment variables"),
        ("jq -n '[env[]]'", "jq's filter reads environment variables"),
        ("jq '.[env.X]' f.json", "jq's filter reads environment variables"),
        ("yq -n 'strenv(TOKEN)'", "yq's filter reads environment variables"),
        ("yq e 'env(HOME)' f.yml", "yq's filter reads environment variables"),
        ("yq '.a | envsubst' f.yml", "yq's filter reads environment variables"),
        ("yq --expression='env(X)' f.yml", "yq's filter reads environment variables"),
    ],
)
def test_commands_that_print_the_environment(command: str, printed: str) -> None:
    assert environment_read(tuple(shlex.split(command))) == printed


@pytest.mark.parametrize(
    "command",
    [
        "printenv PATH",
        "printenv HOME LANG LC_ALL XDG_CONFIG_HOME",
        "ps aux",
        "ps -ef",
        "ps -eo pid,user",
        "ps -u eve",
        "ps U eve",
        "ps o user,pid",
        "ps --format user,pid",
        "jq '.env' package.json",
        "jq '.scripts.env' package.json",
        "jq . env.json",
        "yq '.env' f.yml",
        "cat env",
    ],
)
def test_commands_that_do_not_print_the_environment(command: str) -> None:
    assert environment_read(tuple(shlex.split(command))) is None


# ---------------------------------------------------------------- what reads whole folders


@pytest.mark.parametrize(
    ("command", "reads"),
    [
        ("grep -r x", ((".",), TreeRead())),
        ("grep -rn x src lib", (("src", "lib"), TreeRead())),
        ("grep x -r .", ((".",), TreeRead())),
        ("grep --recur x d", (("d",), TreeRead())),
        ("grep -d recurse x d", (("d",), TreeRead())),
        ("grep --directories=rec x d", (("d",), TreeRead())),
        ("grep -R x d", (("d",), TreeRead(follow_links=True))),
        ("grep -e x -r a b", (("a", "b"), TreeRead())),
        ("egrep -r 'a|b' .", ((".",), TreeRead())),
        ("grep -r --include='*.py' x .", ((".",), TreeRead(only_names=("*.py",)))),
        ("grep -r --include='*.py' --exclude=x y .", ((".",), TreeRead())),
        ("grep -r --exclude-dir=node_modules x .", ((".",), TreeRead(skip_dirs=("node_modules",)))),
        ("rg x", ((".",), TreeRead(hidden=False, gitignore=True))),
        ("rg -e x src", (("src",), TreeRead(hidden=False, gitignore=True))),
        ("rg --hidden x", ((".",), TreeRead(gitignore=True))),
        ("rg -. x", ((".",), TreeRead(gitignore=True))),
        ("rg -u x", ((".",), TreeRead(hidden=False))),
        ("rg -uu x", ((".",), TreeRead())),
        ("rg --no-ignore-vcs x", ((".",), TreeRead(hidden=False))),
        ("rg -L x", ((".",), TreeRead(hidden=False, follow_links=True, gitignore=True))),
        ("rg -g '*.py' x", ((".",), TreeRead(only_names=("*.py",)))),
        ("rg -g '!*.key' x", ((".",), TreeRead())),
        ("rg --iglob '*.py' x", ((".",), TreeRead())),
        ("rg --glob-case-insensitive -g .env x", ((".",), TreeRead())),
        ("ag x", ((".",), TreeRead(hidden=False, gitignore=True))),
        ("ag --hidden x src", (("src",), TreeRead(gitignore=True))),
        ("ag -u x", ((".",), TreeRead())),
        ("ag -U x", ((".",), TreeRead(hidden=False))),
        ("ag -f x", ((".",), TreeRead(hidden=False, follow_links=True, gitignore=True))),
        ("diff -r a b", (("a", "b"), TreeRead(follow_links=True))),
        ("diff -ruN a b", (("a", "b"), TreeRead(follow_links=True))),
        ("diff --recursive -x '*.o' a b", (("*.o", "a", "b"), TreeRead(follow_links=True))),
        ("git grep x", ((".",), TreeRead(gitignore=True))),
        ("git grep --no-index x d", (("d",), TreeRead(follow_links=True))),
    ],
)
def test_recursive_readers_and_how_they_walk(
    command: str, reads: tuple[tuple[str, ...], TreeRead]
) -> None:
    assert tree_reads(tuple(shlex.split(command))) == reads


@pytest.mark.parametrize(
    "command",
    ["grep x f", "grep -d skip x d", "rg --files", "diff a b", "cat -r f", "ls -R", "git log"],
)
def test_commands_that_read_no_folder(command: str) -> None:
    assert tree_reads(tuple(shlex.split(command))) is None


@pytest.mark.parametrize(
    "command",
    [
        "tree -H . --hintro=.env",  # the HTML page embeds the file
        "tree -H . --houtro .env",
        "tree --infofile=.env",
        "tree -H . --hin=.env",
        "du --exclude-from=.env .",
        "file -m .env f",
    ],
)
def test_options_of_metadata_readers_that_read_a_file_are_checked(command: str) -> None:
    v = analyze_command(command)
    assert (v.read_only, v.sensitive) == (
        False,
        f"{command.split()[0]} reads .env, which may hold secrets (environment file)",
    )
