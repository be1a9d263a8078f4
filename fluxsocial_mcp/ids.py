"""Opaque, unguessable, URL-safe identifiers: a type prefix and 128 random bits."""

import secrets

USER, API_KEY, BUSINESS, ACCOUNT, SESSION, SUGGESTION, VIDEO_OPERATION = (
    "usr", "key", "biz", "acc", "ses", "sug", "op",
)
TARGET, MEDIA = "tgt", "med"


def new_id(prefix: str) -> str:
    # 16 bytes of token_urlsafe = 128 bits, comfortably above the 80 the contract asks for.
    return f"{prefix}_{secrets.token_urlsafe(16)}"
