"""Limiting repeated failures, such as wrong API keys pasted on the consent page."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol


class FailureLimiter(Protocol):
    async def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or None when it is not blocked."""
        ...

    async def record_failure(self, key: str) -> None: ...


class FixedWindowFailureLimiter:
    """At most ``max_failures`` failures per ``window`` seconds per key, in process memory.

    Enough for one process; a deployment with several workers passes a shared
    (e.g. Redis) implementation of `FailureLimiter` instead.
    """

    def __init__(
        self,
        max_failures: int = 10,
        window: float = 600.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._max_failures = max_failures
        self._window = window
        self._clock = clock
        self._max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}

    async def retry_after(self, key: str) -> int | None:
        now = self._clock()
        started, failures = self._windows.get(key, (now, 0))
        if now - started >= self._window or failures < self._max_failures:
            return None
        return max(1, math.ceil(started + self._window - now))

    async def record_failure(self, key: str) -> None:
        now = self._clock()
        started, failures = self._windows.get(key, (now, 0))
        if now - started >= self._window:
            started, failures = now, 0
        self._windows[key] = (started, failures + 1)
        if len(self._windows) > self._max_keys:
            self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        expired = [key for key, (started, _) in self._windows.items() if now - started >= self._window]
        for key in expired:
            del self._windows[key]
        # Under a flood of distinct keys, drop the oldest windows rather than grow without bound.
        while len(self._windows) > self._max_keys:
            del self._windows[next(iter(self._windows))]
