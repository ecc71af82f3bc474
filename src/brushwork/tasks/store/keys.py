"""API keys (stored as hashes) and the per-owner signing secrets for webhooks and file links."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from brushwork.signing import new_secret
from brushwork.tasks.store.tables import Room, api_keys, new_id, webhook_secrets

KEY_PREFIX = "bw_"
DEV_OWNER = "dev"


def hash_key(key: str) -> str:
    # API keys are 256-bit random tokens: a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(key.encode()).hexdigest()


# every request asks: built once (records.py says why)
_OWNER_OF = select(api_keys.c.id).where(
    api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None)
)


class Keys(Room):
    def create_key(self, name: str = "default") -> str:
        """Make a key; returns the only copy of the plain key (the store keeps its hash)."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = new_id()
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    name=name,
                    key_hash=hash_key(key),
                    prefix=key[:10],
                    created_at=time.time(),
                )
            )
            conn.execute(insert(webhook_secrets).values(owner=key_id, secret=new_secret()))
        return key

    def webhook_secret(self, owner: str) -> str:
        """The owner's webhook signing secret (``whsec_…``), made on first use.

        Every process of a server may ask for the same secret at once (the API signing a file
        link while a worker signs a webhook): the first insert wins and everyone reads it back.
        """
        query = select(webhook_secrets.c.secret).where(webhook_secrets.c.owner == owner)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        if found is not None:
            return str(found)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(webhook_secrets).values(owner=owner, secret=new_secret()))
        except IntegrityError:
            pass  # another process made it between the read and the insert: theirs stands
        with self.engine.connect() as conn:
            return str(conn.execute(query).scalar_one())

    def server_secret(self, name: str) -> bytes:
        """A random secret shared by every process of this server (signing file links)."""
        return self.webhook_secret(f"server:{name}").encode()

    def owner_of_key(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(_OWNER_OF, {"key_hash": hash_key(key)}).scalar()

    def list_keys(self) -> list[dict[str, Any]]:
        query = select(
            api_keys.c.id,
            api_keys.c.name,
            api_keys.c.prefix,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
            webhook_secrets.c.secret.label("webhook_secret"),
        ).join(webhook_secrets, webhook_secrets.c.owner == api_keys.c.id, isouter=True)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(api_keys.c.created_at)).mappings()]

    def revoke_key(self, key_id_or_prefix: str) -> int:
        """Revoke the key with this id, or whose shown prefix this is; returns how many."""
        query = (
            update(api_keys)
            .where(
                (api_keys.c.id == key_id_or_prefix) | (api_keys.c.prefix == key_id_or_prefix),
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=time.time())
        )
        with self.engine.begin() as conn:
            return int(conn.execute(query).rowcount)

    def count_keys(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(api_keys)).scalar_one())
