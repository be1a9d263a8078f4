"""Businesses and sandbox accounts: the core rules, and the web forms over them."""

from __future__ import annotations

import re

import pytest

from fluxsocial_mcp.core import businesses
from fluxsocial_mcp.core.businesses import LANGUAGES, InvalidField
from fluxsocial_mcp.errors import BadRequest, NotFound
from fluxsocial_mcp.models import Business

from ..factories import make_tenant
from .support import PASSWORD, WebSession, csrf_of

# -- core ---------------------------------------------------------------------------------


async def test_create_business_normalises_and_stores_the_fields(runtime) -> None:
    tenant = await make_tenant(runtime.core)
    async with runtime.core.db.transaction() as session:
        business = await businesses.create_business(
            session,
            tenant.user_id,
            name="  Corner   Bakery ",
            type="bakery",
            industry="food",
            timezone="Europe/Paris",
            language="FR",
        )
    async with runtime.core.db.transaction() as session:
        stored = await session.get(Business, business.id)

    assert business.id.startswith("biz_")
    assert (stored.name, stored.type, stored.industry, stored.timezone, stored.language) == (
        "Corner Bakery",
        "bakery",
        "food",
        "Europe/Paris",
        "fr",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Shop", "type": "t" * 101}, "type"),
        ({"name": "Shop", "industry": "i" * 101}, "industry"),
        ({"name": "Shop", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"name": "Shop", "timezone": "posixrules"}, "timezone"),
        ({"name": "Shop", "language": "eng"}, "language"),
        ({"name": "Shop", "language": "xx"}, "language"),
    ],
)
async def test_create_business_names_the_bad_field(runtime, fields: dict, field: str) -> None:
    tenant = await make_tenant(runtime.core)
    async with runtime.core.db.transaction() as session:
        with pytest.raises(InvalidField) as raised:
            await businesses.create_business(session, tenant.user_id, **fields)

    assert isinstance(raised.value, BadRequest) and raised.value.status == 400
    assert raised.value.field == field
    assert raised.value.message.startswith(f"'{field}' ")


async def test_update_business_of_another_user_is_not_found_and_changes_nothing(runtime) -> None:
    owner = await make_tenant(runtime.core, email="owner@example.com")
    other = await make_tenant(runtime.core, email="other@example.com")
    fields = {"name": "Hijacked", "type": "", "industry": "", "timezone": "UTC", "language": None}

    async with runtime.core.db.transaction() as session:
        with pytest.raises(NotFound):
            await businesses.update_business(session, other.user_id, owner.business_id, **fields)
    async with runtime.core.db.transaction() as session:
        assert (await session.get(Business, owner.business_id)).name == "The Morning Cup"


async def test_a_bad_field_in_an_update_changes_nothing(runtime) -> None:
    owner = await make_tenant(runtime.core)
    fields = {"name": "Renamed", "type": "", "industry": "", "timezone": "Nowhere/City", "language": "en"}

    async with runtime.core.db.transaction() as session:
        with pytest.raises(InvalidField):
            await businesses.update_business(session, owner.user_id, owner.business_id, **fields)
    async with runtime.core.db.transaction() as session:
        assert (await session.get(Business, owner.business_id)).name == "The Morning Cup"


async def test_a_connected_sandbox_account_is_listed_by_the_api(runtime, client) -> None:
    tenant = await make_tenant(runtime.core, platforms=())
    async with runtime.core.db.transaction() as session:
        account = await businesses.connect_sandbox_account(
            session, tenant.user_id, tenant.business_id, platform="Threads", username="@cup", followers=42
        )

    response = await client.get("/api/v1/accounts", headers=tenant.headers)

    assert account.connection == "sandbox" and account.platform == "threads"
    assert response.json() == {
        "accounts": [{"id": account.id, "platform": "threads", "username": "@cup", "followers": 42}]
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"platform": "myspace", "username": "@cup"}, "platform"),
        ({"platform": "x", "username": "  "}, "username"),
        ({"platform": "x", "username": "@cup", "followers": -1}, "followers"),
        ({"platform": "x", "username": "@cup", "followers": True}, "followers"),
        ({"platform": "instagram", "username": "@MorningCup_Instagram"}, "username"),  # already connected
    ],
)
async def test_connect_sandbox_account_names_the_bad_field(runtime, fields: dict, field: str) -> None:
    tenant = await make_tenant(runtime.core)
    async with runtime.core.db.transaction() as session:
        with pytest.raises(InvalidField) as raised:
            await businesses.connect_sandbox_account(session, tenant.user_id, tenant.business_id, **fields)

    assert raised.value.field == field


async def test_connecting_to_another_users_business_is_not_found(runtime) -> None:
    owner = await make_tenant(runtime.core, email="owner@example.com")
    other = await make_tenant(runtime.core, email="other@example.com")
    async with runtime.core.db.transaction() as session:
        with pytest.raises(NotFound):
            await businesses.connect_sandbox_account(
                session, other.user_id, owner.business_id, platform="x", username="@intruder"
            )


