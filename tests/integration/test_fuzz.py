"""Schemathesis over the whole OpenAPI, in-process: no 5xx, every response as documented."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from brushwork.server import create_app
from brushwork.settings import Settings
from brushwork.tasks.worker import Worker
from tests.conftest import PLUGINS

DATA = Path(tempfile.mkdtemp(prefix="brushwork-fuzz-"))
CASES_RUN = Path(__file__).resolve().parent.parent.parent / "out" / "fuzz-cases.txt"
calls = {"n": 0}
APP = create_app(
    Settings(data_dir=DATA, plugins=PLUGINS, rate_limit_per_minute=0, wait_timeout_seconds=30)
)
KEY = APP.state.services.store.create_key("fuzz")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def worker():
    """Run tasks beside the fuzzed server, so requests that wait for a result get one."""
    stop = threading.Event()
    runner = Worker(APP.state.services.settings)

    def loop() -> None:
        while not stop.is_set():
            task_id = runner.queue.take(0.05)
            if task_id is not None:
                runner.run_task(task_id)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)
    CASES_RUN.parent.mkdir(exist_ok=True)
    CASES_RUN.write_text(f"{calls['n']}\n")


# Business rules that JSON Schema cannot say (size ratio and area, a mask's size, an empty
# upload) make some schema-valid requests 4xx by design: that check is left out. Every
# other check runs: no 5xx, documented status codes, content types and response schemas.
# In multipart bodies every part is text, so "a number where a file should be" cannot be told
# from a file holding digits: the negative-data check is left out for the upload alone.
EXCLUDED = [checks.positive_data_acceptance]
MULTIPART = [*EXCLUDED, checks.negative_data_rejection]


@schema.parametrize()
# derandomize: the same cases every run, so CI cannot fail on a new random draw
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api(case: schemathesis.Case) -> None:
    calls["n"] += 1
    excluded = MULTIPART if case.path == "/files" and case.method == "POST" else EXCLUDED
    case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, excluded_checks=excluded)
