"""``create_app(settings)``: the FastAPI application, built with nothing heavy at import time."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from multiprocessing.queues import Queue as MPQueue
from multiprocessing.synchronize import Semaphore
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from brushwork import __version__
from brushwork.apps import moderation
from brushwork.contract import (
    AppInput,
    ImageStreamEvent,
    MaskInput,
    TaskUpdate,
    WebhookPayload,
)
from brushwork.files.retention import Sweeper
from brushwork.server import errors, infsh
from brushwork.server.openai import router as openai
from brushwork.server.routes import apps, files, health, sessions, tasks, web
from brushwork.server.services import Services
from brushwork.settings import Settings
from brushwork.tasks.recovery import Reaper
from brushwork.tasks.webhooks import Dispatcher


def create_app(
    settings: Settings | None = None,
    doorbell: Semaphore | None = None,
    finished: MPQueue[Any] | None = None,
) -> FastAPI:
    """The app; ``doorbell`` wakes workers, ``finished`` carries their notices back."""
    settings = settings or Settings()
    services = Services.build(settings, doorbell, finished)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        dispatcher = Dispatcher(
            services.store,
            settings.public_url or f"http://{settings.host}:{settings.port}",
            retry_scale=settings.webhook_retry_scale,
            policy=settings.url_policy,
            render=partial(infsh.webhook_payload, services.store),
        )
        reaper = Reaper(
            services.store,
            services.queue,
            settings.stale_after_seconds,
            every=min(5.0, settings.stale_after_seconds / 3),
            expiry=settings.queue_expiry_seconds,
        )
        sweeper = Sweeper(
            services.store, services.files, settings.keep_days, every=settings.sweep_seconds
        )
        if settings.moderation_embeddings:  # the first prompts need not wait for the model
            threading.Thread(target=moderation.warm, name="moderation-warm", daemon=True).start()
        dispatcher.start()
        services.events.start()
        reaper.start()
        sweeper.start()
        try:
            yield
        finally:
            sweeper.stop()
            reaper.stop()
            services.events.stop()
            dispatcher.stop()

    app = FastAPI(
        title="brushwork",
        version=__version__,
        description="Self-hosted image generation and editing (the gpt-image-2 app contract).",
        lifespan=lifespan,
    )
    app.state.services = services
    roots = {infsh.ROOT: infsh.problem}  # another root renders refusals its own way
    errors.install(app, roots)
    app.add_middleware(errors.BodyLimit, max_bytes=settings.max_request_bytes, roots=roots)
    for module in (health, apps, tasks, sessions, files, openai, web):
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
    app.include_router(infsh.router, responses=infsh.PROBLEM_RESPONSES)
    app.mount("/web", web.static_files(), name="web")
    document_models(
        app, (AppInput, MaskInput, TaskUpdate, ImageStreamEvent, WebhookPayload, infsh.Problem)
    )
    return app


EVENT_REF = "#/components/schemas/{model}"


def document_models(app: FastAPI, models: tuple[type[BaseModel], ...]) -> None:
    """Put models that no JSON route returns (stream events, the webhook body) among the
    OpenAPI components, where the event-stream answers refer to them by name."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _, defs = models_json_schema(
                [(m, "serialization") for m in models], ref_template=EVENT_REF
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in defs.get("$defs", {}).items():
                components.setdefault(name, definition)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
