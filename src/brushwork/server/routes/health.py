"""Health and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from brushwork import __version__
from brushwork.contract import TaskStatus
from brushwork.server.services import services

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health")
def health(request: Request) -> dict[str, Any]:
    svc = services(request)
    return {"status": "ok", "version": __version__, "queue_depth": svc.queue.depth()}


@router.get("/metrics", operation_id="metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    svc = services(request)
    counts = svc.store.count_by_status()
    lines = [
        "# HELP brushwork_tasks Tasks in the store by status.",
        "# TYPE brushwork_tasks gauge",
    ]
    for status in TaskStatus:
        lines.append(f'brushwork_tasks{{status="{status.name}"}} {counts.get(int(status), 0)}')
    lines += [
        "# HELP brushwork_queue_depth Tasks waiting in the queue, by app.",
        "# TYPE brushwork_queue_depth gauge",
    ]
    for app in svc.queue.apps:
        lines.append(f'brushwork_queue_depth{{app="{app}"}} {svc.queue.depth(app)}')
    return "\n".join(lines) + "\n"
