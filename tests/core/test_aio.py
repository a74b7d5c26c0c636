"""core/aio.py: the light queue and flag held per connection and per open stream behave as asyncio's Queue
and Event do for their one reader."""

from __future__ import annotations

import asyncio

import pytest

from subgraphs.core.aio import Flag, Mailbox


async def test_mailbox_hands_items_over_in_order_and_wakes_its_reader():
    box = Mailbox()
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    assert not reader.done()  # nothing to read yet: it waits
    box.put_nowait(1)
    box.put_nowait(2)
    assert await asyncio.wait_for(reader, 5) == 1
    assert box.qsize() == 1 and not box.empty()
    assert await box.get() == 2
    assert box.empty()
    with pytest.raises(asyncio.QueueEmpty):
        box.get_nowait()


async def test_a_full_mailbox_refuses_more():
    box = Mailbox(maxsize=2)
    box.put_nowait("a")
    assert not box.full()
    box.put_nowait("b")
    assert box.full()
    with pytest.raises(asyncio.QueueFull):
        box.put_nowait("c")
    assert box.get_nowait() == "a"
    box.put_nowait("c")
    assert [box.get_nowait(), box.get_nowait()] == ["b", "c"]


async def test_a_cancelled_reader_leaves_the_mailbox_usable():
    box = Mailbox()
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    box.put_nowait("x")
    assert await asyncio.wait_for(box.get(), 5) == "x"


async def test_flag_wakes_its_waiters_when_set():
    flag = Flag()
    assert not flag.is_set()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 5) == [True, True]
    assert await flag.wait()  # set: no wait
    flag.clear()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    flag.set()
    assert flag.is_set()
