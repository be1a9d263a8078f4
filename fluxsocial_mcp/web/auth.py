"""Sign up, sign in and sign out with email and password (Argon2id hashes, core.users)."""

from __future__ import annotations

from functools import cache

import anyio
from argon2 import PasswordHasher
from starlette.responses import Response
from starlette.routing import BaseRoute

from ..api.rest import client_address
from ..core import users
from ..errors import BadRequest, RateLimited
from ..models import User
from .security import end_session, flash, safe_next, start_session
from .site import Site, Visit

HOME = "/settings/api-keys"
# Argon2 costs time on purpose; a multi-megabyte "password" would make that a weapon.
MAX_PASSWORD_LENGTH = 1024


@cache
def _decoy_hash() -> str:
    return PasswordHasher().hash("decoy password, never matches anything typed")


def auth_routes(site: Site) -> list[BaseRoute]:
    limiter = site.runtime.limiter

    async def signup(visit: Visit) -> Response:
        if visit.user is not None:
            return site.redirect(HOME)
        if visit.form is None:
            return site.render(visit, "signup.html", {"email": "", "errors": {}})
        email, password = visit.field("email").strip(), visit.field("password")
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = "Enter your email address."
        if len(password) < users.MIN_PASSWORD_LENGTH:
            errors["password"] = f"Choose a password of at least {users.MIN_PASSWORD_LENGTH} characters."
        elif len(password) > MAX_PASSWORD_LENGTH:
            errors["password"] = f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters."
        user: User | None = None
        if not errors:
            try:
                async with site.core.db.transaction() as session:
                    user = await users.create_user(session, email, password, site.settings.signup_credits)
            except BadRequest as exc:
                errors["email"] = _signup_problem(exc)
        if user is None:
            return site.render(visit, "signup.html", {"email": email, "errors": errors}, status_code=400)
        start_session(visit.request, user.id)
        flash(
            visit.request,
            f"Welcome to FluxSocial! Your account starts with {site.settings.signup_credits:,} credits. "
            "Create your first API key to start using the API.",
        )
        return site.redirect(HOME)

    async def login(visit: Visit) -> Response:
        next_url = safe_next(visit.request.query_params.get("next") if visit.form is None else visit.field("next"))
        if visit.user is not None:
            return site.redirect(next_url or HOME)
        if visit.form is None:
            return site.render(visit, "login.html", {"email": "", "next": next_url, "error": None})

        email, password = visit.field("email").strip(), visit.field("password")
        address = client_address(visit.request)
        # Two budgets: per address (one host guessing many accounts) and per account
        # (many hosts guessing one), both counting failures only.
        account_key = f"login:{email.lower()}"
        try:
            await limiter.check_auth_allowed(address)
            await limiter.check_auth_allowed(account_key)
        except RateLimited as exc:
            return site.render(
                visit,
                "login.html",
                {
                    "email": email,
                    "next": next_url,
                    "error": f"Too many failed sign-in attempts. Try again in {exc.retry_after} seconds.",
                },
                status_code=429,
                headers=exc.headers(),
            )
        user = await _user_with_password(site, email, password)
        if user is None:
            await limiter.record_auth_failure(address)
            await limiter.record_auth_failure(account_key)
            return site.render(
                visit,
                "login.html",
                {"email": email, "next": next_url, "error": "The email address or password is not correct."},
                status_code=400,
            )
        start_session(visit.request, user.id)
        return site.redirect(next_url or HOME)

    async def logout(visit: Visit) -> Response:
        end_session(visit.request)
        flash(visit.request, "You have signed out.")
        return site.redirect("/login")

    async def home(visit: Visit) -> Response:
        return site.redirect(HOME if visit.user is not None else "/login")

    return [
        site.page("/", home, signed_in=False),
        site.page("/signup", signup, methods=("GET", "POST"), signed_in=False),
        site.page("/login", login, methods=("GET", "POST"), signed_in=False),
        site.page("/logout", logout, methods=("POST",)),
    ]


async def _user_with_password(site: Site, email: str, password: str) -> User | None:
    if not email or not password or len(password) > MAX_PASSWORD_LENGTH:
        return None
    async with site.core.db.transaction() as session:
        user = await users.find_user_by_email(session, email)
    # Argon2 takes tens of milliseconds on purpose: off the event loop. Without an
    # account, a decoy hash takes the same time, so timing does not reveal which
    # email addresses have one.
    candidate = user if user is not None else User(id="", email="", password_hash=_decoy_hash())
    matches = await anyio.to_thread.run_sync(users.password_matches, candidate, password)
    return user if matches and user is not None else None


def _signup_problem(error: BadRequest) -> str:
    if "already exists" in error.message:
        return "An account with this email address already exists. Sign in instead."
    if "'email'" in error.message:
        return "Enter a valid email address, like name@example.com."
    return error.message
