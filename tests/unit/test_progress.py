"""The worker's progress callback (issue 17): progress and log lines are coalesced so a fast
picture costs its status changes only, while slow work and previews still report at once."""

from __future__ import annotations

from typing import Any

import pytest

from brushwork.engines.base import TaskCancelled
from brushwork.tasks import worker
from brushwork.tasks.worker import TaskProgress


class Store:
    def __init__(self) -> None:
        self.writes: list[dict[str, Any]] = []
        self.cancelled = False

    def update(self, task_id: str, **values: Any) -> bool:
        self.writes.append(values)
        return not self.cancelled

    def status_of(self, task_id: str) -> None:
        return None


def test_quick_stages_are_held_for_the_next_write_and_lose_no_line() -> None:
    store = Store()
    progress = TaskProgress(store, "t")  # type: ignore[arg-type]
    for fraction, message in ((0.2, "laid out"), (0.4, "painted"), (1.0, "done")):
        progress(fraction, message)
    assert store.writes == []
    assert progress.pending() == "laid out\npainted\ndone\n"
    assert progress.pending() is None  # taken once


def test_slow_work_and_previews_are_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])
    store = Store()
    saved: list[int] = []

    def save(image: Any, k: int) -> dict[str, Any]:
        saved.append(k)
        return {"uri": f"p{k}"}

    progress = TaskProgress(store, "t", previews=1, save_preview=save)  # type: ignore[arg-type]
    progress(0.1, "step 1")
    assert store.writes == []
    clock[0] += worker.PROGRESS_EVERY_SECONDS
    progress(0.2, "step 2")
    assert [w["log"] for w in store.writes] == ["step 1\nstep 2\n"]
    assert store.writes[0]["progress"] == 5 + round(90 * 0.2)
    progress(0.3, None, preview=object())  # type: ignore[arg-type]
    assert saved == [0] and store.writes[-1]["preview"] == {"uri": "p0", "partial_image_index": 0}
    store.cancelled = True
    clock[0] += worker.PROGRESS_EVERY_SECONDS
    with pytest.raises(TaskCancelled):
        progress(0.9, "late")
