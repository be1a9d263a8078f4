"""Settings → Credits and Settings → Connected AI apps."""

from __future__ import annotations

from fluxsocial_mcp.core.caller import ALL_SCOPES

from ..factories import make_tenant
from .support import PASSWORD, WebSession, connect_ai_app, csrf_of


async def test_credits_page_shows_the_balance_and_what_spent_what(web: WebSession, runtime) -> None:
    tenant = await make_tenant(runtime.core, email="ada@example.com")
    await web.sign_in("ada@example.com", PASSWORD)
    generated = await web.http.post(
        "/api/v1/content", headers=tenant.headers, json={"prompt": "Latte art", "businessId": tenant.business_id}
    )
    assert generated.status_code == 200, generated.text
    session_id = generated.json()["sessionId"]

    page = await web.get("/settings/credits")

    assert page.status_code == 200
    assert '<p class="stat-value" id="balance">4,980' in page.text
    history = page.text[page.text.index("History") :]
    assert history.index("Text generation") < history.index("Sign-up credits")  # newest first
    assert session_id in history
    assert "Key “test”" in history
    assert "−20" in history and "+5,000" in history


async def test_connected_apps_lists_grants_and_disconnects_one(web: WebSession, runtime) -> None:
    tenant = await make_tenant(runtime.core, email="ada@example.com")
    await web.sign_in("ada@example.com", PASSWORD)
    secret = await web.create_key("Claude key", scopes=list(ALL_SCOPES))
    await connect_ai_app(web.http, secret, client_name="Claude")
    (grant,) = await runtime.grants.list_user_grants(tenant.user_id)

    page = await web.get("/settings/connected-apps")
    assert "Claude</th>" in page.text and "Claude key" in page.text and "All permissions" in page.text
    response = await web.http.post(
        f"/settings/connected-apps/{grant.grant_id}/revoke", data={"csrf_token": csrf_of(page)}
    )

    assert response.status_code == 303
    after = await web.get("/settings/connected-apps")
    assert "Claude was disconnected" in after.text and "No connected apps" in after.text
    assert await runtime.grants.list_user_grants(tenant.user_id) == []
    # The key itself still works.
    assert (await web.get("/api/v1/credits/balance", headers={"Authorization": f"Bearer {secret}"})).status_code == 200


async def test_another_users_connected_app_is_not_found(web: WebSession, runtime) -> None:
    other = await make_tenant(runtime.core, email="bob@example.com")
    await connect_ai_app(web.http, other.key)
    (grant,) = await runtime.grants.list_user_grants(other.user_id)
    await make_tenant(runtime.core, email="ada@example.com")
    await web.sign_in("ada@example.com", PASSWORD)
    page = await web.get("/settings/connected-apps")

    response = await web.http.post(
        f"/settings/connected-apps/{grant.grant_id}/revoke", data={"csrf_token": csrf_of(page)}
    )

    assert response.status_code == 404
    assert len(await runtime.grants.list_user_grants(other.user_id)) == 1
