"""Scopes (RFC 6749 §3.3) and what they mean to the person approving a client."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ALL_SCOPES: tuple[str, ...] = (
    "credits:read",
    "content:read",
    "content:write",
    "post:write",
    "accounts:read",
    "businesses:read",
)

# Shown on the consent page: what a scope lets the client do, in plain words.
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "credits:read": "See your credit balance and what actions cost",
    "content:read": "Read your generated content and the status of videos and posts",
    "content:write": "Generate content, images and videos for you (this spends credits)",
    "post:write": "Publish, schedule and cancel posts on your social accounts",
    "accounts:read": "See your connected social accounts",
    "businesses:read": "See your businesses",
}


def parse_scope(value: str | None) -> list[str]:
    """Split a space-delimited ``scope`` value (RFC 6749 §3.3), dropping duplicates, keeping order."""
    if not value:
        return []
    return list(dict.fromkeys(value.split()))


def format_scope(scopes: Iterable[str]) -> str:
    return " ".join(scopes)


def in_canonical_order(scopes: Iterable[str], supported: Sequence[str]) -> list[str]:
    """The known ``scopes`` in the order ``supported`` lists them; unknown ones are ignored."""
    wanted = set(scopes)
    return [scope for scope in supported if scope in wanted]


def describe(scope: str) -> str:
    return SCOPE_DESCRIPTIONS.get(scope, scope)


def grantable_scopes(requested: Sequence[str] | None, key_scopes: Iterable[str], supported: Sequence[str]) -> list[str]:
    """The scopes a grant receives: the requested known scopes that the key holds.

    With no known scope requested, the grant receives every scope of the key (this
    product's rule: the key is what the person chose to delegate).
    """
    held = set(key_scopes)
    wanted = set(requested) if requested else set(supported)
    return [scope for scope in supported if scope in wanted and scope in held]
