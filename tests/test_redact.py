"""Secret redaction: known formats go, ordinary text and code stay byte for byte."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from hermes.redact import (
    MARK,
    StreamRedactor,
    child_environment,
    credential_names,
    redact,
    redact_bytes,
    redact_json,
    register_credentials,
    register_secret,
    registered_secrets,
    withheld_variables,
)

OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
ANTHROPIC = "sk-ant-api03-" + "x7Yz" * 20
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
SLACK = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBvJm7yQX1c9R8n0nqCwzDq7Eo2wG1v2sCkXhZ3uQ1LlQAAAJiZ7j8lme4/\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (f"export OPENAI_API_KEY={OPENAI}", OPENAI, "api-key"),
        (f"key: {ANTHROPIC}\n", ANTHROPIC, "api-key"),
        (f"git remote add origin https://{GITHUB}@github.com/me/x", GITHUB, "github-token"),
        (f"aws_access_key_id = {AWS_ID}", AWS_ID, "aws-key-id"),
        (f"SLACK_TOKEN='{SLACK}'", SLACK, "slack-token"),
        (f"here:\n{PEM}\ndone", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "private-key"),
        ("https://alice:s3cr3t-pass@example.com/repo.git", "s3cr3t-pass", "url-password"),
        (
            "curl 'https://api.x.io/v1/items?limit=5&access_token=abcdef123456'",
            "abcdef123456",
            "url-token",
        ),
        ("curl -H 'Authorization: Bearer abc.def-ghi_jkl123'", "abc.def-ghi_jkl123", "auth-header"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws-secret",
        ),
    ],
)
def test_known_formats_are_redacted(text: str, secret: str, kind: str) -> None:
    out = redact(text)
    assert secret not in out
    assert f"{MARK}{kind}]" in out


def test_context_around_a_secret_is_kept() -> None:
    out = redact(f"export OPENAI_API_KEY={OPENAI}  # mine")
    assert out == f"export OPENAI_API_KEY={MARK}api-key]  # mine"
    assert redact("https://alice:pw123456@host/x") == f"https://alice:{MARK}url-password]@host/x"


def test_truncated_private_key_is_redacted_to_the_end() -> None:
    head = PEM.split("-----END")[0]
    out = redact("cat id_ed25519\n" + head)
    assert out == f"cat id_ed25519\n{MARK}private-key]"


@pytest.mark.parametrize(
    "text",
    [
        "def ask(task-manager): return disk-usage-report-generator",
        "the sk-learn and sk-image packages",
        "class=sk-spinner-fading-circle-loader-big",
        "ASIAN markets, AKIA is a prefix",
        "https://example.com/path?page=2&sort=name",
        "see http://localhost:8080/v1 and git@github.com:me/x.git",
        "token = get_token()  # password = input()",
        "",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


def test_idempotent() -> None:
    once = redact(f"{OPENAI} {GITHUB} {PEM}")
    assert redact(once) == once


# --------------------------------------------------------------------------- linear time

MB = 1 << 20


def adversarial_inputs() -> dict[str, str]:
    """About 1 MB for each pattern, shaped to make a backtracking pattern rescan runs."""

    def fill(unit: str) -> str:
        return unit * (MB // len(unit))

    return {
        "private-key": fill("-----BEGIN A ") + fill("-----END RSA PRIVATE KEY ")[:100],
        "private-key-open": "-----BEGIN RSA PRIVATE KEY-----" + fill("-----END A "),
        "sk-": fill("sk-"),
        "sk-run": fill("sk-a"),
        "stripe": fill("sk_live_"),
        "github": fill("ghp_"),
        "github-pat": fill("github_pat_"),
        "gitlab": fill("glpat-"),
        "aws-id": fill("AKIA"),
        "aws-secret": "aws_secret_access_key" + " " * MB,
        "slack": fill("xoxb-"),
        "google": fill("AIza"),
        "huggingface": fill("hf_"),
        "jwt-dash": fill("eyJ-"),
        "jwt-dots": fill("eyJ" + "a" * 10 + "."),
        "url-password": "://a:" + "b" * MB,
        "url-schemes": fill("://"),
        "url-token": fill("?token="),
        "authorization": "authorization: bearer" + " " * MB,
    }


@pytest.mark.parametrize("name", sorted(adversarial_inputs()))
def test_a_megabyte_of_adversarial_text_is_redacted_in_linear_time(name: str) -> None:
    text = adversarial_inputs()[name]
    started = time.perf_counter()
    redact(text)
    # The bench (bench/bench_redact.py) aims under 0.1 s; this only proves no blow-up
    # (quadratic took 24 s for 100 KB).
    assert time.perf_counter() - started < 2.0


def test_the_linear_rewrites_keep_what_was_redacted_and_what_was_not() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert redact(f"token-{jwt} x") == f"token-{MARK}jwt] x"
    assert redact("eyJ-eyJ-eyJhbGciOiJIUzI1NiJ9 alone") == "eyJ-eyJ-eyJhbGciOiJIUzI1NiJ9 alone"
    assert redact("sk-" + "abcdefghij" * 3) == "sk-" + "abcdefghij" * 3  # no digit: kept
    assert redact("sk-" + "abcdefghij" * 3 + "7") == f"{MARK}api-key]"
    assert redact("x-sk-abcdefghijklmnopqrstu1") == f"x-{MARK}api-key]"


# --------------------------------------------------------------------------- exact values


def unique_secret(prefix: str = "gsk_") -> str:
    """A key in a shape no pattern knows (Groq's ``gsk_``), unique to the test."""
    return prefix + secrets.token_hex(20)


def test_a_registered_secret_is_redacted_whatever_its_shape() -> None:
    key = unique_secret()
    assert redact(f"echo {key}") == f"echo {key}"
    register_secret(key)
    assert redact(f"KEY={key}\nagain:{key}.") == f"KEY={MARK}credential]\nagain:{MARK}credential]."
    assert redact_bytes(f"\x00\xff{key}".encode("latin-1")) == b"\x00\xff[REDACTED:credential]"
    assert key in registered_secrets()


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    register_secret("   x   ")
    register_secret(None)
    assert redact("abc x") == "abc x"


def test_credentials_are_registered_by_name_and_value() -> None:
    key, other = unique_secret(), unique_secret("xai-")
    env = {"HERMES_API_KEY": key, "GROQ_API_KEY": other, "PATH": "/usr/bin"}
    register_credentials(None, "GROQ_API_KEY", env)
    assert {"HERMES_API_KEY", "OPENAI_API_KEY", "GROQ_API_KEY"} <= credential_names()
    assert redact(f"{key} {other}") == f"{MARK}credential] {MARK}credential]"


def test_child_environment_drops_credentials_unless_passed_through_by_name() -> None:
    key = unique_secret()
    register_credentials(key, "OPENAI_API_KEY", {})
    base = {
        "PATH": "/usr/bin",
        "HERMES_API_KEY": "anything-at-all",
        "OPENAI_API_KEY": key,
        "COPY_OF_KEY": key,
        "AUTH_HEADER": f"Bearer {key}",
        "HOME": "/home/me",
    }
    assert child_environment(base) == {"PATH": "/usr/bin", "HOME": "/home/me"}
    assert child_environment(base, ["OPENAI_API_KEY"]) == {
        "PATH": "/usr/bin",
        "OPENAI_API_KEY": key,
        "HOME": "/home/me",
    }
    assert withheld_variables(base, ["COPY_OF_KEY"]) == [
        "AUTH_HEADER",
        "HERMES_API_KEY",
        "OPENAI_API_KEY",
    ]


def test_redact_json_keeps_the_structure() -> None:
    value = {"args": [OPENAI, {"url": "https://u:pw123456@h/x"}], "n": 3, "ok": True}
    out = redact_json(value)
    assert out == {
        "args": [f"{MARK}api-key]", {"url": f"https://u:{MARK}url-password]@h/x"}],
        "n": 3,
        "ok": True,
    }
    tricky = {"q": 'see ?token=abcdef\\"x and more'}
    assert json.loads(json.dumps(redact_json(tricky))) == redact_json(tricky)


# --------------------------------------------------------------------------- streams


def stream(pieces: list[bytes], redactor: StreamRedactor | None = None) -> bytes:
    r = redactor or StreamRedactor()
    return b"".join(r.feed(piece) for piece in pieces) + r.flush()


def test_a_secret_cut_between_pieces_is_redacted_at_every_cut() -> None:
    key = unique_secret()
    register_secret(key)
    text = f"line one\nexport OPENAI_API_KEY={OPENAI} and {key}\n{PEM}\nlast".encode()
    whole = redact_bytes(text)
    assert OPENAI.encode() not in whole and key.encode() not in whole
    for cut in range(1, len(text)):
        assert stream([text[:cut], text[cut:]]) == whole, cut


def test_byte_by_byte_and_binary_bytes_survive() -> None:
    data = bytes(range(256)) + f"\n{GITHUB}\n".encode() + bytes(range(255, -1, -1))
    out = stream([data[i : i + 1] for i in range(len(data))])
    assert out == bytes(range(256)) + b"\n[REDACTED:github-token]\n" + bytes(range(255, -1, -1))


def test_a_long_line_goes_out_at_a_space_and_a_huge_key_is_skipped_to_its_end() -> None:
    r = StreamRedactor(hold=100, key_hold=300)
    line = ("word " * 50).encode()  # 250 bytes, no newline
    first = r.feed(line)
    assert first and len(line) - len(first) <= 100
    assert first + r.flush() == line
    body = b"QUJD" * 200 + b"\n"
    key = b"-----BEGIN RSA PRIVATE KEY-----\n" + body * 3 + b"-----END RSA PRIVATE KEY-----\n"
    r = StreamRedactor(hold=100, key_hold=300)
    out = stream([b"before\n", key[:400], key[400:], b"after\n"], r)
    assert out == b"before\n[REDACTED:private-key]\nafter\n"
