"""Apps: list, describe (with input/output JSON schema) and run."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from brushwork.apps.registry import AppSpec
from brushwork.contract import AppInput, AppOutput, TaskStatus
from brushwork.server.runs import submit, wait_until_done
from brushwork.server.services import Services, owner, services
from brushwork.tasks.store import task_json

router = APIRouter(tags=["apps"])


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app: str = Field(description="App id, e.g. brushwork/studio")
    input: dict[str, Any] = Field(description="The app input (see GET /apps/{ns}/{name})")
    webhook: str | None = Field(None, description="Called when the task ends (9, 10, 11)")
    wait: bool = Field(False, description="Answer with the finished task")
    session_id: str | None = Field(None, max_length=200)
    previews: int = Field(
        0, ge=0, le=3, description="partial renders to publish on the task's stream (0..3)"
    )


def describe(spec: AppSpec, svc: Services, *, schemas: bool) -> dict[str, Any]:
    reason = svc.registry.unavailable_reason(spec.id)
    engine = svc.registry.importable(spec.id)  # capabilities show even when unavailable
    caps = engine.capabilities() if engine is not None else None
    out: dict[str, Any] = {
        "id": spec.id,
        "namespace": spec.namespace,
        "name": spec.name,
        "description": spec.description,
        "engine": spec.engine.rsplit(":", 1)[-1],
        "available": reason is None,
        "unavailable_reason": reason,
    }
    if caps is not None:
        out["modes"] = sorted(caps.modes)
        out["max_images"] = caps.max_images
        out["device"] = caps.device
    details = getattr(engine, "details", None)
    if schemas and callable(details):  # the full description only: listing stays cheap
        out.update(details())
    if schemas:
        out["input_schema"] = AppInput.model_json_schema()
        out["output_schema"] = AppOutput.model_json_schema()
    return out


@router.get("/apps", operation_id="list_apps")
def list_apps(request: Request, _: str = Depends(owner)) -> dict[str, Any]:
    svc = services(request)
    return {"data": [describe(s, svc, schemas=False) for s in svc.registry.apps.values()]}


@router.get("/apps/{namespace}/{name}", operation_id="get_app")
def get_app(namespace: str, name: str, request: Request, _: str = Depends(owner)) -> dict[str, Any]:
    svc = services(request)
    return describe(svc.registry.spec(f"{namespace}/{name}"), svc, schemas=True)


@router.post("/apps/run", operation_id="run_app", status_code=202)
async def run_app(body: RunRequest, request: Request, who: str = Depends(owner)) -> JSONResponse:
    svc = services(request)
    base = svc.files_base(request)
    task = await run_in_threadpool(
        partial(
            submit,
            svc,
            who,
            base,
            app=body.app,
            raw_input=body.input,
            webhook=body.webhook,
            session_id=body.session_id,
            options={"previews": body.previews},
        )
    )
    row: dict[str, Any] | None = (
        await wait_until_done(svc, task["id"], request)
        if body.wait
        else await run_in_threadpool(svc.store.get_task, task["id"])
    )
    assert row is not None
    done = TaskStatus(row["status"]).is_terminal()
    return JSONResponse(task_json(row, base), status_code=200 if body.wait and done else 202)
