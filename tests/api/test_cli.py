"""The ``fluxsocial-mcp`` command line, run as a real subprocess on its own data folder."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import fluxsocial_mcp
from fluxsocial_mcp.app import build_runtime, create_app
from fluxsocial_mcp.config import Settings


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        assert self.code == 0, self.err
        return json.loads(self.out)


async def cli(folder: Path, *args: str) -> Run:
    # Only the data folder is configured: the CLI's own defaults decide the rest (SQLite in that folder).
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLUXSOCIAL_")}
    env["FLUXSOCIAL_DATA_DIR"] = str(folder)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fluxsocial_mcp", *args,
        cwd=folder.parent, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return Run(process.returncode or 0, out.decode(), err.decode())


@asynccontextmanager
async def app_on(folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The REST API in process, on the database the CLI wrote."""
    settings = Settings(_env_file=None, data_dir=folder, database_url=None, scheduler_enabled=False)
    runtime = build_runtime(settings)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime), client=("203.0.113.20", 1234))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            yield http
    finally:
        await runtime.core.db.dispose()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Prepared:
    folder: Path
    version: Run
    demos: list[dict]
    user: dict


@pytest.fixture(scope="module")
async def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """One data folder, set up by the CLI: the demo twice and a user. Independent commands run side by side."""
    folder = tmp_path_factory.mktemp("cli") / "data"
    version, first = await asyncio.gather(cli(folder, "--version"), cli(folder, "demo", "--json"))
    second, user = await asyncio.gather(
        cli(folder, "demo", "--json"), cli(folder, "users", "create", "--email", "a@b.co", "--credits", "100", "--json")
    )
    return Prepared(folder, version, [first.json(), second.json()], user.json())


def test_version_is_printed(prepared: Prepared) -> None:
    assert (prepared.version.code, prepared.version.out) == (0, f"{fluxsocial_mcp.__version__}\n")


async def test_demo_is_created_once_and_prints_a_new_key_each_time(prepared: Prepared) -> None:
    first, second = prepared.demos
    assert set(first) == set(second) == {"apiKey", "userId", "businessId"}
    assert (first["userId"], first["businessId"]) == (second["userId"], second["businessId"])
    assert first["userId"].startswith("usr_") and first["businessId"].startswith("biz_")
    assert first["apiKey"] != second["apiKey"]
    for key in (first["apiKey"], second["apiKey"]):
        assert re.fullmatch(r"fsx_live_[A-Za-z0-9_-]{40,}", key)

    async with app_on(prepared.folder) as http:
        for key in (first["apiKey"], second["apiKey"]):
            assert (await http.get("/api/v1/credits/balance", headers=bearer(key))).json() == {"balance": 5000}
        businesses = (await http.get("/api/v1/businesses", headers=bearer(first["apiKey"]))).json()
        assert businesses == {"businesses": [
            {"id": first["businessId"], "name": "The Morning Cup", "type": "cafe", "industry": "food"},
        ]}
        accounts = (await http.get("/api/v1/accounts", headers=bearer(second["apiKey"]))).json()["accounts"]
        assert sorted((a["platform"], a["username"], a["followers"]) for a in accounts) == [
            ("instagram", "@themorningcup", 12500), ("linkedin", "The Morning Cup", 1900),
            ("tiktok", "@themorningcup", 8400),
        ]


async def test_users_and_scoped_keys_are_managed_from_the_cli(prepared: Prepared) -> None:
    folder, user = prepared.folder, prepared.user
    assert set(user) == {"userId", "email", "credits"}
    assert user["userId"].startswith("usr_")
    assert (user["email"], user["credits"]) == ("a@b.co", 100)

    created, duplicate = await asyncio.gather(
        cli(folder, "keys", "create", "--email", "a@b.co", "--scopes", "credits:read", "--name", "reader", "--json"),
        cli(folder, "users", "create", "--email", "A@B.co"),
    )
    assert (duplicate.code, duplicate.out) == (2, "")
    assert duplicate.err.strip().splitlines()[-1] == "error: A user with email a@b.co already exists"
    key = created.json()
    assert set(key) == {"apiKey", "keyId"}
    secret, key_id = key["apiKey"], key["keyId"]
    assert secret.startswith("fsx_live_") and key_id.startswith("key_")

    async with app_on(folder) as http:
        balance = await http.get("/api/v1/credits/balance", headers=bearer(secret))
        assert balance.status_code == 200
        assert balance.json() == {"balance": 100}
        denied = await http.get("/api/v1/businesses", headers=bearer(secret))
        assert denied.status_code == 403
        assert denied.json() == {"error": {"message": "This API key lacks the required scope: businesses:read",
                                           "status": 403}}

        listed = await cli(folder, "keys", "list", "--email", "a@b.co")
        display = f"{secret[:13]}…{secret[-4:]}"
        assert listed.code == 0
        lines = listed.out.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"{key_id}  {display}  active   reader  [credits:read]  created ")
        assert re.search(r"last used \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", lines[0]), lines[0]
        assert secret not in listed.out + listed.err and secret[13:-4] not in listed.out + listed.err

        revoked = await cli(folder, "keys", "revoke", key_id)
        assert (revoked.code, revoked.out) == (0, f"Revoked {key_id}\n")
        refused = await http.get("/api/v1/credits/balance", headers=bearer(secret))
        assert refused.status_code == 401
        assert refused.json() == {"error": {"message": "Invalid, revoked or expired API key", "status": 401}}
