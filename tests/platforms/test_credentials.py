"""Platform credentials: sealed at rest, renewed before they lapse, and a failed renewal asks for a reconnect."""

from __future__ import annotations

from datetime import timedelta

import anyio
import httpx
import pytest
from sqlalchemy import select, update

from oauth.crypto import SealError

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.core.publishing import publish_due_posts
from fluxsocial_mcp.models import PostTarget, SocialAccount
from fluxsocial_mcp.platforms.base import Publisher, PublishError
from fluxsocial_mcp.platforms.credentials import AccountTokens, CredentialVault, PlatformCredentials, open_credentials

from ..factories import Clock, Tenant, make_tenant
from .conftest import Fakes
from .support import connect_account, make_content, request, stored_credentials

X_USER = "1460000000000000001"


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    return await make_tenant(runtime.core, platforms=())


def x_credentials(clock: Clock, *, expires_in: timedelta, token: str = "xat-1", refresh: str = "xrt-1") -> PlatformCredentials:
    return PlatformCredentials(access_token=token, refresh_token=refresh, expires_at=clock.now + expires_in,
                               platform_user_id=X_USER)


async def test_credentials_are_sealed_for_one_account_only(runtime: Runtime, tenant: Tenant, clock: Clock) -> None:
    credentials = x_credentials(clock, expires_in=timedelta(hours=2))
    account_id = await connect_account(runtime.core, tenant, "x", credentials)
    vault = CredentialVault(runtime.core.settings)

    async with runtime.core.db.transaction() as session:
        account = await session.get(SocialAccount, account_id)
    assert account is not None and account.credentials_sealed
    assert "xat-1" not in account.credentials_sealed and "xrt-1" not in account.credentials_sealed
    assert vault.open(account_id, account.credentials_sealed) == credentials
    assert open_credentials(runtime.core.settings, account)["access_token"] == "xat-1"
    with pytest.raises(SealError):
        vault.open("acc_someone_else", account.credentials_sealed)


async def test_a_token_about_to_expire_is_renewed_before_posting(
    runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher], fakes: Fakes
) -> None:
    account_id = await connect_account(runtime.core, tenant, "x", x_credentials(clock, expires_in=timedelta(minutes=5)))

    await publishers["x"].publish(request("x", x_credentials(clock, expires_in=timedelta(minutes=5)), account_id=account_id,
                                          content_format="TEXT"))

    token, tweet = fakes.x.calls
    assert (token.operation, token.form["grant_type"], token.form["refresh_token"]) == ("token", "refresh_token", "xrt-1")
    assert token.form["client_id"] == "x-client" and token.headers["authorization"].startswith("Basic ")
    assert tweet.headers["authorization"] == "Bearer xat-2"
    status, stored = await stored_credentials(runtime.core, account_id)
    assert (status, stored.access_token, stored.refresh_token) == ("active", "xat-2", "xrt-2")
    assert stored.expires_at == clock.now + timedelta(seconds=7200)
    assert stored.platform_user_id == X_USER


async def test_a_refused_token_is_renewed_once_and_the_post_retried(
    runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher], fakes: Fakes
) -> None:
    credentials = x_credentials(clock, expires_in=timedelta(hours=1))
    account_id = await connect_account(runtime.core, tenant, "x", credentials)
    fakes.x.tokens.discard("xat-1")  # revoked early, though not yet expired

    result = await publishers["x"].publish(request("x", credentials, account_id=account_id, content_format="TEXT"))

    assert fakes.x.ops() == ["create_tweet", "token", "create_tweet"]
    assert result.platform_post_id in fakes.x.tweets


async def test_concurrent_posts_of_one_account_renew_its_token_once(
    runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher], fakes: Fakes
) -> None:
    credentials = x_credentials(clock, expires_in=timedelta(minutes=1))
    account_id = await connect_account(runtime.core, tenant, "x", credentials)

    async with anyio.create_task_group() as group:
        for text in ("Morning one", "Morning two", "Morning three"):
            group.start_soon(publishers["x"].publish, request("x", credentials, account_id=account_id, caption=text))

    # Refresh tokens are single-use: a second renewal with xrt-1 would have been refused.
    assert fakes.x.ops().count("token") == 1
    assert len(fakes.x.tweets) == 3


async def test_a_renewal_lost_to_another_worker_adopts_the_winners_tokens(
    runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher], fakes: Fakes
) -> None:
    old = x_credentials(clock, expires_in=timedelta(minutes=1))
    account_id = await connect_account(runtime.core, tenant, "x", old)
    async with runtime.core.db.transaction() as session:
        old_sealed = (await session.get(SocialAccount, account_id)).credentials_sealed  # type: ignore[union-attr]
    tokens: AccountTokens = publishers["x"].tokens  # type: ignore[attr-defined]
    other_worker = AccountTokens(runtime.core.db, tokens.vault, tokens.refresher, label="X", clock=clock)

    winner = await tokens.current(account_id, "@morningcup")
    # The other worker read the old tokens before the winner saved; its renewal would reuse xrt-1.
    adopted = await other_worker._renew(account_id, "@morningcup", old_sealed, old, clock.now)  # noqa: SLF001

    assert adopted == winner and winner.access_token == "xat-2"
    assert fakes.x.ops() == ["token"]


