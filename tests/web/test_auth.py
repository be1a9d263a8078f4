"""Sign up, sign in, sign out: sessions, CSRF, the login limit, safe redirects."""

from __future__ import annotations

import re

import pytest

from fluxsocial_mcp.core import credits, users
from fluxsocial_mcp.web import security

from ..factories import make_tenant
from .conftest import web_session
from .support import PASSWORD, WebSession, csrf_of


async def test_signing_up_creates_the_user_with_the_starting_grant_and_signs_in(web: WebSession, runtime) -> None:
    response = await web.sign_up("New.Person@Example.com")

    assert response.headers["location"] == "/settings/api-keys"
    async with runtime.core.db.transaction() as session:
        user = await users.get_user_by_email(session, "new.person@example.com")
        assert await credits.get_balance(session, user.id) == runtime.core.settings.signup_credits
        assert user.password_hash.startswith("$argon2id$")
    page = await web.get("/settings/api-keys")
    assert page.status_code == 200
    assert "new.person@example.com" in page.text
    assert "Welcome to FluxSocial!" in page.text


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", PASSWORD, "Enter your email address."),
        ("not-an-email", PASSWORD, "Enter a valid email address"),
        ("short@example.com", "short", "at least 8 characters"),
    ],
)
async def test_sign_up_refuses_bad_input_and_keeps_the_email(web: WebSession, email, password, message) -> None:
    response = await web.submit("/signup", "/signup", {"email": email, "password": password})

    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert f'value="{email}"' in response.text
    assert "set-cookie" not in response.headers or "uid" not in response.headers["set-cookie"]


async def test_sign_up_with_a_taken_email_says_so(web: WebSession, runtime) -> None:
    tenant = await make_tenant(runtime.core, email="taken@example.com")

    response = await web.submit("/signup", "/signup", {"email": "TAKEN@example.com", "password": PASSWORD})

    assert response.status_code == 400
    assert "already exists" in response.text
    assert tenant.user_id


async def test_sign_in_with_the_right_password_goes_to_api_keys(web: WebSession, runtime) -> None:
    await make_tenant(runtime.core, email="ada@example.com")

    response = await web.sign_in("ada@example.com")

    assert response.status_code == 303
    assert response.headers["location"] == "/settings/api-keys"
    assert (await web.get("/settings/api-keys")).status_code == 200


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(web: WebSession, runtime) -> None:
    await make_tenant(runtime.core, email="ada@example.com")

    wrong_password = await web.sign_in("ada@example.com", "not the password")
    unknown_email = await web.sign_in("nobody@example.com", "not the password")

    for response in (wrong_password, unknown_email):
        assert response.status_code == 400
        assert "The email address or password is not correct." in response.text
    assert (await web.get("/settings/api-keys")).status_code == 303


async def test_failed_sign_ins_are_limited_per_address(runtime_with) -> None:
    tuned = runtime_with(rate_limit_auth_failures=3)
    await make_tenant(tuned.core, email="ada@example.com")
    async with web_session(tuned) as web:
        for _ in range(3):
            assert (await web.sign_in("ada@example.com", "guess")).status_code == 400

        limited = await web.sign_in("ada@example.com")

    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many failed sign-in attempts" in limited.text


async def test_sign_out_ends_the_session(web: WebSession, runtime) -> None:
    await make_tenant(runtime.core, email="ada@example.com")
    await web.sign_in("ada@example.com")

    response = await web.submit("/settings/api-keys", "/logout")

    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await web.get("/settings/api-keys")).headers["location"] == "/login?next=/settings/api-keys"
    assert "You have signed out." in (await web.get("/login")).text


