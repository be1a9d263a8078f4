"""Settings → Credits (balance and ledger) and Settings → Connected AI apps (OAuth grants)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response
from starlette.routing import BaseRoute

from oauth.scopes import SCOPE_DESCRIPTIONS

from ..core import credits, keys
from ..models import ApiKey, CreditLedgerEntry, GenerationSession, Suggestion, VideoOperation
from .security import flash
from .site import Site, Visit, not_found

LEDGER_ROWS = 100
REASONS = {
    "signup_grant": "Sign-up credits",
    "text_generation": "Text generation",
    "image_generation": "Image generation",
    "video_generation": "Video generation",
    "text_refund": "Refund: text generation failed",
    "image_refund": "Refund: image generation failed",
    "video_refund": "Refund: video generation failed",
}
SUBJECTS = {"ses": "generation session", "sug": "suggestion", "op": "video"}


@dataclass(frozen=True)
class LedgerRow:
    entry: CreditLedgerEntry
    # The API key whose request spent (or got back) the credits, when one did.
    key_name: str | None

    @property
    def reason(self) -> str:
        return REASONS.get(self.entry.reason, self.entry.reason.replace("_", " ").capitalize())

    @property
    def subject(self) -> str | None:
        related = self.entry.related_id
        if not related:
            return None
        return SUBJECTS.get(related.partition("_")[0], "item")


async def ledger_rows(session: AsyncSession, user_id: str, limit: int = LEDGER_ROWS) -> list[LedgerRow]:
    """The latest ledger entries, each with the name of the API key that caused it."""
    entries = await credits.ledger(session, user_id, limit)
    related = [e.related_id for e in entries if e.related_id]
    key_of = await _spending_keys(session, user_id, related)
    return [LedgerRow(e, key_of.get(e.related_id or "")) for e in entries]


async def _spending_keys(session: AsyncSession, user_id: str, related_ids: Iterable[str]) -> dict[str, str]:
    """related id → name of the key behind it (generation sessions, suggestions, videos)."""
    wanted = set(related_ids)
    if not wanted:
        return {}
    key_of_related: dict[str, str | None] = {}
    rows = await session.execute(
        select(GenerationSession.id, GenerationSession.api_key_id).where(
            GenerationSession.user_id == user_id, GenerationSession.id.in_(wanted)
        )
    )
    key_of_related.update({row[0]: row[1] for row in rows})
    rows = await session.execute(
        select(Suggestion.id, GenerationSession.api_key_id)
        .join(GenerationSession, GenerationSession.id == Suggestion.session_id)
        .where(Suggestion.user_id == user_id, Suggestion.id.in_(wanted))
    )
    key_of_related.update({row[0]: row[1] for row in rows})
    rows = await session.execute(
        select(VideoOperation.id, VideoOperation.api_key_id).where(
            VideoOperation.user_id == user_id, VideoOperation.id.in_(wanted)
        )
    )
    key_of_related.update({row[0]: row[1] for row in rows})
    key_ids = {k for k in key_of_related.values() if k}
    names: dict[str, str] = {}
    if key_ids:
        rows = await session.execute(
            select(ApiKey.id, ApiKey.name).where(ApiKey.user_id == user_id, ApiKey.id.in_(key_ids))
        )
        names = {row[0]: row[1] for row in rows}
    return {related: names[key] for related, key in key_of_related.items() if key and key in names}


def account_routes(site: Site) -> list[BaseRoute]:
    core = site.core
    grants = site.runtime.grants

    async def credits_page(visit: Visit) -> Response:
        user = visit.signed_in_user
        async with core.db.transaction() as session:
            balance = await credits.get_balance(session, user.id)
            rows = await ledger_rows(session, user.id)
        return site.render(
            visit,
            "credits.html",
            {"nav": "credits", "balance": balance, "rows": rows, "limit": LEDGER_ROWS, "costs": credits.COSTS},
        )

    async def connected_apps(visit: Visit) -> Response:
        user = visit.signed_in_user
        apps = await grants.list_user_grants(user.id)
        async with core.db.transaction() as session:
            key_names = {k.id: k.name for k in await keys.list_api_keys(session, user.id)}
        return site.render(
            visit,
            "connected_apps.html",
            {"nav": "apps", "apps": apps, "key_names": key_names, "scope_descriptions": SCOPE_DESCRIPTIONS},
        )

    async def disconnect(visit: Visit) -> Response:
        user = visit.signed_in_user
        grant_id = visit.request.path_params["grant_id"]
        apps = {app.grant_id: app for app in await grants.list_user_grants(user.id)}
        if grant_id not in apps or not await grants.revoke_user_grant(user.id, grant_id):
            raise not_found("This connected app")
        flash(visit.request, f"{apps[grant_id].client_name} was disconnected. Its access tokens no longer work.")
        return site.redirect("/settings/connected-apps")

    return [
        site.page("/settings/credits", credits_page),
        site.page("/settings/connected-apps", connected_apps),
        site.page("/settings/connected-apps/{grant_id}/revoke", disconnect, methods=("POST",)),
    ]
