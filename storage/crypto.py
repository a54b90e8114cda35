"""Encryption at rest for credentials (bot tokens), with Fernet from ``cryptography``.

Any passphrase works as ``MOMENTUM_SECRET_KEY``: it is stretched to a Fernet key
with PBKDF2 so operators need not generate base64 keys by hand.  Several keys
separated by commas rotate: the first encrypts, all decrypt.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

_SALT = b"momentum-bot/credentials/v1"


class DecryptionError(Exception):
    """The stored secret cannot be read with the configured key(s)."""


def _derive(passphrase: str) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=_SALT, iterations=200_000)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode()))


class SecretBox:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("MOMENTUM_SECRET_KEY is empty")
        self._fernet = MultiFernet([Fernet(_derive(p)) for p in parts])

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise DecryptionError("cannot decrypt: wrong MOMENTUM_SECRET_KEY?") from exc

    def encrypt_text(self, value: str) -> str:
        return self.encrypt(value.encode()).decode()

    def decrypt_text(self, value: str) -> str:
        return self.decrypt(value.encode()).decode()

    def encrypt_json(self, value: dict[str, Any]) -> bytes:
        return self.encrypt(json.dumps(value, sort_keys=True).encode())

    def decrypt_json(self, token: bytes) -> dict[str, Any]:
        out = json.loads(self.decrypt(token))
        if not isinstance(out, dict):
            raise DecryptionError("stored credentials are not an object")
        return out
