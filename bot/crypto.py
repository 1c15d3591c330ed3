"""Encryption at rest and pseudonyms for platform user ids.

Keys are Fernet keys from the environment (ENCRYPTION_KEYS, comma-separated): the first
encrypts, all decrypt, so a key can be rotated by putting the new one first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.config import ConfigError


class Vault:
    def __init__(self, keys: tuple[str, ...]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError):
            raise ConfigError(
                "security.encryption_keys (ENCRYPTION_KEYS): expected comma-separated Fernet"
                " keys (32 url-safe base64-encoded bytes each)"
            ) from None

    def encrypt_text(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt_text(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode("utf-8")

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def decrypt_json(self, token: bytes) -> Any:
        return json.loads(self.decrypt_text(token))

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt with the first key (for a key-rotation job)."""
        return self._fernet.rotate(token)


def pseudonym(key: bytes, platform: str, user_id: str) -> str:
    return hmac.new(key, f"{platform}:{user_id}".encode(), hashlib.sha256).hexdigest()


def new_key() -> str:
    return Fernet.generate_key().decode()


__all__ = ["InvalidToken", "Vault", "new_key", "pseudonym"]