async def test_instagram_renews_its_long_lived_token_with_itself(
    runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher], fakes: Fakes
) -> None:
    credentials = PlatformCredentials(access_token="IGlong-1", expires_at=clock.now + timedelta(minutes=3),
                                      platform_user_id="17841400000000001")
    account_id = await connect_account(runtime.core, tenant, "instagram", credentials)

    renewed = await publishers["instagram"].tokens.current(account_id, "@morningcup")  # type: ignore[attr-defined]

    refresh, = fakes.instagram.calls
    assert (refresh.path, refresh.query) == (
        "/refresh_access_token", {"grant_type": "ig_refresh_token", "access_token": "IGlong-1"}
    )
    assert (renewed.access_token, renewed.expires_at) == ("IGlong-2", clock.now + timedelta(seconds=5183944))


async def test_a_refused_renewal_marks_the_account_and_fails_its_posts_with_a_reconnect_message(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher],
    fakes: Fakes,
) -> None:
    expired = x_credentials(clock, expires_in=-timedelta(minutes=1), refresh="xrt-revoked")
    account_id = await connect_account(runtime.core, tenant, "x", expired)
    first = await make_content(runtime.core, tenant, "TEXT", kinds=())
    target = {"targets": [{"accountId": account_id, "platform": "x"}]}

    response = await client.post(f"/api/v1/content/{first}/post", json=target, headers=tenant.headers)

    reconnect = (
        "The X account @morningcup needs to be reconnected: X refused to renew its authorization "
        "(Value passed for the token was invalid.). Reconnect it in Settings → Businesses."
    )
    assert response.json()["results"] == [
        {"platform": "x", "accountId": account_id, "status": "failed", "error": reconnect,
         "errorCategory": "auth_expired"}
    ]
    assert fakes.x.tweets == {}
    async with runtime.core.db.transaction() as session:
        row = await session.scalar(select(PostTarget).where(PostTarget.suggestion_id == first))
        account = await session.get(SocialAccount, account_id)
    assert (row.status, row.error_category) == ("failed", "auth_expired")  # type: ignore[union-attr]
    assert account is not None and account.status == "needs_reauth"

    # New posts to it are refused up front, before anything is sent.
    second = await make_content(runtime.core, tenant, "TEXT", kinds=(), body="Another morning")
    refused = await client.post(f"/api/v1/content/{second}/post", json=target, headers=tenant.headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == f"Account {account_id} needs to be reconnected (needs_reauth)"


async def test_a_scheduled_post_of_an_account_needing_reconnection_fails_with_that_reason(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher],
    fakes: Fakes,
) -> None:
    account_id = await connect_account(runtime.core, tenant, "x", x_credentials(clock, expires_in=timedelta(hours=2)))
    suggestion = await make_content(runtime.core, tenant, "TEXT", kinds=())
    scheduled = await client.post(
        f"/api/v1/content/{suggestion}/schedule",
        json={"scheduledFor": "2026-04-06T13:00:00Z", "targets": [{"accountId": account_id, "platform": "x"}]},
        headers=tenant.headers,
    )
    assert scheduled.status_code == 200, scheduled.text
    async with runtime.core.db.transaction() as session:
        await session.execute(update(SocialAccount).where(SocialAccount.id == account_id).values(status="needs_reauth"))

    clock.advance(hours=1, minutes=1)
    await publish_due_posts(runtime.core, "worker-1")

    status = (await client.get(f"/api/v1/content/{suggestion}/status", headers=tenant.headers)).json()
    assert status["status"] == "FAILED"
    assert status["platforms"][0]["error"] == (
        "The X account @morningcup needs to be reconnected: its authorization expired or was revoked. "
        "Reconnect it in Settings → Businesses."
    )
    assert fakes.x.calls == []


async def test_credentials_that_do_not_open_ask_for_a_reconnect(
    runtime: Runtime, tenant: Tenant, clock: Clock, publishers: dict[str, Publisher], fakes: Fakes
) -> None:
    account_id = await connect_account(runtime.core, tenant, "x", x_credentials(clock, expires_in=timedelta(hours=2)))
    foreign = CredentialVault(runtime.core.settings).seal("acc_other", x_credentials(clock, expires_in=timedelta(hours=2)))
    async with runtime.core.db.transaction() as session:
        await session.execute(
            update(SocialAccount).where(SocialAccount.id == account_id).values(credentials_sealed=foreign)
        )

    with pytest.raises(PublishError) as raised:
        await publishers["x"].publish(request("x", x_credentials(clock, expires_in=timedelta(hours=2)),
                                              account_id=account_id, content_format="TEXT"))

    assert raised.value.category == "auth_expired"
    assert "its stored credentials could not be opened" in raised.value.message
    assert await _status(runtime, account_id) == "needs_reauth"
    assert fakes.x.calls == []


async def _status(runtime: Runtime, account_id: str) -> str:
    async with runtime.core.db.transaction() as session:
        account = await session.get(SocialAccount, account_id)
    assert account is not None
    return account.status
