"""Secrets: how they are made, stored and, for the one that must be recovered, sealed.

Codes, tokens and client secrets are 256-bit random strings stored only as their
SHA-256 digest, so a copy of the database grants nothing. The API key a person
pastes on the consent page must be recovered later (refresh, gateway mode): it is
sealed with AES-256-GCM under the server key, with the id of the row holding it as
associated data, so a sealed key moved to another row no longer opens.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ACCESS_TOKEN_PREFIX = "fsx_at_"
REFRESH_TOKEN_PREFIX = "fsx_rt_"
AUTHORIZATION_CODE_PREFIX = "fsx_ac_"
CLIENT_ID_PREFIX = "fsc_"
CLIENT_SECRET_PREFIX = "fsx_cs_"

_SEAL_VERSION = b"\x01"
_NONCE_BYTES = 12


def generate_secret(prefix: str, nbytes: int = 32) -> str:
    """A prefixed URL-safe random string; 32 bytes is well above RFC 6749 §10.10's 128 bits."""
    return prefix + secrets.token_urlsafe(nbytes)


def generate_id(prefix: str) -> str:
    """An opaque row id (128 random bits)."""
    return prefix + secrets.token_urlsafe(16)


def hash_secret(secret: str) -> str:
    """The only form in which a code, token or client secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secrets_equal(a: str, b: str) -> bool:
    """Constant-time comparison that accepts any text."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte subkey of ``master`` for one purpose (HKDF-SHA256, RFC 5869), so one
    server secret can seal and sign without the two uses ever sharing a key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


class SealError(Exception):
    """A sealed value does not open: wrong key, wrong context, or tampered bytes."""


class Sealer:
    """AES-256-GCM sealing of secrets that must be recovered."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> bytes:
        """``version || nonce || ciphertext+tag``; a fresh random nonce every time."""
        nonce = os.urandom(_NONCE_BYTES)
        return _SEAL_VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode())

    def unseal(self, sealed: bytes, *, context: str) -> str:
        if len(sealed) <= 1 + _NONCE_BYTES or sealed[:1] != _SEAL_VERSION:
            raise SealError("unknown sealed format")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context.encode()).decode("utf-8")
        except InvalidTag as exc:
            raise SealError("sealed value does not open in this context") from exc


def code_seal_context(code_id: str) -> str:
    return f"fluxsocial/oauth/authorization-code/{code_id}"


def grant_seal_context(grant_id: str) -> str:
    return f"fluxsocial/oauth/grant/{grant_id}"
