"""App ids → engines. Engines are imported lazily by dotted name, so listing apps is cheap.

Each built-in engine is built with its part of the settings (``Settings.studio``,
``.diffusers``, ``.openai``) as ``config``. An operator adds apps with
``BRUSHWORK_PLUGINS="namespace/name=module:Class"`` (a class that follows
``engines.base.Engine``, built without arguments), the way ComfyUI takes custom nodes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal, cast

from brushwork.engines.base import Engine
from brushwork.errors import InvalidInput, NotFound
from brushwork.settings import Settings


@dataclass(frozen=True)
class AppSpec:
    id: str
    engine: str  # "module:Class"
    description: str
    priced: bool = False
    args: tuple[str, ...] = ()  # passed to the engine's constructor
    config: str | None = None  # the settings group passed as ``config=``
    kind: Literal["images", "masks"] = "images"  # what it takes and makes (SPEC §1 or §10)

    @property
    def namespace(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]


def _diffusers_apps() -> tuple[AppSpec, ...]:
    from brushwork.engines.diffusion.catalog import APPS

    return tuple(
        AppSpec(
            app.id,
            "brushwork.engines.diffusion:DiffusersEngine",
            app.description,
            args=(app.id,),
            config="diffusers",
        )
        for app in APPS.values()
    )


BUILTIN_APPS = (
    AppSpec(
        "brushwork/studio",
        "brushwork.engines.studio:StudioEngine",
        "CPU, offline compositor: procedural scenes, exact text, classical photo edits. "
        "Not a neural model.",
        config="studio",
    ),
    AppSpec(
        "brushwork/masks",
        "brushwork.engines.masks:MaskEngine",
        "Offline one-click selections: subject, background, point, box, colour (SPEC §10), "
        "on the CPU; SAM 2 for clicks and boxes where its weights are.",
        kind="masks",
        config="diffusers",  # where weights are looked for, and the device
    ),
    AppSpec(
        "openai/gpt-image-2",
        "brushwork.engines.openai_engine:OpenAIEngine",
        "OpenAI's gpt-image-2 through the official SDK, with your OPENAI_API_KEY.",
        priced=True,
        config="openai",
    ),
    *_diffusers_apps(),
)


def parse_plugin(entry: str) -> AppSpec:
    app_id, sep, target = entry.partition("=")
    if not sep or "/" not in app_id or ":" not in target:
        raise ValueError(f"a plugin must look like 'namespace/name=module:Class', got {entry!r}")
    return AppSpec(app_id.strip(), target.strip(), f"plugin engine {target.strip()}")


class Registry:
    def __init__(self, settings: Settings):
        self.settings = settings
        specs = list(BUILTIN_APPS) + [parse_plugin(p) for p in settings.plugins]
        self.apps = {spec.id: spec for spec in specs}
        self._engines: dict[str, Engine] = {}

    def spec(self, app_id: str) -> AppSpec:
        if not isinstance(app_id, str) or app_id not in self.apps:
            raise NotFound(f"app {app_id!r} not found; GET /apps lists the apps", param="app")
        return self.apps[app_id]

    def engine(self, app_id: str) -> Engine:
        """The engine object for an app (created once per process, not yet loaded)."""
        if app_id not in self._engines:
            module_name, _, cls_name = self.spec(app_id).engine.partition(":")
            cls: Any = getattr(importlib.import_module(module_name), cls_name)
            spec = self.spec(app_id)
            kwargs = {"config": getattr(self.settings, spec.config)} if spec.config else {}
            self._engines[app_id] = cast(Engine, cls(*spec.args, **kwargs))
        return self._engines[app_id]

    def importable(self, app_id: str) -> Engine | None:
        """The engine object, or None when its module cannot be imported."""
        try:
            return self.engine(app_id)
        except (ImportError, AttributeError):
            return None

    def unavailable_reason(self, app_id: str) -> str | None:
        try:
            return self.engine(app_id).unavailable_reason()
        except (ImportError, AttributeError) as exc:
            return f"the engine could not be imported: {exc}"

    def require_available(self, app_id: str) -> AppSpec:
        spec = self.spec(app_id)
        reason = self.unavailable_reason(app_id)
        if reason is not None:
            raise InvalidInput(
                f"app {app_id!r} is unavailable: {reason}", param="app", code="app_unavailable"
            )
        return spec
