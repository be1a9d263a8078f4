"""Users: sign-up with the starting credit grant, and password checks."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ids
from ..errors import BadRequest, NotFound
from ..models import User
from .credits import add_credits

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or not domain or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
        raise BadRequest(f"'email' is not a valid email address: {email!r}")
    return email


async def create_user(
    session: AsyncSession, email: str, password: str | None, starting_credits: int
) -> User:
    email = normalize_email(email)
    if await find_user_by_email(session, email) is not None:
        raise BadRequest(f"A user with email {email} already exists")
    if password is not None:
        check_password(password)
    user = User(
        id=ids.new_id(ids.USER),
        email=email,
        password_hash=_hasher.hash(password) if password is not None else None,
        credit_balance=0,
    )
    session.add(user)
    await session.flush()
    if starting_credits:
        await add_credits(session, user.id, starting_credits, reason="signup_grant")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


async def get_user_by_email(session: AsyncSession, email: str) -> User:
    user = await find_user_by_email(session, email)
    if user is None:
        raise NotFound(f"No user with email {email}")
    return user


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH or not password.strip():
        raise BadRequest(f"'password' must be at least {MIN_PASSWORD_LENGTH} characters, not only spaces")
    return password


async def set_password(session: AsyncSession, email: str, password: str) -> User:
    user = await get_user_by_email(session, email)
    user.password_hash = _hasher.hash(check_password(password))
    await session.flush()
    return user


def password_matches(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
