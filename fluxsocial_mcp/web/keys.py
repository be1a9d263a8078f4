"""Settings → API Keys (SPEC §8): create (the secret shown once), list, revoke."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from starlette.responses import Response
from starlette.routing import BaseRoute

from oauth.scopes import SCOPE_DESCRIPTIONS

from ..core import businesses, keys
from ..core.caller import ALL_SCOPES
from ..errors import BadRequest, NotFound
from ..models import ApiKey
from .security import flash
from .site import Site, Visit, not_found

MAX_KEY_NAME = 100
# The secret is on this page only: no cache may keep it, no referrer may leak the URL.
SECRET_PAGE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


@dataclass
class KeyForm:
    """The create-key form as typed, and what is wrong with it."""

    name: str = ""
    scopes: list[str] = field(default_factory=lambda: list(ALL_SCOPES))
    expires_on: str = ""
    business_access: str = "all"
    business_ids: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyRow:
    key: ApiKey
    status: str  # active | expired | revoked
    # Names of the businesses the key is restricted to; None: all of them.
    businesses: list[str] | None = None

    @classmethod
    def of(cls, key: ApiKey, now: datetime, business_names: dict[str, str]) -> KeyRow:
        restricted = None
        if key.business_ids is not None:
            restricted = [business_names.get(b, "a deleted business") for b in key.business_ids]
        return cls(key, key_status(key, now), restricted)

    @property
    def masked(self) -> str:
        return f"{self.key.prefix}…{self.key.last_four}"


def key_status(key: ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def parse_key_form(visit: Visit, now: datetime) -> tuple[KeyForm, datetime | None]:
    """Read and check the posted form; ``form.errors`` says what to fix, by field."""
    form = KeyForm(
        name=" ".join(visit.field("name").split()),
        scopes=[s for s in ALL_SCOPES if s in set(visit.fields("scopes"))],
        expires_on=visit.field("expires_on").strip(),
        business_access="selected" if visit.field("business_access") == "selected" else "all",
        business_ids=list(dict.fromkeys(visit.fields("business_ids"))),
    )
    if not form.name:
        form.errors["name"] = "Enter a name for the key, such as the app or person that will use it."
    elif len(form.name) > MAX_KEY_NAME:
        form.errors["name"] = f"Use at most {MAX_KEY_NAME} characters for the name."
    unknown = set(visit.fields("scopes")) - set(ALL_SCOPES)
    if unknown:
        form.errors["scopes"] = f"Unknown permission: {sorted(unknown)[0]}."
    elif not form.scopes:
        form.errors["scopes"] = "Choose at least one permission."
    expires_at = None
    if form.expires_on:
        try:
            # The key stops working at the start of the chosen day, UTC.
            expires_at = datetime.combine(date.fromisoformat(form.expires_on), time(0), tzinfo=timezone.utc)
        except ValueError:
            form.errors["expires_on"] = "Enter the expiry date as YYYY-MM-DD, or leave it empty."
        else:
            if expires_at <= now:
                form.errors["expires_on"] = "Choose an expiry date after today, or leave it empty."
    if form.business_access == "selected" and not form.business_ids:
        form.errors["business_ids"] = "Choose at least one business, or allow all businesses."
    return form, expires_at


def key_routes(site: Site) -> list[BaseRoute]:
    core = site.core

    async def list_keys(visit: Visit) -> Response:
        user = visit.signed_in_user
        now = core.now()
        async with core.db.transaction() as session:
            records = await keys.list_api_keys(session, user.id)
            owned = {b.id: b.name for b in await businesses.list_user_businesses(session, user.id)}
        rows = [KeyRow.of(record, now, owned) for record in records]
        return site.render(visit, "keys.html", {"nav": "keys", "rows": rows})

    async def new_key_form(visit: Visit, form: KeyForm, status_code: int = 200) -> Response:
        async with core.db.transaction() as session:
            owned = await businesses.list_user_businesses(session, visit.signed_in_user.id)
        return site.render(
            visit,
            "key_new.html",
            {
                "nav": "keys",
                "form": form,
                "all_scopes": ALL_SCOPES,
                "scope_descriptions": SCOPE_DESCRIPTIONS,
                "businesses": owned,
                "min_expiry": (core.now().date() + timedelta(days=1)).isoformat(),
            },
            status_code=status_code,
        )

    async def new_key(visit: Visit) -> Response:
        # The consent page links here with the app's name and the scopes it asked for,
        # so the new key fits the connection being made (the person can still change both).
        query = visit.request.query_params
        form = KeyForm(name=" ".join(query.get("name", "").split())[:MAX_KEY_NAME])
        requested = [s for s in ALL_SCOPES if s in set(query.get("scope", "").split())]
        if requested:
            form.scopes = requested
        return await new_key_form(visit, form)

    async def create_key(visit: Visit) -> Response:
        user = visit.signed_in_user
        now = core.now()
        form, expires_at = parse_key_form(visit, now)
        if form.errors:
            return await new_key_form(visit, form, 400)
        try:
            async with core.db.transaction() as session:
                created = await keys.create_api_key(
                    session,
                    user.id,
                    form.name,
                    form.scopes,
                    expires_at=expires_at,
                    business_ids=form.business_ids if form.business_access == "selected" else None,
                    now=now,
                )
                owned = {b.id: b.name for b in await businesses.list_user_businesses(session, user.id)}
        except NotFound:
            form.errors["business_ids"] = "One of the chosen businesses no longer exists. Choose again."
            return await new_key_form(visit, form, 400)
        except BadRequest as exc:
            form.errors["form"] = exc.message
            return await new_key_form(visit, form, 400)
        # Rendered in this response only, never redirected with or stored: shown once.
        return site.render(
            visit,
            "key_created.html",
            {
                "nav": "keys",
                "row": KeyRow.of(created.record, now, owned),
                "secret": created.secret,
            },
            headers=SECRET_PAGE_HEADERS,
        )

    async def owned_key(visit: Visit) -> ApiKey:
        key_id = visit.request.path_params["key_id"]
        async with core.db.transaction() as session:
            record = await session.get(ApiKey, key_id)
        if record is None or record.user_id != visit.signed_in_user.id:
            raise not_found("This API key")
        return record

    async def confirm_revoke(visit: Visit) -> Response:
        record = await owned_key(visit)
        row = KeyRow.of(record, core.now(), {})
        if row.status == "revoked":
            flash(visit.request, f"The key “{record.name}” was already revoked.", "info")
            return site.redirect("/settings/api-keys")
        grants = [g for g in await site.runtime.grants.list_user_grants(record.user_id) if g.key_id == record.id]
        return site.render(visit, "key_revoke.html", {"nav": "keys", "row": row, "connected_apps": grants})

    async def revoke(visit: Visit) -> Response:
        user = visit.signed_in_user
        key_id = visit.request.path_params["key_id"]
        try:
            async with core.db.transaction() as session:
                record = await keys.revoke_api_key(session, key_id, core.now(), user_id=user.id)
        except NotFound:
            raise not_found("This API key") from None
        # After the key's transaction has committed (the OAuth store has its own
        # connections): every grant and token made with the key dies with it.
        await site.runtime.grants.revoke_key_tokens(record.id)
        flash(visit.request, f"The key “{record.name}” was revoked. Requests that use it are refused from now on.")
        return site.redirect("/settings/api-keys")

    async def settings_home(visit: Visit) -> Response:
        return site.redirect("/settings/api-keys")

    return [
        site.page("/settings", settings_home),
        site.page("/settings/api-keys", list_keys),
        site.page("/settings/api-keys", create_key, methods=("POST",)),
        site.page("/settings/api-keys/new", new_key),
        site.page("/settings/api-keys/{key_id}/revoke", confirm_revoke),
        site.page("/settings/api-keys/{key_id}/revoke", revoke, methods=("POST",)),
    ]
