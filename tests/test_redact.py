"""Secret redaction: known formats go, ordinary text and code stay byte for byte."""

from __future__ import annotations

import pytest

from hermes.redact import MARK, redact

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
