"""Secrets sealed at rest (TOTP secrets): AES-256-GCM with a key from settings, never stored beside it.

A sealed value reads `v1:<base64 nonce + ciphertext>`; the column's name is bound in as
associated data, so a sealed value copied into another column does not open. A value without
the prefix is a secret written before sealing existed: it opens as itself, and the next
successful login seals it (`needs_resealing`).
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"


class SealBroken(Exception):
    """A sealed value did not open with this key (wrong key, or the value was altered)."""


class SecretBox:
    def __init__(self, key_material: str | bytes) -> None:
        material = key_material.encode() if isinstance(key_material, str) else key_material
        if len(material) < 16:
            raise ValueError("the sealing key must be at least 16 characters")
        self._aead = AESGCM(hashlib.sha256(b"cutis-seal-v1:" + material).digest())

    def seal(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, purpose: str) -> str:
        """
        >>> box = SecretBox("a key of sixteen+ characters")
        >>> box.open(box.seal("JBSWY3DPEHPK3PXP", "users.totp_secret"), "users.totp_secret")
        'JBSWY3DPEHPK3PXP'
        >>> box.open("JBSWY3DPEHPK3PXP", "users.totp_secret")  # written before sealing existed
        'JBSWY3DPEHPK3PXP'
        """
        if not stored.startswith(PREFIX):
            return stored
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode())
        try:
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except InvalidTag:
            raise SealBroken(f"a sealed {purpose} does not open with this key") from None

    @staticmethod
    def needs_resealing(stored: str) -> bool:
        return not stored.startswith(PREFIX)