def test_languages_are_the_iso_639_1_codes() -> None:
    assert len(LANGUAGES) == 183
    assert all(re.fullmatch(r"[a-z]{2}", code) for code in LANGUAGES)
    assert {"en", "es", "fr", "de", "pt", "it", "he", "zh", "ja"} <= set(LANGUAGES)


# -- web ----------------------------------------------------------------------------------


@pytest.fixture
async def owner(web: WebSession, runtime):
    tenant = await make_tenant(runtime.core, email="ada@example.com", platforms=("instagram",))
    assert (await web.sign_in("ada@example.com", PASSWORD)).status_code == 303
    return tenant


async def test_businesses_page_lists_businesses_and_their_accounts(web: WebSession, owner) -> None:
    page = await web.get("/settings/businesses")

    assert page.status_code == 200
    assert "The Morning Cup" in page.text and "@morningcup_instagram" in page.text
    assert owner.accounts["instagram"] in page.text


async def test_a_business_created_in_the_web_app_is_listed_by_the_api(web: WebSession, owner) -> None:
    created = await web.submit(
        "/settings/businesses/new",
        "/settings/businesses",
        {"name": "Corner Bakery", "type": "bakery", "industry": "food", "timezone": "Europe/Paris", "language": "fr"},
    )

    assert created.status_code == 303
    business_id = created.headers["location"].rsplit("/", 1)[1]
    detail = await web.get(created.headers["location"])
    assert "Corner Bakery was created" in detail.text
    assert '<option value="Europe/Paris" selected>' in detail.text and '<option value="fr" selected>' in detail.text
    listed = await web.get("/api/v1/businesses", headers=owner.headers)
    assert {"id": business_id, "name": "Corner Bakery", "type": "bakery", "industry": "food"} in listed.json()[
        "businesses"
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "", "timezone": "UTC"}, "name", "Name is required."),
        ({"name": "Shop", "timezone": "Atlantis/Capital"}, "timezone", "Time zone must be an IANA time zone name"),
        ({"name": "Shop", "timezone": "UTC", "language": "klingon"}, "language", "two-letter ISO 639-1"),
    ],
)
async def test_a_bad_business_form_is_shown_again_with_the_problem(
    web: WebSession, owner, runtime, fields: dict, field: str, message: str
) -> None:
    response = await web.submit("/settings/businesses/new", "/settings/businesses", fields)

    assert response.status_code == 400
    assert message in response.text and f'id="{field}-error"' in response.text
    async with runtime.core.db.transaction() as session:
        assert len(await businesses.list_user_businesses(session, owner.user_id)) == 1


async def test_editing_a_business_saves_it(web: WebSession, owner, runtime) -> None:
    path = f"/settings/businesses/{owner.business_id}"
    response = await web.submit(
        path,
        path,
        {"name": "The Evening Cup", "type": "bar", "industry": "drinks", "timezone": "Asia/Tokyo", "language": ""},
    )

    assert response.status_code == 303
    async with runtime.core.db.transaction() as session:
        business = await session.get(Business, owner.business_id)
    assert (business.name, business.timezone, business.language) == ("The Evening Cup", "Asia/Tokyo", None)


async def test_an_empty_name_in_an_edit_is_refused(web: WebSession, owner) -> None:
    path = f"/settings/businesses/{owner.business_id}"
    response = await web.submit(path, path, {"name": " ", "timezone": "UTC"})

    assert response.status_code == 400 and "Name is required." in response.text


async def test_connecting_a_sandbox_account_in_the_web_app(web: WebSession, owner) -> None:
    path = f"/settings/businesses/{owner.business_id}"
    response = await web.submit(
        path, f"{path}/accounts", {"platform": "linkedin", "username": "Morning Cup", "followers": "1900"}
    )

    assert response.status_code == 303
    accounts = (await web.get("/api/v1/accounts", headers=owner.headers)).json()["accounts"]
    assert {"platform": "linkedin", "username": "Morning Cup", "followers": 1900} in [
        {k: v for k, v in a.items() if k != "id"} for a in accounts
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"platform": "linkedin", "username": ""}, "Username is required."),
        ({"platform": "orkut", "username": "@cup"}, "Platform must be one of"),
        ({"platform": "x", "username": "@cup", "followers": "lots"}, "Followers must be a whole number"),
    ],
)
async def test_a_bad_account_form_is_refused(web: WebSession, owner, fields: dict, message: str) -> None:
    path = f"/settings/businesses/{owner.business_id}"
    response = await web.submit(path, f"{path}/accounts", fields)

    assert response.status_code == 400 and message in response.text


async def test_another_users_business_is_not_found(web: WebSession, owner, runtime) -> None:
    other = await make_tenant(runtime.core, email="bob@example.com")
    path = f"/settings/businesses/{other.business_id}"
    token = csrf_of(await web.get("/settings/businesses"))

    view = await web.get(path)
    edit = await web.http.post(path, data={"csrf_token": token, "name": "Mine now", "timezone": "UTC"})
    connect = await web.http.post(f"{path}/accounts", data={"csrf_token": token, "platform": "x", "username": "@me"})

    assert (view.status_code, edit.status_code, connect.status_code) == (404, 404, 404)
    async with runtime.core.db.transaction() as session:
        assert (await session.get(Business, other.business_id)).name == "The Morning Cup"
