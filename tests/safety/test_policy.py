from __future__ import annotations

from pathlib import Path

import pytest

from hermes.safety.policy import ApprovalPolicy, CallFacts, Decision, Rule, headless_denial


def terminal(
    command: str, *prefixes: str, tool_class: str = "exec", catastrophic: str | None = None
) -> CallFacts:
    return CallFacts(
        name="terminal",
        tool_class=tool_class,  # type: ignore[arg-type]
        command=command,
        command_prefixes=prefixes,
        catastrophic=catastrophic,
        classification_reason=f"asks: {prefixes[0]} is not read-only" if prefixes else "",
    )


def write(path: str, outside: bool = False, sensitive: str | None = None) -> CallFacts:
    return CallFacts(
        "write_file", "write", paths=(Path(path),), outside_workspace=outside, sensitive=sensitive
    )


READ = CallFacts("read_file", "read", paths=(Path("/w/a.py"),))


@pytest.mark.parametrize(
    ("mode", "facts", "action"),
    [
        ("ask", READ, "allow"),
        ("ask", write("/w/a.py"), "ask"),
        ("ask", terminal("npm test", "npm test"), "ask"),
        ("auto-edit", write("/w/a.py"), "allow"),
        ("auto-edit", terminal("npm test", "npm test"), "ask"),
        ("auto-edit", write("/etc/hosts", outside=True), "ask"),
        ("yolo", terminal("npm test", "npm test"), "allow"),
        ("yolo", write("/etc/hosts", outside=True), "ask"),
        ("yolo", write("/w/.git/hooks/pre-commit", sensitive="writes git internals"), "ask"),
        ("yolo", terminal("rm -rf /", "rm", catastrophic="recursive delete of /"), "ask"),
        ("ask", terminal("git status", "git status", tool_class="read"), "allow"),
    ],
)
def test_modes(mode: str, facts: CallFacts, action: str) -> None:
    policy = ApprovalPolicy(mode=mode)  # type: ignore[arg-type]
    assert policy.decide(facts).action == action


def test_deny_beats_allow() -> None:
    policy = ApprovalPolicy.from_config("yolo", ("terminal:npm",), ("terminal:npm publish",))
    assert policy.decide(terminal("npm test", "npm test")).action == "allow"
    decision = policy.decide(terminal("npm publish", "npm publish"))
    assert decision == Decision("deny", "denied by rule 'terminal:npm publish' in approvals.deny")


def test_allow_rule_must_cover_every_sub_command() -> None:
    policy = ApprovalPolicy.from_config("ask", ("terminal:npm test",), ())
    assert policy.decide(terminal("npm test", "npm test")).action == "allow"
    # An allowance for `npm test` does not cover `npm test && curl x`.
    assert policy.decide(terminal("npm test && curl x", "npm test", "curl")).action == "ask"


def test_catastrophic_never_allowed_by_rules_or_grants() -> None:
    facts = terminal("rm -rf /", "rm", catastrophic="recursive delete of /")
    policy = ApprovalPolicy.from_config("yolo", ("terminal",), ())
    policy.grant(("terminal:rm",))
    decision = policy.decide(facts)
    assert decision == Decision("ask", "catastrophic: recursive delete of /", (), True)
    assert policy.always_rules(facts) == ()


def test_always_grant_is_scoped_per_sub_command() -> None:
    policy = ApprovalPolicy(mode="ask")
    facts = terminal("npm test && npm run lint", "npm test", "npm run lint")
    decision = policy.decide(facts)
    assert decision.always_rules == ("terminal:npm test", "terminal:npm run lint")
    policy.grant(decision.always_rules)
    assert policy.decide(facts).action == "allow"
    assert policy.decide(terminal("npm test && curl x", "npm test", "curl")).action == "ask"
    assert policy.revoke("terminal:npm run lint")
    assert policy.decide(facts).action == "ask"


def test_grant_for_files_is_a_path() -> None:
    policy = ApprovalPolicy(mode="ask")
    decision = policy.decide(write("/w/src/a.py"))
    assert decision.always_rules == ("write_file:/w/src/a.py",)
    policy.grant(decision.always_rules)
    assert policy.decide(write("/w/src/a.py")).action == "allow"
    assert policy.decide(write("/w/src/b.py")).action == "ask"


def test_path_glob_rules() -> None:
    policy = ApprovalPolicy.from_config("ask", ("write_file:*.md",), ())
    assert policy.decide(write("/w/README.md")).action == "allow"
    assert policy.decide(write("/w/main.py")).action == "ask"


def test_rule_parse_and_str() -> None:
    assert Rule.parse("terminal: git status") == Rule("terminal", "git status")
    assert str(Rule.parse("patch")) == "patch"


def test_headless_denial_says_how_to_allow() -> None:
    facts = terminal("npm test", "npm test")
    text = headless_denial(ApprovalPolicy().decide(facts), facts)
    assert "--approval-mode" in text and "terminal:npm test" in text


def test_tool_wide_deny_covers_unparseable_commands() -> None:
    policy = ApprovalPolicy.from_config("yolo", (), ("terminal",))
    assert (
        policy.decide(
            terminal(
                "echo $(",
            )
        ).action
        == "deny"
    )


def test_prefix_rules_never_cover_a_command_that_is_not_plain() -> None:
    # `ls > /etc/x` has the prefix "ls" but writes a file: an "ls" rule must not cover it.
    facts = CallFacts(
        "terminal", "exec", command="ls > /etc/x", command_prefixes=("ls",), plain=False
    )
    policy = ApprovalPolicy.from_config("ask", ("terminal:ls",), ())
    policy.grant(("terminal:ls",))
    assert policy.decide(facts).action == "ask"
    assert policy.always_rules(facts) == ()
    assert ApprovalPolicy.from_config("ask", ("terminal",), ()).decide(facts).action == "allow"
    assert ApprovalPolicy.from_config("yolo", (), ("terminal:ls",)).decide(facts).action == "deny"


