"""The background loops: publish due posts, advance video operations.

They run inside ``serve`` by default and in any number of ``worker``
processes; every claim is atomic, so extra workers only add throughput.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable

import anyio

from . import ids
from .core.publishing import publish_due_posts
from .core.service import Core
from .core.video import advance_video_operations

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{ids.new_id('w')[2:10]}"


async def _forever(name: str, interval: float, step: Callable[[], Awaitable[int]]) -> None:
    while True:
        try:
            await step()
        except Exception:
            # One bad pass (a database hiccup, say) must not stop publishing for good.
            log.exception("%s pass failed", name)
        await anyio.sleep(interval)


async def run_background_loops(core: Core, worker: str | None = None) -> None:
    worker = worker or worker_name()
    interval = core.settings.scheduler_interval_seconds
    log.info("scheduler %s started (every %.1fs)", worker, interval)
    async with anyio.create_task_group() as group:
        group.start_soon(_forever, "publishing", interval, lambda: publish_due_posts(core, worker))
        group.start_soon(_forever, "video", interval, lambda: advance_video_operations(core, worker))
