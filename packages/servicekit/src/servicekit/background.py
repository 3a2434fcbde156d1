"""Background loops that stop between passes, never in the middle of one.

Sequencers, consumers, the webhook worker and sweepers each run a loop of short database passes.
Stopping them by cancellation alone can land a `CancelledError` inside a pass: on PostgreSQL the
connection is then thrown away mid-transaction (harmless), but on SQLite a task cancelled while
its `BEGIN IMMEDIATE` waits for the write lock cannot give its connection back until the driver
thread's busy wait ends (up to 30 s), and everything else queued behind that lock waits too. An
app's shutdown then overran its deadline.

So a loop gets a `stop` event and checks it between passes; its waits end early when it is set
(`pause`). `loop_task` sets it at shutdown, gives the loop `grace` seconds to finish its pass, and
only cancels it after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

log = logging.getLogger("servicekit.background")

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def pause(seconds: float, *events: asyncio.Event) -> None:
    """Wait up to `seconds`, returning as soon as any of `events` is set."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=max(seconds, 0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def finish(task: asyncio.Task[None], name: str, grace: float) -> None:
    """Wait up to `grace` s for a task told to stop; cancel it after that. Never raises."""
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        log.warning("%s did not stop within %g s; cancelling it", name, grace)
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("%s ended with an error", name)


@contextlib.asynccontextmanager
async def loop_task(name: str, loop: Loop, *, grace: float = 10.0) -> AsyncIterator[asyncio.Event]:
    """Run `loop(stop)` as a task for the life of the block; yields `stop`."""
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop), name=name)
    try:
        yield stop
    finally:
        stop.set()
        await finish(task, name, grace)
