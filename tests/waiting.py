"""Waiting for a condition in tests: poll it with a deadline, never sleep a fixed time instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 15.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `check` until it returns a truthy value (or stops raising); fail with the last result."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except Exception as exc:  # the condition is not met yet (e.g. connection refused)
            last = exc
        if time.monotonic() >= deadline:
            pytest.fail(f"not within {timeout}s: {what or check} (last: {last!r})")
        await asyncio.sleep(interval)
