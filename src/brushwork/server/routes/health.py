"""Health (ready or degraded, per dependency) and Prometheus metrics."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from brushwork import __version__
from brushwork.contract import Health, TaskStatus
from brushwork.server.services import Services, services

router = APIRouter(tags=["health"])


def _check(fn: Any) -> str:
    try:
        fn()
    except Exception as exc:  # any failure of a dependency is "degraded", never a 500
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _workers(svc: Services) -> int:
    return svc.store.count_workers(time.time() - svc.settings.stale_after_seconds)


@router.get(
    "/health",
    operation_id="health",
    response_model=Health,
    responses={503: {"model": Health, "description": "degraded: a dependency does not answer"}},
)
def health(request: Request) -> JSONResponse:
    """200 when the task store and the queue answer; 503 "degraded" naming what does not."""
    svc = services(request)
    checks = {"database": _check(svc.store.ping), "queue": _check(svc.queue.depth)}
    storage: Literal["ok", "full"] = "full" if svc.storage_full() else "ok"
    ready = storage == "ok" and all(v == "ok" for v in checks.values())
    answer = Health(
        status="ok" if ready else "degraded", version=__version__, checks=checks, storage=storage
    )
    if ready:
        answer.queue_depth, answer.workers = svc.queue.depth(), _workers(svc)
    body = answer.model_dump(exclude_none=True)  # degraded: no counts to report
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", operation_id="metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    svc = services(request)
    counts = svc.store.count_by_status()
    lines = ["# HELP brushwork_tasks Tasks in the store by status.", "# TYPE brushwork_tasks gauge"]
    for status in TaskStatus:
        lines.append(f'brushwork_tasks{{status="{status.name}"}} {counts.get(int(status), 0)}')
    lines += [
        "# HELP brushwork_queue_depth Tasks waiting in the queue, by app.",
        "# TYPE brushwork_queue_depth gauge",
    ]
    for app in svc.queue.apps:
        lines.append(f'brushwork_queue_depth{{app="{app}"}} {svc.queue.depth(app)}')
    lines += [
        "# HELP brushwork_workers Worker processes seen recently.",
        "# TYPE brushwork_workers gauge",
        f"brushwork_workers {_workers(svc)}",
    ]
    stored_bytes, stored_files = svc.store.storage_totals()
    backend = svc.files.backend
    lines += [
        "# HELP brushwork_stored_bytes Bytes of uploads and outputs stored now, by backend.",
        "# TYPE brushwork_stored_bytes gauge",
        f'brushwork_stored_bytes{{backend="{backend}"}} {stored_bytes}',
        "# HELP brushwork_stored_files Uploads and outputs stored now, by backend.",
        "# TYPE brushwork_stored_files gauge",
        f'brushwork_stored_files{{backend="{backend}"}} {stored_files}',
    ]
    for name, (total, count) in svc.store.timing_totals().items():
        lines += [
            f"# HELP brushwork_{name}_seconds Time spent in the {name} step of completed tasks.",
            f"# TYPE brushwork_{name}_seconds summary",
            f"brushwork_{name}_seconds_sum {total:.6f}",
            f"brushwork_{name}_seconds_count {count}",
        ]
    return "\n".join(lines) + "\n"
