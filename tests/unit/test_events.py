"""Wake-ups of the requests that wait on a task (tasks/events.py), over a real Redis."""

from __future__ import annotations

import asyncio

import redis

from brushwork.contract import TaskStatus
from brushwork.tasks.events import TaskEvents
from brushwork.tasks.queue import CHANGED, TaskQueue


async def _woken(event: asyncio.Event) -> bool:
    try:
        await asyncio.wait_for(event.wait(), 1.0)
    except TimeoutError:
        return False
    event.clear()
    return True


def test_a_wait_for_the_end_sleeps_through_the_changes_before_it(redis_server: str) -> None:
    """Every change is published with its status; a watcher of every change (a task stream)
    wakes for each, a watcher of the end (a run with ``wait``) for the end only. A notice
    without a status, as earlier versions publish, or with one it cannot read, wakes both."""
    client = redis.Redis.from_url(redis_server)
    events = TaskEvents(redis=client)
    events.start()
    queue = TaskQueue(redis_server)

    async def scenario() -> list[tuple[bool, bool]]:
        seen = []
        with events.watch("t1") as every, events.watch("t1", ends_only=True) as end:
            await asyncio.sleep(0.3)  # the subscription is up
            for status in (TaskStatus.RUNNING, TaskStatus.COMPLETED):
                queue.publish_change("t1", status)
                seen.append((await _woken(every), await _woken(end)))
            for odd in ("t1", "t1 banana", "t1 99"):  # no status, or none it knows
                client.publish(CHANGED, odd)
                seen.append((await _woken(every), await _woken(end)))
            queue.publish_change("t2", TaskStatus.COMPLETED)  # another task's end
            seen.append((await _woken(every), await _woken(end)))
        return seen

    try:
        assert asyncio.run(scenario()) == [
            (True, False),  # running: the stream hears it, the wait sleeps on
            (True, True),  # completed
            (True, True),  # a plain id: anything may have happened
            (True, True),
            (True, True),
            (False, False),
        ]
    finally:
        events.stop()
        client.close()
