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
    facts = terminal("npm test && npm run lint", "npm test", "npm run")
    decision = policy.decide(facts)
    assert decision.always_rules == ("terminal:npm test", "terminal:npm run")
    policy.grant(decision.always_rules)
    assert policy.decide(facts).action == "allow"
    assert policy.decide(terminal("npm test && curl x", "npm test", "curl")).action == "ask"
    assert policy.revoke("terminal:npm run")
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
