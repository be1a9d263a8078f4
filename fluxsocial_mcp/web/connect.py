"""Settings → Businesses → Connect: each platform's OAuth flow, for a signed-in person.

``GET /connect/{platform}?businessId=…`` sends the browser to the platform's authorize
page with a fresh ``state`` (and PKCE where the platform supports it), kept in the
session; ``GET /connect/{platform}/callback`` checks that state (RFC 6749 §10.12),
exchanges the code, stores the account(s) with their tokens sealed, and returns to
the business's settings with a message saying what happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from ..core import businesses
from ..errors import BadRequest, NotFound
from ..platforms.connect import ConnectError, ConnectFlow, PendingConnect, check_callback, finish_connect, start_connect
from ..platforms.credentials import CredentialVault
from ..platforms.http import PlatformError
from .security import flash
from .site import Site, Visit, not_found

if TYPE_CHECKING:
    from ..app import Runtime

log = logging.getLogger(__name__)

SESSION_PENDING = "platform_connect"
CALLBACK_PATH = "/connect/{platform}/callback"
BUSINESSES_PAGE = "/settings/businesses"


def callback_url(public_url: str, platform: str) -> str:
    """The redirect URI to register in each platform's developer console."""
    return f"{public_url}{CALLBACK_PATH.format(platform=platform)}"


def connect_routes(runtime: Runtime, flows: Mapping[str, ConnectFlow] | None = None) -> list[BaseRoute]:
    from ..platforms.registry import build_connect_flows

    site = Site(runtime)
    settings = site.settings
    flows = flows if flows is not None else build_connect_flows(settings)
    vault = CredentialVault(settings)

    def flow_of(visit: Visit) -> ConnectFlow:
        flow = flows.get(visit.request.path_params["platform"])
        if flow is None:
            raise NotFound("There is no such platform to connect.")
        return flow

    async def start(visit: Visit) -> Response:
        flow = flow_of(visit)
        business_id = visit.request.query_params.get("businessId", "")
        try:
            async with site.core.db.transaction() as session:
                business = await businesses.get_user_business(session, visit.signed_in_user.id, business_id)
        except NotFound:
            raise not_found("This business") from None
        try:
            url, pending = start_connect(
                flow, redirect_uri=callback_url(settings.public_url, flow.platform), business_id=business.id,
                now=time.time(),
            )
        except ConnectError as exc:
            raise BadRequest(exc.message) from None
        visit.request.session[SESSION_PENDING] = pending.as_dict()
        # 302 to another site: the platform's page, where the person approves.
        return RedirectResponse(url, status_code=302)

    async def callback(visit: Visit) -> Response:
        flow = flow_of(visit)
        params = visit.request.query_params
        # A pending connect is good for one callback, whatever comes of it.
        pending = PendingConnect.from_dict(visit.request.session.pop(SESSION_PENDING, None))
        back = f"{BUSINESSES_PAGE}/{pending.business_id}#accounts" if pending else BUSINESSES_PAGE
        try:
            pending = check_callback(pending, flow.platform, params.get("state"), time.time())
            if params.get("error"):
                reason = params.get("error_description") or params.get("error_message") or params["error"]
                raise ConnectError(f"{flow.label} did not connect the account: {reason}")
            code = params.get("code")
            if not code:
                raise ConnectError(f"{flow.label} came back without an authorization code. Start again.")
            accounts = await finish_connect(
                site.core.db, vault, flow, pending=pending, code=code,
                redirect_uri=callback_url(settings.public_url, flow.platform),
                user_id=visit.signed_in_user.id, now=site.core.now(),
            )
        except ConnectError as exc:
            flash(visit.request, exc.message, "danger")
            return site.redirect(back)
        except PlatformError as exc:
            log.info("connecting %s failed: %s", flow.platform, exc.message)
            flash(visit.request, f"The account could not be connected: {exc.message}", "danger")
            return site.redirect(back)
        except NotFound:
            raise not_found("This business") from None
        names = ", ".join(account.username for account in accounts)
        flash(visit.request, f"{flow.label} {names} {'is' if len(accounts) == 1 else 'are'} connected.")
        return site.redirect(back)

    return [
        site.page("/connect/{platform}", start),
        site.page(CALLBACK_PATH, callback),
    ]
