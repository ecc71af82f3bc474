"""The webhook outbox: deliveries are marked pending with the terminal status (``records``),
claimed here under a lease by one dispatcher at a time, and every attempt is recorded."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select, update

from brushwork.contract import TERMINAL
from brushwork.tasks.store.tables import Room, tasks


class Outbox(Room):
    def redeliver_webhook(self, task_id: str) -> bool:
        query = (
            update(tasks)
            .where(
                tasks.c.id == task_id,
                tasks.c.webhook.isnot(None),
                tasks.c.status.in_([int(s) for s in TERMINAL]),
            )
            .values(webhook_state="pending", webhook_next_at=time.time())
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(query).rowcount)

    def claim_webhooks(self, now: float, lease: float, limit: int = 20) -> list[dict[str, Any]]:
        """Pending deliveries that are due, each leased for ``lease`` seconds to this caller."""
        due = (
            select(tasks.c.id)
            .where(tasks.c.webhook_state == "pending", tasks.c.webhook_next_at <= now)
            .limit(limit)
        )
        claimed = []
        with self.engine.begin() as conn:
            for task_id in conn.execute(due).scalars().all():
                took = conn.execute(
                    update(tasks)
                    .where(
                        tasks.c.id == task_id,
                        tasks.c.webhook_state == "pending",
                        tasks.c.webhook_next_at <= now,
                    )
                    .values(webhook_next_at=now + lease)
                ).rowcount
                if took:
                    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().one()
                    claimed.append(dict(row))
        return claimed

    def record_webhook(
        self, task_id: str, attempt: dict[str, Any], state: str, next_at: float | None
    ) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(tasks.c.webhook_attempts).where(tasks.c.id == task_id)
            ).scalar_one()
            conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id)
                .values(
                    webhook_attempts=[*(row or []), attempt],
                    webhook_state=state,
                    webhook_next_at=next_at,
                )
            )
