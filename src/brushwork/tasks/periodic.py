"""A background job of an API process that runs every few seconds until it is stopped (the
reaper, the retention sweep); a failed pass is logged and the next one tries again."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("brushwork.periodic")


class Periodic:
    name = "periodic"

    def __init__(self, every: float, *, at_start: bool = False):
        self.every, self.at_start = every, at_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name=self.name)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        if self.at_start:
            self._pass()
        while not self._stop.wait(self.every):
            self._pass()

    def _pass(self) -> None:
        try:
            self.run_once()
        except Exception:
            log.exception("%s pass failed; trying again in %g s", self.name, self.every)
