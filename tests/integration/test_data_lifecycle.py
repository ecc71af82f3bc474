"""Deletion, retention, quotas and storage faults (SPEC §4 storage, §5 DELETE/retention/quota).

Each test runs on both backends (SQLite + local files, PostgreSQL + Redis + S3) through the
in-process API; a full disk is a real small filesystem in ``tests/e2e/test_storage.py``.
"""

from __future__ import annotations

import io
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from brushwork.errors import StorageFull
from brushwork.files.faults import is_storage_full
from brushwork.files.retention import DAY, sweep
from brushwork.server import create_app
from brushwork.settings import Settings
from tests.conftest import Api
from tests.helpers import png, store_written_by


def noise_png(side: int = 256, seed: int = 0) -> bytes:
    """An image that does not compress: its size is what it costs to store."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def upload(http: TestClient, data: bytes | None = None) -> Any:
    return http.post("/files", files={"file": ("a.png", data or png(64, 64), "image/png")})


def file_id(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def bytes_exist(api: Api, fid: str) -> bool:
    try:
        api.worker.files.read(fid)
    except Exception:
        return False
    return True


def other_client(api: Api) -> TestClient:
    key = api.http.app.state.services.store.create_key("other")  # type: ignore[attr-defined]
    return TestClient(api.http.app, headers={"Authorization": f"Bearer {key}"})


def test_deleting_a_task_removes_it_and_its_output_bytes(api: Api) -> None:
    task = api.complete({"prompt": 'a sign "OK"', "quality": "low", "n": 2})
    uris = [image["uri"] for image in task["output"]["images"]]
    assert all(bytes_exist(api, file_id(u)) for u in uris)
    other = other_client(api)
    assert other.delete(f"/tasks/{task['id']}").status_code == 404  # not yours: not found
    assert api.http.delete(f"/tasks/{task['id']}").status_code == 204
    assert api.http.get(f"/tasks/{task['id']}").status_code == 404
    assert task["id"] not in [t["id"] for t in api.http.get("/tasks").json()["data"]]
    for uri in uris:
        assert api.http.get(uri).status_code == 404
        assert not bytes_exist(api, file_id(uri))  # really gone, on disk or in the bucket
    assert api.http.delete(f"/tasks/{task['id']}").status_code == 204  # idempotent
    assert api.http.delete(f"/tasks/{'0' * 32}").status_code == 404


def test_a_running_task_cannot_be_deleted(api: Api) -> None:
    queued = api.run({"prompt": "x", "quality": "low"}).json()
    response = api.http.delete(f"/tasks/{queued['id']}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert api.http.get(f"/tasks/{queued['id']}").json()["status"] == 2  # unchanged
    api.drain()
    assert api.http.delete(f"/tasks/{queued['id']}").status_code == 204


def test_deleting_an_upload_removes_its_bytes(api: Api) -> None:
    uploaded = upload(api.http).json()
    other = other_client(api)
    assert other.delete(f"/files/{uploaded['id']}").status_code == 404
    assert api.http.delete(f"/files/{uploaded['id']}").status_code == 204
    assert api.http.get(uploaded["uri"]).status_code == 404
    assert not bytes_exist(api, uploaded["id"])
    assert api.http.delete(f"/files/{uploaded['id']}").status_code == 204
    # a deleted file is no input any more
    refused = api.run({"prompt": "x", "images": [uploaded["uri"]]})
    assert refused.status_code == 404 and refused.json()["error"]["param"] == "images"


def test_a_deleted_task_with_a_pending_webhook_stays_as_a_tombstone(api: Api) -> None:
    store = api.worker.store
    task = store.create_task(
        owner="o", app="brushwork/studio", input={"prompt": "x"}, file_ids={}, webhook="http://h/"
    )
    from brushwork.contract import TaskStatus

    store.update(task["id"], status=TaskStatus.CANCELLED)
    assert store.delete_task(task["id"], "o") == []
    assert store.get_task(task["id"], "o") is None  # gone for the API …
    row = store.get_task(task["id"])
    assert row is not None and row["deleted_at"] is not None  # … kept for the delivery
    assert row["webhook"] == "http://h/" and row["webhook_state"] is not None
    done = store.create_task(owner="o", app="brushwork/studio", input={"prompt": "x"}, file_ids={})
    store.update(done["id"], status=TaskStatus.CANCELLED)
    store.delete_task(done["id"], "o")
    assert store.get_task(done["id"]) is None  # no webhook waits for it: no tombstone


def test_the_sdk_deletes(api: Api) -> None:
    import httpx

    from brushwork.client._sync import Client

    def forward(request: httpx.Request) -> httpx.Response:  # the SDK's requests, in-process
        answer = api.http.request(
            request.method, request.url.path, content=request.content, headers=request.headers
        )
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    task = api.complete({"prompt": "a cup", "quality": "low"})
    uploaded = upload(api.http).json()
    transport = httpx.MockTransport(forward)
    with Client(base_url="http://testserver", api_key=api.key, transport=transport) as c:
        c.tasks.delete(task["id"])
        c.files.delete(uploaded["uri"])
        c.files.delete(uploaded["id"])  # again: still fine
    assert api.http.get(f"/tasks/{task['id']}").status_code == 404
    assert api.http.get(uploaded["uri"]).status_code == 404


def test_the_per_key_quota_refuses_before_writing(settings: Settings) -> None:
    settings = settings.model_copy(update={"max_bytes_per_key": 40_000})
    app = create_app(settings)
    store = app.state.services.store
    with TestClient(app, headers={"Authorization": f"Bearer {store.create_key('q')}"}) as http:
        first = upload(http, noise_png(64, 1))
        assert first.status_code == 201
        stored = store.bytes_of(store.owner_of_key(http.headers["Authorization"][7:]))
        refused = [upload(http, noise_png(64, i)) for i in range(2, 6)]
        assert any(r.status_code == 507 for r in refused)
        for r in refused:
            assert r.status_code in (201, 507)
            if r.status_code == 507:
                error = r.json()["error"]
                assert error["code"] == "storage_full" and "quota" in error["message"]
        assert store.bytes_of(store.owner_of_key(http.headers["Authorization"][7:])) <= 40_000
        assert stored > 0
        other = TestClient(app, headers={"Authorization": f"Bearer {store.create_key('o')}"})
        assert upload(other, noise_png(64, 9)).status_code == 201  # per key, not global
        for r in [first, *refused]:
            if r.status_code == 201:
                assert http.delete(f"/files/{r.json()['id']}").status_code == 204
        assert upload(http, noise_png(64, 10)).status_code == 201  # room again


def test_retention_deletes_old_files_and_they_answer_410(api: Api) -> None:
    store, files = api.worker.store, api.worker.files
    task = api.complete({"prompt": "a red apple", "quality": "low"})
    uploaded = upload(api.http).json()
    now = time.time()
    assert sweep(store, files, 30, now=now) == 0  # nothing is old yet
    assert sweep(store, files, 0, now=now + 400 * DAY) == 0  # 0 keeps forever
    assert sweep(store, files, 30, now=now + 31 * DAY) >= 2
    image = task["output"]["images"][0]["uri"]
    for uri in (image, uploaded["uri"]):
        gone = api.http.get(uri)
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "expired"
        assert not bytes_exist(api, file_id(uri))
    assert api.http.get(f"/tasks/{task['id']}").json()["status"] == 9  # the task stays
    refused = api.run({"prompt": "x", "images": [uploaded["uri"]]})
    assert refused.status_code == 410 and refused.json()["error"]["param"] == "images"


def test_one_sweeper_at_a_time(api: Api) -> None:
    store, files = api.worker.store, api.worker.files
    upload(api.http)  # something due when every second counts as a day
    now = time.time() + 1000  # past the lease this app's own sweeper took when it started
    assert store.take_lease("retention", "server-a", 60, now=now)
    assert not store.take_lease("retention", "server-b", 60, now=now + 1)
    assert sweep(store, files, 1 / DAY, now=now + 1, holder="server-b") == 0  # not its turn
    assert store.take_lease("retention", "server-a", 60, now=now + 2)  # the holder renews
    assert sweep(store, files, 1 / DAY, now=now + 3, holder="server-a") == 1
    assert store.take_lease("retention", "server-b", 60, now=now + 200)  # expired: taken over


def test_metrics_show_stored_bytes_and_files(api: Api) -> None:
    upload(api.http)
    text = api.http.get("/metrics").text
    backend = api.worker.files.backend
    assert f'brushwork_stored_files{{backend="{backend}"}} 1' in text
    assert f'brushwork_stored_bytes{{backend="{backend}"}} ' in text


def test_a_full_bucket_is_507_and_health_recovers(api: Api) -> None:
    files = api.http.app.state.services.files  # type: ignore[attr-defined]
    if files.backend != "s3":
        pytest.skip("the local disk is filled for real in tests/e2e/test_storage.py")
    from botocore.exceptions import ClientError

    def quota_exceeded(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "QuotaExceeded", "Message": "bucket quota"}}, "PutObject"
        )

    files.s3.meta.events.register("before-call.s3.PutObject", quota_exceeded)
    try:
        refused = upload(api.http)
        assert refused.status_code == 507
        assert refused.json()["error"]["code"] == "storage_full"
        health = api.http.get("/health")
        assert health.status_code == 503 and health.json()["storage"] == "full"
    finally:
        files.s3.meta.events.unregister("before-call.s3.PutObject", quota_exceeded)
    assert files.check().clean  # nothing half-written
    assert upload(api.http).status_code == 201
    assert api.http.get("/health").json()["storage"] == "ok"


def test_what_counts_as_storage_full() -> None:
    import errno

    from sqlalchemy.exc import OperationalError

    assert is_storage_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_storage_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_storage_full(StorageFull("x"))
    full = sqlite3.OperationalError("database or disk is full")
    assert is_storage_full(OperationalError("INSERT …", {}, full))
    wrapped = RuntimeError("upload failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_storage_full(wrapped)
    assert not is_storage_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_storage_full(sqlite3.OperationalError("database is locked"))


def test_files_check_finds_orphans_partials_and_missing(api: Api) -> None:
    files = api.worker.files
    kept = upload(api.http).json()
    lost = upload(api.http).json()
    files._write("f" * 32, b"orphan", "image/png")  # bytes no record owns
    files.delete([lost["id"]])  # a record whose bytes are gone
    if files.backend == "local":
        (files.root / "ff" / ".tmp-partial").write_bytes(b"half")
    found = files.check()
    assert found.orphans == ["f" * 32] and found.missing == [lost["id"]]
    assert found.partial == (["ff/.tmp-partial"] if files.backend == "local" else [])
    files.check(repair=True)
    assert files.check().clean
    assert api.http.get(lost["uri"]).status_code == 410
    assert api.http.get(kept["uri"]).status_code == 200


def test_data_written_by_the_first_schema_opens_unchanged(tmp_path: Path) -> None:
    """A store made by revision 0001 (the previous release) upgrades in place, rows intact,
    and the upgraded schema is exactly what the code declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from brushwork.tasks.store import Store
    from brushwork.tasks.store.tables import metadata

    url = store_written_by(
        tmp_path / "old.db",
        "0001",
        "INSERT INTO files (id, owner, filename, content_type, size, created_at) "
        "VALUES ('a1', 'o', 'x.png', 'image/png', 3, 1.0)",
        "INSERT INTO tasks (id, owner, app, status, input, files, logs, progress, "
        "attempts, options, webhook_attempts, created_at, updated_at) VALUES "
        "('t1', 'o', 'brushwork/studio', 9, '{\"prompt\": \"x\"}', '{}', 'done', 100, 1, "
        "'{}', '[]', 1.0, 2.0)",
    )
    store = Store(url)
    record = store.get_file("a1")
    assert record is not None and (record.size, record.expired_at) == (3, None)
    task = store.get_task("t1", "o")
    assert task is not None and task["status"] == 9 and task["input"] == {"prompt": "x"}
    assert store.bytes_of("o") == 3
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_a_task_taken_while_the_store_is_full_fails_once_it_can_be_written(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    worker = api.worker
    task_id = api.run({"prompt": "x", "quality": "low"}).json()["id"]
    real_update = worker.store.update

    def full(*args: Any, **kwargs: Any) -> bool:
        raise OperationalError("UPDATE tasks", {}, sqlite3.OperationalError("disk is full"))

    monkeypatch.setattr(worker.store, "update", full)
    with pytest.raises(OperationalError):
        worker._take_one()
    assert worker._unrecorded == [task_id]
    monkeypatch.setattr(worker.store, "update", real_update)
    worker._record_unrecorded()
    task = api.http.get(f"/tasks/{task_id}").json()
    assert task["status"] == 10 and task["error"]["code"] == "storage_full"
    assert worker._unrecorded == []


def test_the_worker_backs_off_on_a_full_disk_and_keeps_running(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import threading

    worker = api.worker
    calls = []

    def full() -> None:
        calls.append(time.monotonic())
        if len(calls) >= 3:
            worker.stopping = True
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(worker, "_take_one", full)
    runner = threading.Thread(target=worker._loop, args=(None,))
    runner.start()
    runner.join(20)
    assert not runner.is_alive() and len(calls) == 3  # no exit on the fault: it kept trying
    assert calls[2] - calls[1] > calls[1] - calls[0] > 0.2  # backing off

    def broken() -> None:
        raise RuntimeError("a real bug")

    monkeypatch.setattr(worker, "_take_one", broken)
    worker.stopping = False
    with pytest.raises(RuntimeError):  # anything else still ends the worker (the pool restarts)
        worker._loop(None)


def test_db_backup_copies_the_store_while_it_is_open(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from brushwork.cli.main import app
    from brushwork.tasks.store import Store

    data = tmp_path / "data"
    store = Store(Settings(data_dir=data).database)  # open, as a running server holds it
    store.create_key("k")
    target = tmp_path / "backup.db"
    result = CliRunner().invoke(app, ["db", "backup", str(target), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    copy = Store(f"sqlite:///{target}")
    assert copy.count_keys() == 1
    again = CliRunner().invoke(app, ["db", "backup", str(target), "--data-dir", str(data)])
    assert again.exit_code == 2 and "exists" in again.output  # never overwrites
