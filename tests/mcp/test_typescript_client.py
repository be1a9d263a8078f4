"""A second, independent client: the official TypeScript SDK, over real HTTP, through OAuth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest

from ..factories import make_tenant
from .test_tools import EXPECTED_TOOLS

HERE = Path(__file__).parent / "ts_client"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fluxsocial-tests" / "ts-client"


def _install() -> Path:
    """Install the pinned SDK once into a cache folder (from the npm registry)."""
    if not (CACHE / "node_modules" / "@modelcontextprotocol" / "sdk").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "package.json", CACHE / "package.json")
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=CACHE, check=True, timeout=300,
            capture_output=True,
        )
    shutil.copy(HERE / "client.mjs", CACHE / "client.mjs")
    return CACHE / "client.mjs"


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="Node.js and npm are needed")
async def test_the_typescript_sdk_client_connects_through_oauth(live_server) -> None:
    script = await anyio.to_thread.run_sync(_install)
    tenant = await make_tenant(live_server.runtime.core)
    completed = await anyio.run_process(
        ["node", str(script), f"{live_server.url}/api/mcp", tenant.key, tenant.business_id], check=False
    )
    assert completed.returncode == 0, completed.stderr.decode()
    seen = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    assert set(seen["tools"]) == EXPECTED_TOOLS
    assert seen["businesses"]["businesses"][0]["id"] == tenant.business_id
    assert seen["creditsUsed"] == 20
    assert seen["iss"] == live_server.url
    assert (seen["tokenType"], seen["hasRefreshToken"]) == ("Bearer", True)
