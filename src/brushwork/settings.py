"""The one settings class (``BRUSHWORK_*`` environment variables), validated at start.

It refuses unsafe combinations instead of guessing: ``dev`` (no API key) only
on a loopback host, no wildcard CORS. Server-side only; the SDK never imports it.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from brushwork.files.fetch import Policy


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
    model_config = SettingsConfigDict(env_prefix="BRUSHWORK_", extra="ignore")

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
    stale_after_seconds: float = Field(
        15.0, gt=0, description="a held task whose worker is quiet this long is re-queued once"
    )
    allow_private_urls: bool = Field(
        False, description="let URL inputs and webhooks reach private addresses (operator opt-in)"
    )
    moderation_embeddings: bool = Field(
        True, description="moderation compares prompts with an embedding model (about 4 ms)"
    )
    rate_limit_per_minute: int = Field(
        120, ge=0, description="task submissions per API key per minute (0 = no limit)"
    )
    url_allow_hosts: list[str] = Field(
        default_factory=list,
        description="host names that URL inputs and webhooks may reach even when private",
    )
    webhook_retry_scale: float = Field(
        1.0, gt=0, le=1, description="shrinks the retry schedule (tests)"
    )
    cors_origins: list[str] = Field(default_factory=list)

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
