"""Settings → API Keys: the secret shown once, the list, revocation, and every bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from fluxsocial_mcp.core import businesses, users
from fluxsocial_mcp.core.caller import ALL_SCOPES
from fluxsocial_mcp.models import ApiKey

from ..factories import make_tenant
from .support import PASSWORD, WebSession, connect_ai_app, csrf_of, secret_of


@pytest.fixture
async def signed_in(web: WebSession, runtime) -> WebSession:
    await make_tenant(runtime.core, email="ada@example.com")
    response = await web.sign_in("ada@example.com", PASSWORD)
    assert response.status_code == 303
    return web


async def keys_named(runtime, name: str) -> list[ApiKey]:
    async with runtime.core.db.transaction() as session:
        return list(await session.scalars(select(ApiKey).where(ApiKey.name == name)))


async def test_the_new_key_form_ticks_every_scope_by_default(signed_in: WebSession) -> None:
    page = await signed_in.get("/settings/api-keys/new")

    for scope in ALL_SCOPES:
        assert f'name="scopes" value="{scope}" checked' in page.text
    assert '<label for="name">Name' in page.text


async def test_a_created_key_is_shown_once_and_works_at_once(signed_in: WebSession, runtime) -> None:
    page = await signed_in.submit(
        "/settings/api-keys/new", "/settings/api-keys", {"name": "Blog bot", "scopes": list(ALL_SCOPES)}
    )
    secret = secret_of(page)

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert secret.startswith("fsx_live_")
    assert "It will not be shown again" in page.text
    balance = await signed_in.get("/api/v1/credits/balance", headers={"Authorization": f"Bearer {secret}"})
    assert balance.status_code == 200 and balance.json() == {"balance": 5000}

    listing = await signed_in.get("/settings/api-keys")
    (record,) = await keys_named(runtime, "Blog bot")
    assert secret not in listing.text
    assert f"{record.prefix}…{record.last_four}" in listing.text
    assert secret.endswith(record.last_four)
    assert "Blog bot" in listing.text and "All permissions" in listing.text and "Active" in listing.text


async def test_a_key_keeps_only_the_chosen_scopes_expiry_and_businesses(signed_in: WebSession, runtime) -> None:
    async with runtime.core.db.transaction() as session:
        user = await users.get_user_by_email(session, "ada@example.com")
        (business,) = await businesses.list_user_businesses(session, user.id)
    expires_on = (runtime.core.now() + timedelta(days=30)).date()

    page = await signed_in.submit(
        "/settings/api-keys/new",
        "/settings/api-keys",
        {
            "name": "Reporting",
            "scopes": ["credits:read", "businesses:read"],
            "expires_on": expires_on.isoformat(),
            "business_access": "selected",
            "business_ids": [business.id],
        },
    )

    assert page.status_code == 200
    (record,) = await keys_named(runtime, "Reporting")
    assert record.scopes == ["credits:read", "businesses:read"]
    assert record.expires_at is not None and record.expires_at.date() == expires_on
    assert record.business_ids == [business.id]
    key = {"Authorization": f"Bearer {secret_of(page)}"}
    assert (await signed_in.get("/api/v1/accounts", headers=key)).status_code == 403


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "", "scopes": ["credits:read"]}, "name", "Enter a name for the key"),
        ({"name": "   ", "scopes": ["credits:read"]}, "name", "Enter a name for the key"),
        ({"name": "x" * 101, "scopes": ["credits:read"]}, "name", "at most 100 characters"),
        ({"name": "No scope"}, "scopes", "Choose at least one permission."),
        ({"name": "Odd scope", "scopes": ["admin:all"]}, "scopes", "Unknown permission: admin:all."),
        ({"name": "Past", "scopes": ["credits:read"], "expires_on": "2026-04-01"}, "expires_on", "after today"),
        ({"name": "Today", "scopes": ["credits:read"], "expires_on": "2026-04-06"}, "expires_on", "after today"),
        ({"name": "Garbled", "scopes": ["credits:read"], "expires_on": "06/05/2026"}, "expires_on", "YYYY-MM-DD"),
        (
            {"name": "No business", "scopes": ["credits:read"], "business_access": "selected"},
            "business_ids",
            "Choose at least one business",
        ),
        (
            {
                "name": "Not mine",
                "scopes": ["credits:read"],
                "business_access": "selected",
                "business_ids": ["biz_nope"],
            },
            "business_ids",
            "no longer exists",
        ),
    ],
)
async def test_a_bad_key_form_is_shown_again_with_the_problem_and_creates_nothing(
    signed_in: WebSession, runtime, fields: dict, field: str, message: str
) -> None:
    page = await signed_in.submit("/settings/api-keys/new", "/settings/api-keys", fields)

    assert page.status_code == 400
    assert message in page.text
    assert f'id="{field}-error"' in page.text
    assert 'id="new-key"' not in page.text
    async with runtime.core.db.transaction() as session:
        names = list(await session.scalars(select(ApiKey.name)))
    assert names == ["test"]  # only the tenant's own key


async def test_a_bad_form_keeps_what_was_typed(signed_in: WebSession) -> None:
    page = await signed_in.submit(
        "/settings/api-keys/new",
        "/settings/api-keys",
        {"name": "Keep me", "expires_on": "2026-04-01", "scopes": ["post:write"]},
    )

    assert 'value="Keep me"' in page.text
    assert 'value="post:write" checked' in page.text
    assert 'value="credits:read" checked' not in page.text
    assert 'value="2026-04-01"' in page.text


async def test_revoking_a_key_asks_first_then_refuses_it_at_once(signed_in: WebSession, runtime) -> None:
    secret = await signed_in.create_key("Short lived")
    (record,) = await keys_named(runtime, "Short lived")
    key = {"Authorization": f"Bearer {secret}"}
    assert (await signed_in.get("/api/v1/credits/balance", headers=key)).status_code == 200

    confirm = await signed_in.get(f"/settings/api-keys/{record.id}/revoke")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert (await signed_in.get("/api/v1/credits/balance", headers=key)).status_code == 200  # a GET changes nothing

    done = await signed_in.http.post(f"/settings/api-keys/{record.id}/revoke", data={"csrf_token": csrf_of(confirm)})

    assert done.status_code == 303 and done.headers["location"] == "/settings/api-keys"
    refused = await signed_in.get("/api/v1/credits/balance", headers=key)
    assert refused.status_code == 401
    listing = await signed_in.get("/settings/api-keys")
    assert "was revoked" in listing.text and "Revoked" in listing.text


async def test_revoking_a_key_ends_the_oauth_grants_made_with_it(signed_in: WebSession, runtime) -> None:
    secret = await signed_in.create_key("For Claude", scopes=list(ALL_SCOPES))
    (record,) = await keys_named(runtime, "For Claude")
    await connect_ai_app(signed_in.http, secret)
    assert [g.key_id for g in await runtime.grants.list_user_grants(record.user_id)] == [record.id]
    confirm = await signed_in.get(f"/settings/api-keys/{record.id}/revoke")
    assert "For Claude" in confirm.text and "Claude</strong>" in confirm.text

    await signed_in.http.post(f"/settings/api-keys/{record.id}/revoke", data={"csrf_token": csrf_of(confirm)})

    assert await runtime.grants.list_user_grants(record.user_id) == []


async def test_revoking_without_the_csrf_token_is_refused_and_changes_nothing(signed_in: WebSession, runtime) -> None:
    secret = await signed_in.create_key("Kept")
    (record,) = await keys_named(runtime, "Kept")

    response = await signed_in.http.post(f"/settings/api-keys/{record.id}/revoke", data={})

    assert response.status_code == 403
    assert "Nothing was changed" in response.text
    assert (
        await signed_in.get("/api/v1/credits/balance", headers={"Authorization": f"Bearer {secret}"})
    ).status_code == 200


async def test_creating_a_key_without_the_csrf_token_is_refused(signed_in: WebSession, runtime) -> None:
    response = await signed_in.http.post("/settings/api-keys", data={"name": "Forged", "scopes": ["credits:read"]})

    assert response.status_code == 403
    assert await keys_named(runtime, "Forged") == []


async def test_another_users_key_is_not_found(signed_in: WebSession, runtime) -> None:
    other = await make_tenant(runtime.core, email="bob@example.com")
    page = await signed_in.get("/settings/api-keys")

    confirm = await signed_in.get(f"/settings/api-keys/{other.key_id}/revoke")
    revoke = await signed_in.http.post(f"/settings/api-keys/{other.key_id}/revoke", data={"csrf_token": csrf_of(page)})
    unknown = await signed_in.http.post("/settings/api-keys/key_nope/revoke", data={"csrf_token": csrf_of(page)})

    assert confirm.status_code == 404 and revoke.status_code == 404 and unknown.status_code == 404
    assert "was not found" in revoke.text
    assert (await signed_in.get("/api/v1/credits/balance", headers=other.headers)).status_code == 200


async def test_the_key_list_shows_only_the_users_own_keys_with_last_use(signed_in: WebSession, runtime) -> None:
    other = await make_tenant(runtime.core, email="bob@example.com")
    secret = await signed_in.create_key("Used once")
    await signed_in.get("/api/v1/credits/balance", headers={"Authorization": f"Bearer {secret}"})

    listing = await signed_in.get("/settings/api-keys")

    assert other.key[:13] not in listing.text
    assert listing.text.count('<tr id="key-') == 2  # the tenant's "test" key and "Used once"
    # Last used: on the test clock.
    assert '<time datetime="2026-04-06T12:00:00.000Z">' in listing.text and "12:00 UTC" in listing.text


async def test_the_consent_page_link_prefills_the_new_key_form(signed_in: WebSession) -> None:
    page = await signed_in.get(
        "/settings/api-keys/new", params={"name": "Claude", "scope": "credits:read content:read"}
    )

    assert 'value="Claude"' in page.text
    assert 'value="credits:read" checked' in page.text and 'value="content:read" checked' in page.text
    assert 'value="post:write" checked' not in page.text


async def test_the_consent_page_link_brings_a_signed_out_visitor_back_to_the_prefilled_form(
    web: WebSession, runtime
) -> None:
    await make_tenant(runtime.core, email="ada@example.com")
    link = "/settings/api-keys/new?name=Claude+Desktop&scope=credits%3Aread+post%3Awrite"

    bounced = await web.get(link)
    login = await web.get(bounced.headers["location"])
    signed_in = await web.http.post(
        "/login",
        data={
            "email": "ada@example.com",
            "password": PASSWORD,
            "next": login.url.params["next"],
            "csrf_token": csrf_of(login),
        },
    )
    form = await web.get(signed_in.headers["location"])

    assert signed_in.headers["location"] == link
    assert 'value="Claude Desktop"' in form.text
    assert 'value="credits:read" checked' in form.text and 'value="post:write" checked' in form.text
    assert 'value="content:read" checked' not in form.text


async def test_names_are_escaped_wherever_they_are_shown(signed_in: WebSession, runtime) -> None:
    created = await signed_in.submit(
        "/settings/api-keys/new",
        "/settings/api-keys",
        {"name": "<script>alert(1)</script>", "scopes": ["credits:read"]},
    )
    (record,) = await keys_named(runtime, "<script>alert(1)</script>")
    listing = await signed_in.get("/settings/api-keys")
    confirm = await signed_in.get(f"/settings/api-keys/{record.id}/revoke")

    for page in (created, listing, confirm):
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
