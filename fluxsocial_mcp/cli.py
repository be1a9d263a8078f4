"""``fluxsocial-mcp``: serve, worker, migrate, users, keys, demo, dna, accounts."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from . import __version__, redaction
from .config import Settings
from .core import credits as credit_ledger
from .core import keys, users
from .core.caller import ALL_SCOPES
from .core.schemas import format_time
from .core.service import Core
from .errors import BadRequest, FluxError

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[Core], Awaitable[T]]) -> T:
    """Run one piece of work against a migrated database, then release it."""
    from .app import build_runtime
    from .migrations import upgrade_database

    async def main() -> T:
        runtime = build_runtime(settings)
        try:
            await upgrade_database(runtime.core.db)
            return await work(runtime.core)
        finally:
            await runtime.core.db.dispose()

    return asyncio.run(main())


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .app import create_app
    from .demo import DEMO_EMAIL, ensure_demo

    async def first_start(core: Core) -> str | None:
        async with core.db.transaction() as session:
            if await users.find_user_by_email(session, DEMO_EMAIL) is not None:
                return None
        return (await ensure_demo(core)).api_key

    if "public_url" not in settings.model_fields_set:
        # No public URL configured: it is where this server listens.
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        host = f"[{host}]" if ":" in host else host
        settings = settings.model_copy(update={"public_url": f"http://{host}:{args.port}"})
    demo_key = _run(settings, first_start)
    print(f"FluxSocial {__version__}")
    print(f"  REST API:  {settings.api_base_url}")
    print(f"  MCP:       {settings.mcp_url}")
    print(f"  Data:      {settings.data_dir.resolve()}")
    if demo_key:
        print("  Demo API key (shown once; `fluxsocial-mcp demo` makes another):")
        print(f"    {demo_key}")
    print(f"  Try: curl {settings.api_base_url}/credits/balance -H 'Authorization: Bearer <key>'", flush=True)
    trusted = settings.forwarded_allow_ips.strip()
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_level=settings.log_level.lower(),
        proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from .scheduler import run_background_loops

    print("FluxSocial worker: publishing due posts and advancing video operations", flush=True)
    try:
        _run(settings, run_background_loops)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def nothing(core: Core) -> None:
        return None

    _run(settings, nothing)
    print("Database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import ensure_demo

    demo = _run(settings, ensure_demo)
    _print(
        args,
        {"apiKey": demo.api_key, "userId": demo.user_id, "businessId": demo.business_id},
        f"Demo user: demo@fluxsocial.local ({demo.user_id})\n"
        f"Business:  The Morning Cup ({demo.business_id})\n"
        f"API key (shown once, all scopes):\n  {demo.api_key}",
    )
    return 0


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    credits = settings.signup_credits if args.credits is None else args.credits

    async def work(core: Core) -> Any:
        async with core.db.transaction() as session:
            return await users.create_user(session, args.email, args.password, credits)

    user = _run(settings, work)
    _print(args, {"userId": user.id, "email": user.email, "credits": credits},
           f"Created user {user.email} ({user.id}) with {credits} credits")
    return 0


def _password(value: str | None) -> str:
    """The password given, or asked for on the terminal (so it stays out of shell history)."""
    if value is not None:
        return value
    import getpass

    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat it: "):
        raise BadRequest("The two passwords differ")
    return first


def cmd_users_set_password(args: argparse.Namespace, settings: Settings) -> int:
    password = _password(args.password)

    async def work(core: Core) -> Any:
        async with core.db.transaction() as session:
            return await users.set_password(session, args.email, password)

    user = _run(settings, work)
    print(f"Password set for {user.email}; sign in at {settings.public_url}/login")
    return 0


def cmd_credits_grant(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> tuple[str, int]:
        async with core.db.transaction() as session:
            user = await users.get_user_by_email(session, args.email)
            return user.id, await credit_ledger.add_credits(session, user.id, args.amount, "grant")

    user_id, balance = _run(settings, work)
    _print(args, {"userId": user_id, "balance": balance}, f"Granted {args.amount} credits; the balance is {balance}")
    return 0


def _scopes(value: str | None) -> list[str] | None:
    return None if value is None else [s.strip() for s in value.split(",") if s.strip()]


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> keys.CreatedKey:
        async with core.db.transaction() as session:
            user = await users.get_user_by_email(session, args.email)
            return await keys.create_api_key(
                session, user.id, args.name, _scopes(args.scopes), mode="test" if args.test else "live",
                now=core.now(),
            )

    created = _run(settings, work)
    _print(args, {"apiKey": created.secret, "keyId": created.record.id},
           f"Created key {created.record.id} ({', '.join(created.record.scopes)})\n"
           f"Secret (shown once):\n  {created.secret}")
    return 0


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> list[Any]:
        async with core.db.transaction() as session:
            user = await users.get_user_by_email(session, args.email)
            return await keys.list_api_keys(session, user.id)

    records = _run(settings, work)
    rows = [
        {
            "keyId": r.id, "name": r.name, "display": f"{r.prefix}…{r.last_four}", "scopes": r.scopes,
            "createdAt": format_time(r.created_at),
            "lastUsedAt": format_time(r.last_used_at) if r.last_used_at else None,
            "expiresAt": format_time(r.expires_at) if r.expires_at else None,
            "revoked": r.revoked_at is not None,
        }
        for r in records
    ]
    if args.json:
        print(json.dumps({"keys": rows}))
    else:
        for row in rows:
            state = "revoked" if row["revoked"] else "active"
            print(f"{row['keyId']}  {row['display']}  {state:7}  {row['name']}  [{', '.join(row['scopes'])}]"
                  f"  created {row['createdAt']}  last used {row['lastUsedAt'] or 'never'}")
        if not rows:
            print("No keys")
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def work(core: Core) -> Any:
        async with core.db.transaction() as session:
            return await keys.revoke_api_key(session, args.key_id, core.now())

    record = _run(settings, work)
    print(f"Revoked {record.id}")
    return 0


async def _dna_business(core: Core, business_id: str) -> Any:
    from .errors import NotFound
    from .models import Business

    async with core.db.transaction() as session:
        business = await session.get(Business, business_id)
    if business is None:
        raise NotFound(f"Business {business_id} not found")
    return business


def _print_dna(args: argparse.Namespace, result: Any, profile: Any, lead: str) -> None:
    from dataclasses import asdict

    data = {**(asdict(result) if result is not None else {}), "profile": profile.as_dict() if profile else None}
    described = profile.describe() if profile else "no past posts yet"
    _print(args, data, f"{lead}Content DNA: {described}")


def cmd_dna_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from .core import content_dna

    posts = content_dna.parse_posts_file(Path(args.file))

    async def work(core: Core) -> Any:
        await _dna_business(core, args.business_id)
        result = await content_dna.import_posts(core.db, args.business_id, posts, source="file")
        async with core.db.transaction() as session:
            return result, await content_dna.load_profile(session, args.business_id)

    result, profile = _run(settings, work)
    _print_dna(args, result, profile,
               f"Imported {result.imported} past posts, updated {result.updated} ({args.business_id})\n")
    return 0


def cmd_dna_sync(args: argparse.Namespace, settings: Settings) -> int:
    from .core import content_dna

    async def work(core: Core) -> Any:
        await _dna_business(core, args.business_id)
        result = await content_dna.import_from_accounts(core.db, core.publishers, args.business_id)
        async with core.db.transaction() as session:
            return result, await content_dna.load_profile(session, args.business_id)

    result, profile = _run(settings, work)
    _print_dna(args, result, profile,
               f"Read {result.imported + result.updated} past posts from connected accounts\n")
    return 0


def cmd_dna_show(args: argparse.Namespace, settings: Settings) -> int:
    from .core import content_dna

    async def work(core: Core) -> Any:
        await _dna_business(core, args.business_id)
        async with core.db.transaction() as session:
            return await content_dna.load_profile(session, args.business_id)

    _print_dna(args, None, _run(settings, work), "")
    return 0


def _secret_arg(value: str | None) -> str | None:
    # "-" reads the token from standard input, keeping it out of shell history and ps.
    return sys.stdin.readline().strip() if value == "-" else value


def cmd_accounts_add(args: argparse.Namespace, settings: Settings) -> int:
    from .platforms.connect import add_account_from_token
    from .platforms.credentials import CredentialVault
    from .platforms.registry import build_connect_flows

    access_token = _secret_arg(args.access_token) or ""
    refresh_token = _secret_arg(args.refresh_token)

    async def work(core: Core) -> Any:
        async with core.db.transaction() as session:
            user = await users.get_user_by_email(session, args.email)
        return await add_account_from_token(
            core.db, CredentialVault(settings), build_connect_flows(settings),
            user_id=user.id, business_id=args.business_id, platform=args.platform, username=args.username,
            access_token=access_token, refresh_token=refresh_token, platform_user_id=args.platform_user_id,
            now=core.now(),
        )

    account = _run(settings, work)
    _print(args, {"accountId": account.id, "businessId": account.business_id, "platform": account.platform,
                  "username": account.username},
           f"Connected {account.platform} account {account.username} ({account.id}) to {account.business_id}")
    return 0


def cmd_accounts_list(args: argparse.Namespace, settings: Settings) -> int:
    from .core import businesses

    async def work(core: Core) -> list[Any]:
        async with core.db.transaction() as session:
            user = await users.get_user_by_email(session, args.email)
            return await businesses.list_user_accounts(session, user.id)

    rows = [
        {"accountId": a.id, "businessId": a.business_id, "platform": a.platform, "username": a.username,
         "followers": a.followers, "connection": a.connection, "status": a.status}
        for a in _run(settings, work)
    ]
    if args.json:
        print(json.dumps({"accounts": rows}))
    else:
        for row in rows:
            print(f"{row['accountId']}  {row['platform']:9} {row['username']}  {row['connection']}  {row['status']}"
                  f"  business {row['businessId']}")
        if not rows:
            print("No accounts")
    return 0


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fluxsocial-mcp", description="FluxSocial REST API and MCP server")
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations, start the scheduler and the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)
    sub.add_parser("worker", help="run only the scheduler and video loops").set_defaults(handler=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    demo = sub.add_parser("demo", help="create the demo user once and print a new demo API key")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(handler=cmd_demo)

    users_parser = sub.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    set_password = users_parser.add_parser("set-password", help="set a user's web sign-in password")
    set_password.add_argument("--email", required=True)
    set_password.add_argument("--password", help="omit to be asked on the terminal")
    set_password.set_defaults(handler=cmd_users_set_password)
    credits_parser = sub.add_parser("credits", help="manage credits").add_subparsers(dest="action", required=True)
    grant = credits_parser.add_parser("grant", help="add credits to a user's balance (a ledger entry)")
    grant.add_argument("--email", required=True)
    grant.add_argument("--amount", type=_positive, required=True)
    grant.add_argument("--json", action="store_true")
    grant.set_defaults(handler=cmd_credits_grant)
    create_user = users_parser.add_parser("create", help="create a user")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--password")
    create_user.add_argument("--credits", type=_non_negative)
    create_user.add_argument("--json", action="store_true")
    create_user.set_defaults(handler=cmd_users_create)

    keys_parser = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create_key = keys_parser.add_parser("create", help="create an API key (the secret is printed once)")
    create_key.add_argument("--email", required=True)
    create_key.add_argument("--name", default="CLI key")
    create_key.add_argument("--scopes", help=f"comma list; default all: {','.join(ALL_SCOPES)}")
    create_key.add_argument("--test", action="store_true", help="an fsx_test_ key: sandbox publishing, no credits")
    create_key.add_argument("--json", action="store_true")
    create_key.set_defaults(handler=cmd_keys_create)
    list_keys = keys_parser.add_parser("list", help="list a user's keys")
    list_keys.add_argument("--email", required=True)
    list_keys.add_argument("--json", action="store_true")
    list_keys.set_defaults(handler=cmd_keys_list)
    revoke = keys_parser.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=cmd_keys_revoke)

    dna_parser = sub.add_parser("dna", help="a business's content DNA (its voice, from past posts)").add_subparsers(
        dest="action", required=True
    )
    dna_import = dna_parser.add_parser(
        "import", help="import past posts from a CSV or JSON file (text, posted_at, likes, comments, shares)"
    )
    dna_import.add_argument("--business-id", required=True)
    dna_import.add_argument("file")
    dna_import.add_argument("--json", action="store_true")
    dna_import.set_defaults(handler=cmd_dna_import)
    dna_sync = dna_parser.add_parser("sync", help="read past posts from the business's connected accounts")
    dna_sync.add_argument("--business-id", required=True)
    dna_sync.add_argument("--json", action="store_true")
    dna_sync.set_defaults(handler=cmd_dna_sync)
    dna_show = dna_parser.add_parser("show", help="print the business's content DNA")
    dna_show.add_argument("--business-id", required=True)
    dna_show.add_argument("--json", action="store_true")
    dna_show.set_defaults(handler=cmd_dna_show)

    accounts_parser = sub.add_parser("accounts", help="connected social accounts").add_subparsers(
        dest="action", required=True
    )
    add_account = accounts_parser.add_parser("add", help="connect an account from an existing platform token")
    add_account.add_argument("--email", required=True)
    add_account.add_argument("--business-id", required=True)
    add_account.add_argument("--platform", required=True,
                             choices=["instagram", "facebook", "tiktok", "linkedin", "x", "threads"])
    add_account.add_argument("--username", required=True)
    add_account.add_argument("--access-token", required=True, help="the token, or - to read it from standard input")
    add_account.add_argument("--refresh-token", help="the refresh token, or - to read it from standard input")
    add_account.add_argument("--platform-user-id",
                             help="the platform's id of the account; without it the platform is asked")
    add_account.add_argument("--json", action="store_true")
    add_account.set_defaults(handler=cmd_accounts_add)
    list_accounts = accounts_parser.add_parser("list", help="list a user's connected accounts")
    list_accounts.add_argument("--email", required=True)
    list_accounts.add_argument("--json", action="store_true")
    list_accounts.set_defaults(handler=cmd_accounts_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Migration steps are routine; say so only when something goes wrong.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    redaction.install()
    try:
        return args.handler(args, settings)
    except FluxError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
