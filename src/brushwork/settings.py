"""The one settings class (``BRUSHWORK_*`` environment variables), validated at start.

It is the only place the environment is read. Each part has its own group — ``studio``,
``diffusers``, ``openai`` — that the engine of that part receives in its constructor; the
server, queue and store settings sit at the top. It refuses unsafe combinations instead of
guessing: ``dev`` (no API key) only on a loopback host, no wildcard CORS; and
:func:`unknown_variables` names a misspelt ``BRUSHWORK_`` variable so that ``serve`` and
``worker`` can say so at start. Server-side only; the SDK never imports it.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from brushwork.files.fetch import Policy

PREFIX = "BRUSHWORK_"
_APP_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
# read by the SDK and the CLI's client commands, not by the server
CLIENT_VARIABLES = frozenset({"BRUSHWORK_BASE_URL", "BRUSHWORK_API_KEY"})


def _cache_dir() -> Path:
    return Path.home() / ".cache" / "brushwork"


class Group(BaseModel):
    """A part's settings: ``BRUSHWORK_{GROUP}_{FIELD}`` each, unless ``names`` says otherwise."""

    prefix: ClassVar[str]
    names: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Any:
        """This group alone, from the environment (an engine built without settings)."""
        env = os.environ if environ is None else environ
        return cls.model_validate(
            {name: env[var] for name, var in cls.variables().items() if var in env}
        )

    @classmethod
    def variables(cls) -> dict[str, str]:
        """field → the environment variable that sets it."""
        return {
            name: cls.names.get(name, f"{cls.prefix}{name.upper()}") for name in cls.model_fields
        }


class StudioSettings(Group):
    """The studio engine: where its npm-installed art lives, and an extra fonts directory."""

    prefix = "BRUSHWORK_STUDIO_"
    names = {"assets": "BRUSHWORK_ASSETS", "fonts_dir": "BRUSHWORK_FONTS_DIR"}

    assets: Path = Field(default_factory=_cache_dir, description="`brushwork assets install`")
    fonts_dir: Path | None = Field(None, description="fonts searched before the system's")


def _flag(value: Any) -> Any:
    """``auto`` (or nothing) means "decide on the device"; else a boolean."""
    if value is None or isinstance(value, str) and value.strip().lower() in ("", "auto"):
        return None
    return value


class DiffusersSettings(Group):
    """The diffusers engine: how pipelines run, and where weights are looked for."""

    prefix = "BRUSHWORK_DIFFUSERS_"
    names = {"models_dir": "BRUSHWORK_MODELS_DIR", "cache_threshold": "BRUSHWORK_DIFFUSERS_CACHE"}

    device: str = Field("auto", description="auto | cuda | cuda:N | cpu | mps")
    dtype: str = Field("auto", description="auto (bf16 on a GPU, fp32 on the CPU) | bfloat16 …")
    compile: bool | None = Field(None, description="torch.compile the repeated block; auto=GPU")
    cache_threshold: float = Field(0.0, ge=0, description="first-block cache; 0 = off")
    channels_last: bool = Field(False, description="for 2D conv nets; slower in eager here")
    max_batch: int = Field(4, ge=1, description="images per pipeline call")
    steps: int = Field(0, ge=0, description="denoising steps for every tier; 0 = the tier table")
    max_edge: int = Field(0, ge=0, description="render at most this large, then upscale; 0 = off")
    models_dir: Path = Field(default_factory=lambda: _cache_dir() / "models")

    _auto = field_validator("compile", mode="before")(_flag)

    @field_validator("channels_last", mode="before")
    @classmethod
    def _auto_is_off(cls, value: Any) -> Any:
        return _flag(value) or False

    @field_validator("cache_threshold", mode="before")
    @classmethod
    def _empty_is_off(cls, value: Any) -> Any:
        return 0.0 if value == "" else value


