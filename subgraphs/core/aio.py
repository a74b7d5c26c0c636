"""Lighter stand-ins for asyncio's Queue and Event where one exists per open connection or stream.

An asyncio.Queue holds four deques (~2.5 KiB) and an Event one (~0.6 KiB) from the moment it is made;
with 1,000 subscribers that is megabytes for queues that hold a message or two
(tests/perf/trace_lab_subscribers.py).
"""

from __future__ import annotations

import asyncio
from typing import Any


class Mailbox:
    """asyncio.Queue's `put_nowait`, `get_nowait`, `get`, `empty`, `full` and `qsize` for ONE reader at a
    time, unbounded or with `maxsize`: a list (a deque's first block alone is ~0.6 KiB; these hold a message
    or two, at most `maxsize`) and a future while the reader waits, where a Queue holds four deques
    (~2.5 KiB) for the life of every connection and every open stream."""

    __slots__ = ("_items", "_waiter", "maxsize")

    def __init__(self, maxsize: int = 0) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None
        self.maxsize = maxsize

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def put_nowait(self, item: Any) -> None:
        if self.full():
            raise asyncio.QueueFull
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("Mailbox.get: another reader is waiting")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class Flag:
    """asyncio.Event's `set`, `clear`, `is_set` and `wait`, its waiters' deque made only when someone waits
    (uvicorn's "writable" flag: its waiters are the sends of a peer that does not read)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True
