"""Engines for tests, loaded through BRUSHWORK_PLUGINS like any operator plugin.

``SlowEngine`` takes a predictable while and reports every step, so cancel,
progress and stream tests have something running to observe. ``BrokenEngine``
fails, so the failure path is exercised. Both are real engines, not mocks.
"""

from __future__ import annotations

import os
import time

from PIL import Image

from brushwork.engines.base import Cancelled, Capabilities, Progress, Request


class SlowEngine:
    name = "slow"
    steps = 40
    step_seconds = 0.05

    def unavailable_reason(self) -> str | None:
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities()

    def load(self) -> None:
        return None

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        for step in range(self.steps):
            time.sleep(self.step_seconds)
            progress((step + 1) / self.steps, f"step {step + 1} of {self.steps}")
        return [Image.new("RGB", request.size, (10 * i, 100, 200)) for i in range(request.n)]


class BrokenEngine(SlowEngine):
    name = "broken"

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        raise RuntimeError("this engine always breaks")


class CrashingEngine(SlowEngine):
    """Takes its whole worker process down, as a segfaulting native library would."""

    name = "crashing"

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        progress(0.5, "about to crash")
        os._exit(3)


class StuckEngine(SlowEngine):
    """Never reports progress and never returns in time: only the backstop can stop it."""

    name = "stuck"

    def run(self, request: Request, progress: Progress, cancelled: Cancelled) -> list[Image.Image]:
        time.sleep(120)
        return []


class UnavailableEngine(SlowEngine):
    name = "unavailable"

    def unavailable_reason(self) -> str | None:
        return "needs a GPU that this machine does not have"