class OpenAISettings(Group):
    """The openai engine: the user's key (``OPENAI_API_KEY``), and how it calls OpenAI."""

    prefix = "BRUSHWORK_OPENAI_"
    names = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}

    api_key: str | None = Field(None, repr=False)
    base_url: str | None = Field(None, description="an OpenAI-compatible server")
    model: str = "gpt-image-2"
    timeout: float = Field(300.0, gt=0, description="seconds per call")
    retries: int = Field(3, ge=0)

    @field_validator("api_key", "base_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return value or None


GROUPS: dict[str, type[Group]] = {
    "studio": StudioSettings,
    "diffusers": DiffusersSettings,
    "openai": OpenAISettings,
}


class GroupSource(PydanticBaseSettingsSource):
    """Reads each group's variables from the environment into ``{group: {field: text}}``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads whole groups

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for group, cls in GROUPS.items():
            values = {
                name: self.environ[var]
                for name, var in cls.variables().items()
                if var in self.environ
            }
            if values:
                found[group] = values
        return found


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "brushwork"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    studio: StudioSettings = Field(default_factory=StudioSettings)
    diffusers: DiffusersSettings = Field(default_factory=DiffusersSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)

    host: str = "127.0.0.1"
    port: int = Field(8420, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    dev: bool = False
    workers: int = Field(0, ge=0, le=64, description="worker processes; 0 = one per core")
    public_url: str | None = Field(None, description="base of absolute file URIs")
    files_url: str | None = Field(
        None, description="files: s3://bucket?endpoint=…&region=… (default: data_dir/files)"
    )
    queue_url: str | None = Field(
        None, description="queue: redis://host:6379/0 (default: SQLite in data_dir)"
    )
    database_url: str | None = Field(
        None, description="task store: postgresql+psycopg://… (default: SQLite in data_dir)"
    )
    openai_default_app: str = Field(
        "brushwork/studio", description="the app that model 'gpt-image-2' means on /v1"
    )
    app_aliases: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="other app ids that mean a local app, as 'openai/gpt-image-2=brushwork/studio' "
        "(comma-separated)",
    )
    plugins: list[str] = Field(
        default_factory=list, description="extra apps as 'namespace/name=module:Class'"
    )
    max_request_bytes: int = Field(128 * 1024 * 1024, ge=1024)
    queue_poll_seconds: float = Field(0.5, gt=0, le=10)
    wait_timeout_seconds: float = Field(600, gt=0)
    max_queued_per_app: int = Field(1000, ge=1, description="waiting tasks per app before 429")
    max_queued_per_key: int = Field(200, ge=1, description="waiting tasks per API key before 429")
    queue_expiry_seconds: float = Field(
        3600, gt=0, description="a task still waiting after this long fails as expired"
    )
    heartbeat_seconds: float = Field(2.0, gt=0, description="how often a worker says it is alive")
    cancel_grace_seconds: float = Field(
        5.0, gt=0, description="a cancelled engine still running after this long ends its worker"
    )
    session_affinity_seconds: float = Field(
        2.0,
        ge=0,
        description="a session's call waits this long for the worker that ran its last call",
    )
    stale_after_seconds: float = Field(
        15.0, gt=0, description="a held task whose worker is quiet this long is re-queued once"
    )
    allow_private_urls: bool = Field(
        False, description="let URL inputs and webhooks reach private addresses (operator opt-in)"
    )
    moderation_embeddings: bool = Field(
        True, description="moderation compares prompts with an embedding model (~10 ms a prompt)"
    )
    rate_limit_per_minute: int | None = Field(
        None,
        ge=0,
        description="task submissions per API key per minute (0 = no limit; default 120, "
        "none in dev mode: one local user on loopback)",
    )
    url_allow_hosts: list[str] = Field(
        default_factory=list,
        description="host names that URL inputs and webhooks may reach even when private",
    )
    webhook_retry_scale: float = Field(
        1.0, gt=0, le=1, description="shrinks the retry schedule (tests)"
    )
    cors_origins: list[str] = Field(default_factory=list)
    keep_days: float = Field(
        30, ge=0, description="uploads and outputs older than this are deleted (0 = keep forever)"
    )
    max_bytes_per_key: int | None = Field(
        None, ge=0, description="stored bytes per API key before 507 (default: no quota)"
    )
    min_free_mb: float = Field(
        8, ge=0, description="/health says storage is full below this much free space"
    )
    sweep_seconds: float = Field(600, gt=0, description="how often the retention sweep runs")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, GroupSource(settings_cls, os.environ), env_settings)

    @field_validator("app_aliases", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        aliases = {}
        for pair in filter(None, (p.strip() for p in value.split(","))):
            alias, sep, app = (part.strip() for part in pair.partition("="))
            if not (sep and _APP_ID.fullmatch(alias) and _APP_ID.fullmatch(app)):
                raise ValueError(f"expected 'namespace/name=namespace/name' pairs, got {pair!r}")
            aliases[alias] = app
        return aliases

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("a wildcard CORS origin is refused: list the origins you trust")
        return value

    @model_validator(mode="after")
    def _dev_is_loopback_only(self) -> Settings:
        if self.dev and not is_loopback_host(self.host):
            raise ValueError(
                f"dev mode (no API key) only listens on loopback; got host {self.host!r}"
            )
        return self

    @property
    def submissions_per_minute(self) -> int:
        if self.rate_limit_per_minute is not None:
            return self.rate_limit_per_minute
        return 0 if self.dev else 120

    @property
    def url_policy(self) -> Policy:
        hosts = frozenset(h.strip().lower() for h in self.url_allow_hosts if h.strip())
        return Policy(allow_private=self.allow_private_urls, allow_hosts=hosts)

    @property
    def database(self) -> str:
        """The task store's SQLAlchemy URL: BRUSHWORK_DATABASE_URL, else SQLite in data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'brushwork.db'}"

    @property
    def queue(self) -> str:
        """Where the queue lives: BRUSHWORK_QUEUE_URL (Redis), else a SQLite file in data_dir."""
        return self.queue_url or str(self.data_dir / "queue.db")

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def worker_count(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)


def known_variables() -> frozenset[str]:
    """Every environment variable brushwork reads (server, parts and SDK)."""
    top = {f"{PREFIX}{name.upper()}" for name in Settings.model_fields if name not in GROUPS}
    parts = {var for cls in GROUPS.values() for var in cls.variables().values()}
    return frozenset(top | parts | CLIENT_VARIABLES)


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A line for each set ``BRUSHWORK_*`` variable that nothing reads (a typo, most often),
    with the nearest known name."""
    known = known_variables()
    lines = []
    for name in sorted(os.environ if environ is None else environ):
        if name.startswith(PREFIX) and name not in known:
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
            hint = f" (did you mean {near[0]}?)" if near else ""
            lines.append(f"{name} is not a brushwork setting and is ignored{hint}")
    return lines