def test_tool_name_globs() -> None:
    policy = ApprovalPolicy.from_config("ask", ("mcp__github__*",), ())
    assert policy.decide(CallFacts("mcp__github__list_issues", "exec")).action == "allow"
    assert policy.decide(CallFacts("mcp__gitlab__list_issues", "exec")).action == "ask"


# ---------------------------------------------------------------- issue 15, finding 9


@pytest.mark.parametrize("mode", ["ask", "auto-edit"])
def test_headless_hint_names_a_mode_that_would_allow_the_call(mode: str) -> None:
    facts = terminal("npm test", "npm test")
    text = headless_denial(ApprovalPolicy(mode=mode).decide(facts), facts)  # type: ignore[arg-type]
    assert "--approval-mode yolo" in text
    assert "--approval-mode auto-edit" not in text
    assert "terminal `npm test`" in text  # the denial quotes the command


def test_headless_hint_for_an_edit_offers_auto_edit() -> None:
    facts = write("/w/a.py")
    text = headless_denial(ApprovalPolicy().decide(facts), facts)
    assert "--approval-mode auto-edit (or " in text and "yolo" in text
    assert "write_file on /w/a.py" in text


@pytest.mark.parametrize(
    "facts",
    [
        terminal("rm -rf /", "rm", catastrophic="recursive delete of /"),
        write("/w/.git/config", sensitive="writes git internals"),
        CallFacts("write_file", "write", paths=(Path("/w/.git/x"),), protected="writes .git"),
        write("/etc/hosts", outside=True),
    ],
)
def test_headless_hint_never_names_a_mode_that_would_still_ask(facts: CallFacts) -> None:
    text = headless_denial(ApprovalPolicy(mode="yolo").decide(facts), facts)
    assert "--approval-mode" not in text
    assert "Only a person can approve it" in text


def test_headless_denial_quotes_the_command_on_one_line() -> None:
    facts = terminal("make \\\n  build\x1b", "make")
    text = headless_denial(ApprovalPolicy().decide(facts), facts)
    assert "`make \\ build\\x1b`" in text and "\n" not in text


def test_modes_that_allow() -> None:
    from hermes.safety.policy import modes_that_allow

    command = modes_that_allow(terminal("npm test", "npm test"))
    assert "yolo" in command and "ask" not in command and "auto-edit" not in command
    edit = modes_that_allow(write("/w/a"))
    assert {"auto-edit", "yolo"} <= set(edit) and "ask" not in edit
    assert {"ask", "auto-edit", "yolo"} <= set(modes_that_allow(READ))
    assert modes_that_allow(write("/etc/x", outside=True)) == ()


@pytest.mark.parametrize(
    ("prefixes", "rules"),
    [
        (("python -m pytest",), ("terminal:python -m pytest",)),
        (("npm run test",), ("terminal:npm run test",)),
        (("cargo test",), ("terminal:cargo test",)),
        (("python tools/gen.py",), ("terminal:python tools/gen.py",)),
        (("python",), ()),
        (("python3 -c",), ()),
        (("node -e",), ()),
        (("bash -c",), ()),
        (("sudo python",), ()),
        (("npm run",), ()),
        (("uv run",), ()),
        (("docker run",), ()),
        (("npx",), ()),
        (("ls", "python"), ()),
    ],
)
def test_always_is_scoped_to_what_ran(prefixes: tuple[str, ...], rules: tuple[str, ...]) -> None:
    facts = terminal(" && ".join(prefixes), *prefixes)
    assert ApprovalPolicy().decide(facts).always_rules == rules


def test_protected_beats_allow_rules_and_grants() -> None:
    facts = CallFacts("write_file", "write", paths=(Path("/w/.git/x"),), protected="writes .git")
    policy = ApprovalPolicy.from_config("yolo", ("write_file",), ())
    policy.grant(("write_file:/w/.git/x",))
    decision = policy.decide(facts)
    assert (decision.action, decision.always_rules) == ("ask", ())
    assert ApprovalPolicy.from_config("yolo", (), ("write_file",)).decide(facts).action == "deny"


def test_writes_outside_the_workspace_offer_no_grant_that_could_not_work() -> None:
    decision = ApprovalPolicy().decide(write("/etc/hosts", outside=True))
    assert (decision.action, decision.always_rules) == ("ask", ())


# ---------------------------------------------------------------- issue 19: plan mode


@pytest.mark.parametrize(
    "facts",
    [
        write("/w/a.py"),
        terminal("npm test", "npm test"),
        terminal("rm -rf /", "rm", catastrophic="recursive delete of /"),
        write("/etc/hosts", outside=True),
    ],
)
def test_plan_mode_refuses_every_write_and_command_whatever_allows_it(facts: CallFacts) -> None:
    policy = ApprovalPolicy.from_config("plan", ("write_file", "terminal"), ())
    policy.grant(("terminal:npm test",))
    decision = policy.decide(facts)
    assert decision.action == "deny" and decision.reason.startswith("plan mode: ")
    assert "call exit_plan_mode with your plan" in decision.reason


def test_plan_mode_still_reads() -> None:
    assert ApprovalPolicy(mode="plan").decide(READ).action == "allow"
    read_command = terminal("ls", "ls", tool_class="read")
    assert ApprovalPolicy(mode="plan").decide(read_command).action == "allow"