async def test_signed_out_visitors_of_settings_are_sent_to_sign_in_and_back(web: WebSession, runtime) -> None:
    await make_tenant(runtime.core, email="ada@example.com")

    bounced = await web.get("/settings/credits")
    login = await web.get(bounced.headers["location"])
    signed_in = await web.http.post(
        "/login",
        data={
            "email": "ada@example.com",
            "password": PASSWORD,
            "next": "/settings/credits",
            "csrf_token": csrf_of(login),
        },
    )

    assert bounced.status_code == 303
    assert bounced.headers["location"] == "/login?next=/settings/credits"
    assert 'name="next" value="/settings/credits"' in login.text
    assert signed_in.headers["location"] == "/settings/credits"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/x\r\nSet-Cookie: a=b"],
)
async def test_sign_in_never_redirects_off_site(web: WebSession, runtime, next_url: str) -> None:
    await make_tenant(runtime.core, email="ada@example.com")
    login = await web.get("/login", params={"next": next_url})

    response = await web.http.post(
        "/login",
        data={"email": "ada@example.com", "password": PASSWORD, "next": next_url, "csrf_token": csrf_of(login)},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/settings/api-keys"


@pytest.mark.parametrize("path", ["/signup", "/login"])
async def test_a_form_posted_without_its_csrf_token_is_refused(web: WebSession, runtime, path: str) -> None:
    await make_tenant(runtime.core, email="ada@example.com")
    await web.get(path)

    response = await web.http.post(path, data={"email": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 403
    assert "security token" in response.text
    assert (await web.get("/settings/api-keys")).status_code == 303


async def test_a_csrf_token_of_another_session_is_refused(runtime) -> None:
    await make_tenant(runtime.core, email="ada@example.com")
    async with web_session(runtime) as attacker, web_session(runtime) as victim:
        token = csrf_of(await attacker.get("/login"))
        await victim.get("/login")

        response = await victim.http.post(
            "/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}
        )

    assert response.status_code == 403


async def test_the_session_cookie_is_http_only_and_same_site_lax(web: WebSession) -> None:
    page = await web.get("/login")

    cookie = page.headers["set-cookie"]
    assert cookie.startswith("fsx_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # the test server's public URL is plain http


async def test_on_https_the_session_cookie_is_secure_and_host_only(runtime_with) -> None:
    tuned = runtime_with(public_url="https://social.example.com")
    async with web_session(tuned, base_url="https://social.example.com") as web:
        page = await web.get("/login")

    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-fsx_session=")
    assert "; secure" in cookie.lower() and "path=/" in cookie.lower() and "domain" not in cookie.lower()


async def test_the_api_never_sees_or_sets_a_session(web: WebSession, runtime) -> None:
    tenant = await make_tenant(runtime.core, email="ada@example.com")
    await web.sign_in("ada@example.com")

    without_key = await web.get("/api/v1/credits/balance")
    with_key = await web.get("/api/v1/credits/balance", headers=tenant.headers)

    assert without_key.status_code == 401  # the session cookie is no credential for the API
    assert with_key.status_code == 200
    assert "set-cookie" not in with_key.headers and "set-cookie" not in without_key.headers


async def test_pages_forbid_framing_and_inline_script(web: WebSession) -> None:
    page = await web.get("/login")

    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    # Every asset is local: the product works with no internet.
    assert not re.search(r'(src|href)="(https?:)?//', page.text)


async def test_stylesheet_and_script_are_served_locally(web: WebSession) -> None:
    css = await web.get("/static/app.css")
    js = await web.get("/static/app.js")

    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "@import" not in css.text and "url(http" not in css.text


async def test_a_session_ends_twelve_hours_after_sign_in_however_busy(web: WebSession, runtime, monkeypatch) -> None:
    await make_tenant(runtime.core, email="ada@example.com")
    await web.sign_in("ada@example.com")
    signed_in_at = security.wall_clock()

    monkeypatch.setattr(security, "wall_clock", lambda: signed_in_at + security.SESSION_MAX_AGE - 60)
    assert (await web.get("/settings/api-keys")).status_code == 200
    monkeypatch.setattr(security, "wall_clock", lambda: signed_in_at + security.SESSION_MAX_AGE + 60)
    expired = await web.get("/settings/api-keys")

    assert expired.status_code == 303 and expired.headers["location"].startswith("/login")
