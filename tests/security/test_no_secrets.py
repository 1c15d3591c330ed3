"""No secret is committed: private keys, platform tokens, Fernet keys (outside tests/)."""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config import ROOT

# Built from parts so this file does not match itself.
PEM = re.compile("-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE" + " KEY-----")
PATTERNS: dict[str, re.Pattern[str]] = {
    "private key": PEM,
    # The end is "no more token characters", not \b: a token may end in "-".
    "Telegram bot token": re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])"),
    "LINE channel access token": re.compile(r"[A-Za-z0-9+/]{160,}={0,2}"),
    "Meta access token": re.compile(r"\bEAA[A-Za-z0-9]{60,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    "AWS key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
}
FERNET = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])")
SECRET_ASSIGNMENT = re.compile(
    r"^\s*(PSEUDONYM_KEY|ENCRYPTION_KEYS|LINE_CHANNEL_SECRET|LINE_CHANNEL_ACCESS_TOKEN|"
    r"TELEGRAM_BOT_TOKEN|TELEGRAM_SECRET_TOKEN|MESSENGER_APP_SECRET|"
    r"MESSENGER_PAGE_ACCESS_TOKEN)\s*[=:]\s*['\"]?([^'\"\s#]{12,})",
    re.MULTILINE,
)
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".tflite", ".gz"}


def is_fernet_key(candidate: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(candidate)) == 32
    except ValueError:
        return False


def findings(path: str, text: str) -> list[str]:
    found = [f"{path}: {name}" for name, pattern in PATTERNS.items() if pattern.search(text)]
    if not path.startswith("tests/"):
        if any(is_fernet_key(m.group(0)) for m in FERNET.finditer(text)):
            found.append(f"{path}: Fernet key")
        for match in SECRET_ASSIGNMENT.finditer(text):
            found.append(f"{path}: value for {match.group(1)}")
    return found


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [p for p in listing.decode().split("\0") if p]


def test_no_secret_in_tracked_files() -> None:
    problems: list[str] = []
    for name in tracked_files():
        path = ROOT / name
        if Path(name).name in {".env", ".env.local"} or name.endswith(".pem"):
            problems.append(f"{name}: a secrets file is tracked")
            continue
        if path.suffix in BINARY_SUFFIXES or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue
        problems += findings(name, data.decode("utf-8", errors="replace"))
    assert problems == []


def test_the_scanner_finds_what_it_should() -> None:
    fernet = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    planted = {
        "pem": "-----BEGIN RSA PRIVATE" + " KEY-----\nMIIE...",
        "telegram": f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(25)[:33]}",
        "line": base64.b64encode(secrets.token_bytes(130)).decode(),
        "meta": "EAA" + secrets.token_hex(40),
        "fernet": f"key: {fernet}",
        "env": "ENCRYPTION_KEYS=" + fernet,
    }
    for name, text in planted.items():
        assert findings("bot/example.py", text), name
    # Random tokens end in "-" once in 64 runs: that case, always.
    assert findings("bot/example.py", f"123456789:AA{'x' * 32}-")
    assert findings("tests/example.py", planted["fernet"]) == []  # test keys are fine
    assert findings("bot/example.py", 'ENCRYPTION_KEYS: ""\npseudonym_key: ""') == []
