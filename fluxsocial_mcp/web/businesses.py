"""Settings → Businesses: create and edit businesses, connect sandbox accounts, list accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from starlette.responses import Response
from starlette.routing import BaseRoute

from ..core import businesses
from ..core.businesses import InvalidField
from ..core.languages import LANGUAGES
from ..errors import NotFound
from ..models import Business, SocialAccount
from ..platforms.registry import build_connect_flows
from ..platforms.rules import RULES
from .security import flash
from .site import Site, Visit, not_found

LABELS = {
    "name": "Name",
    "type": "Type",
    "industry": "Industry",
    "timezone": "Time zone",
    "language": "Language",
    "platform": "Platform",
    "username": "Username",
    "followers": "Followers",
}


@dataclass
class BusinessForm:
    name: str = ""
    type: str = ""
    industry: str = ""
    timezone: str = "UTC"
    language: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, business: Business) -> BusinessForm:
        return cls(business.name, business.type, business.industry, business.timezone, business.language or "")

    @classmethod
    def posted(cls, visit: Visit) -> BusinessForm:
        return cls(
            name=visit.field("name"),
            type=visit.field("type"),
            industry=visit.field("industry"),
            timezone=visit.field("timezone").strip(),
            language=visit.field("language").strip(),
        )

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "type": self.type,
            "industry": self.industry,
            "timezone": self.timezone,
            "language": self.language,
        }


@dataclass
class AccountForm:
    platform: str = "instagram"
    username: str = ""
    followers: str = "0"
    errors: dict[str, str] = field(default_factory=dict)


def field_error(error: InvalidField) -> str:
    return f"{LABELS.get(error.field, error.field.capitalize())} {error.problem}."


@cache
def timezone_choices() -> list[str]:
    # UTC first, then by name; the select's type-ahead finds "Europe/Paris" from "Eu".
    return ["UTC", *sorted(z for z in businesses.timezones() if z != "UTC" and "/" in z)]


@cache
def language_choices() -> list[tuple[str, str]]:
    return sorted(LANGUAGES.items(), key=lambda item: item[1])


def business_routes(site: Site) -> list[BaseRoute]:
    core = site.core

    def form_context(form: BusinessForm) -> dict[str, object]:
        return {
            "nav": "businesses",
            "form": form,
            "timezones": timezone_choices(),
            "languages": language_choices(),
        }

    async def list_page(visit: Visit) -> Response:
        user = visit.signed_in_user
        async with core.db.transaction() as session:
            owned = await businesses.list_user_businesses(session, user.id)
            accounts = await businesses.list_user_accounts(session, user.id)
        by_business: dict[str, list[SocialAccount]] = {b.id: [] for b in owned}
        for account in accounts:
            by_business.setdefault(account.business_id, []).append(account)
        return site.render(
            visit,
            "businesses.html",
            {
                "nav": "businesses",
                "businesses": owned,
                "accounts": by_business,
                "platforms": RULES,
                "languages": LANGUAGES,
            },
        )

    async def new_page(visit: Visit) -> Response:
        return site.render(visit, "business_new.html", form_context(BusinessForm()))

    async def create(visit: Visit) -> Response:
        form = BusinessForm.posted(visit)
        try:
            async with core.db.transaction() as session:
                business = await businesses.create_business(session, visit.signed_in_user.id, **form.values())
        except InvalidField as exc:
            form.errors[exc.field] = field_error(exc)
            return site.render(visit, "business_new.html", form_context(form), status_code=400)
        flash(visit.request, f"{business.name} was created. Connect its social accounts below.")
        return site.redirect(f"/settings/businesses/{business.id}")

    connect_flows = build_connect_flows(core.settings)

    async def detail(
        visit: Visit,
        business: Business,
        form: BusinessForm | None = None,
        account_form: AccountForm | None = None,
        status_code: int = 200,
    ) -> Response:
        async with core.db.transaction() as session:
            accounts = await businesses.list_user_accounts(session, business.user_id, business.id)
        return site.render(
            visit,
            "business_edit.html",
            {
                **form_context(form or BusinessForm.of(business)),
                "business": business,
                "accounts": accounts,
                "account_form": account_form or AccountForm(),
                "platforms": RULES,
                # Real platforms this server holds app credentials for: each gets a Connect button.
                "connectable": [(name, flow.label) for name, flow in connect_flows.items() if flow.configured()],
            },
            status_code=status_code,
        )

    async def owned(visit: Visit) -> Business:
        try:
            async with core.db.transaction() as session:
                return await businesses.get_user_business(
                    session, visit.signed_in_user.id, visit.request.path_params["business_id"]
                )
        except NotFound:
            raise not_found("This business") from None

    async def edit_page(visit: Visit) -> Response:
        return await detail(visit, await owned(visit))

    async def update(visit: Visit) -> Response:
        business = await owned(visit)
        form = BusinessForm.posted(visit)
        try:
            async with core.db.transaction() as session:
                business = await businesses.update_business(
                    session, visit.signed_in_user.id, business.id, **form.values()
                )
        except InvalidField as exc:
            form.errors[exc.field] = field_error(exc)
            return await detail(visit, business, form=form, status_code=400)
        flash(visit.request, f"{business.name} was saved.")
        return site.redirect(f"/settings/businesses/{business.id}")

    async def connect(visit: Visit) -> Response:
        business = await owned(visit)
        form = AccountForm(
            platform=visit.field("platform").strip(),
            username=visit.field("username"),
            followers=visit.field("followers").strip() or "0",
        )
        try:
            followers = int(form.followers)
        except ValueError:
            form.errors["followers"] = "Followers must be a whole number, such as 1200."
            return await detail(visit, business, account_form=form, status_code=400)
        try:
            async with core.db.transaction() as session:
                account = await businesses.connect_sandbox_account(
                    session,
                    visit.signed_in_user.id,
                    business.id,
                    platform=form.platform,
                    username=form.username,
                    followers=followers,
                )
        except InvalidField as exc:
            form.errors[exc.field] = field_error(exc)
            return await detail(visit, business, account_form=form, status_code=400)
        flash(
            visit.request,
            f"Sandbox {RULES[account.platform].name} account {account.username} is connected to {business.name}.",
        )
        return site.redirect(f"/settings/businesses/{business.id}#accounts")

    return [
        site.page("/settings/businesses", list_page),
        site.page("/settings/businesses", create, methods=("POST",)),
        site.page("/settings/businesses/new", new_page),
        site.page("/settings/businesses/{business_id}", edit_page),
        site.page("/settings/businesses/{business_id}", update, methods=("POST",)),
        site.page("/settings/businesses/{business_id}/accounts", connect, methods=("POST",)),
    ]
