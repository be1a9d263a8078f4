"""``fluxsocial-mcp accounts add|list``: connecting an account from an existing platform token."""

from __future__ import annotations

import io
import json
from pathlib import Path

import anyio
import pytest

from fluxsocial_mcp.cli import main
from fluxsocial_mcp.config import Settings
from fluxsocial_mcp.db import Database
from fluxsocial_mcp.models import SocialAccount
from fluxsocial_mcp.platforms.credentials import CredentialVault


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_accounts_add_seals_the_token_and_accounts_list_shows_the_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("FLUXSOCIAL_DATABASE_URL", "FLUXSOCIAL_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLUXSOCIAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUXSOCIAL_SECRET_KEY", "cli-secret")
    monkeypatch.chdir(tmp_path)

    code, out, _ = await anyio.to_thread.run_sync(run, capsys, "demo", "--json")
    assert code == 0
    demo = json.loads(out)
    # The token comes from standard input, so it appears in no shell history or process list.
    monkeypatch.setattr("sys.stdin", io.StringIO("xat-from-elsewhere\n"))
    code, out, err = await anyio.to_thread.run_sync(
        run, capsys, "accounts", "add", "--email", "demo@fluxsocial.local", "--business-id", demo["businessId"],
        "--platform", "x", "--username", "@morningcup", "--access-token", "-", "--refresh-token", "xrt-elsewhere",
        "--platform-user-id", "1460000000000000001", "--json",
    )
    assert code == 0, err
    added = json.loads(out)
    assert {k: added[k] for k in ("businessId", "platform", "username")} == {
        "businessId": demo["businessId"], "platform": "x", "username": "@morningcup",
    }

    code, out, _ = await anyio.to_thread.run_sync(run, capsys, "accounts", "list", "--email", "demo@fluxsocial.local", "--json")
    listed = {a["accountId"]: a for a in json.loads(out)["accounts"]}
    assert listed[added["accountId"]] == {
        "accountId": added["accountId"], "businessId": demo["businessId"], "platform": "x", "username": "@morningcup",
        "followers": 0, "connection": "x", "status": "active",
    }
    assert {a["connection"] for a in listed.values()} == {"sandbox", "x"}

    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key="cli-secret")
    db = Database(settings.resolved_database_url)
    try:
        async with db.transaction() as session:
            account = await session.get(SocialAccount, added["accountId"])
    finally:
        await db.dispose()
    assert account is not None and "xat-from-elsewhere" not in (account.credentials_sealed or "")
    credentials = CredentialVault(settings).open(account.id, account.credentials_sealed or "")
    assert (credentials.access_token, credentials.refresh_token, credentials.platform_user_id) == (
        "xat-from-elsewhere", "xrt-elsewhere", "1460000000000000001"
    )


async def test_accounts_add_refuses_a_business_of_someone_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FLUXSOCIAL_DATABASE_URL", raising=False)
    monkeypatch.setenv("FLUXSOCIAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUXSOCIAL_SECRET_KEY", "cli-secret")
    monkeypatch.chdir(tmp_path)
    await anyio.to_thread.run_sync(run, capsys, "users", "create", "--email", "a@example.com", "--password", "long enough pw")

    code, _, err = await anyio.to_thread.run_sync(
        run, capsys, "accounts", "add", "--email", "a@example.com", "--business-id", "biz_nope",
        "--platform", "x", "--username", "@cup", "--access-token", "t", "--platform-user-id", "1",
    )

    assert code == 2
    assert err.startswith("error: ") and "biz_nope" in err
