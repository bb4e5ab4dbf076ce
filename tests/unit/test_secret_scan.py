"""No secret in the repository: every tracked file is scanned for private keys, passwords in
URLs, cloud access keys and tokens. Test placeholders are allowed by name, not by file."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        r"(?i)aws_?secret_?access_?key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}\b"
    ),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    # scheme://user:password@host, the password not a placeholder or a variable
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@[\w.-]+"),
}

# Passwords that are placeholders, the embedded default's or CI's, not secrets: the local
# PostgreSQL/MinIO/Airflow of the development stack (docker-compose, the README, tests).
PLACEHOLDERS = re.compile(
    r"^(?:\$\{?\w+\}?|\{\w*\}|<[\w-]+>|\*+|x+|password|passw0rd|secret|change_?me|postgres|"
    r"airflow|minioadmin|ndc|ndc_\w+|admin|test|testing|example|pass|pw|pwd|"
    r"%s|%\(\w+\)s|\w*_password|\w*secret\w*)$",
    re.IGNORECASE,
)
# Files whose job is to hold what looks like a secret: this scanner and its own examples.
ALLOWED_FILES = {"tests/unit/test_secret_scan.py"}


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / p for p in out.decode().split("\0") if p]


def findings(text: str, name: str) -> list[str]:
    """Every secret-like string of a text, as '<file>:<line>: <kind>'."""
    found = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            if kind == "password in a URL" and PLACEHOLDERS.match(match.group(1)):
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{name}:{line}: {kind}")
    return found


@pytest.mark.parametrize(
    "text",
    [
        "key = '-----BEGIN RSA PRIVATE KEY-----'",
        "AKIAIOSFODNN7EXAMPLF",
        "postgresql://ndc:S3cr3t-Pa55@db.example.vn:5432/ndc",
        "token: ghp_" + "a1B2" * 9,
        "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ],
)
def test_the_scanner_finds_a_planted_secret(text):
    assert findings(text, "planted")


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://postgres@127.0.0.1:5432/ndc",
        "postgresql://postgres:postgres@127.0.0.1:5432/ndc",
        "s3://minioadmin:minioadmin@localhost:9000",
        "postgresql://${NDC_PG_USER}:${NDC_PG_PASSWORD}@host/db",
        "http://user:<password>@host",
    ],
)
def test_placeholders_are_not_secrets(text):
    assert findings(text, "placeholder") == []


def test_no_tracked_file_holds_a_secret():
    found = []
    for path in tracked_files():
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED_FILES or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary (workbooks, Parquet): not text to scan
            continue
        found += findings(data.decode("utf-8", errors="replace"), name)
    assert found == [], "secret-like strings in tracked files:\n" + "\n".join(found)
