"""The served version behind ``name@alias``, swapped for a newer one without downtime.

A check (every ``model_poll_s`` seconds, or ``POST /admin/reload``) looks up the alias; when it
names another version, that version is loaded beside the one serving, its baseline forecast of
every series computed and checked (the smoke test), and only then swapped in, by one reference
assignment: a request in flight finishes on the version it started with, the next one gets the
new version. When the lookup, the load or the smoke test fails, the serving version stays, and
the failure is logged and counted on ``/metrics``. The retired version's scenario batcher is
stopped once no request can still be using it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from prometheus_client import Counter, Gauge

from serving.model_store import ServedModel

__all__ = ["Champion", "ReloadOutcome"]

_log = logging.getLogger(__name__)

RELOADS = Counter("capcast_model_reloads", "Checks that found a new version behind the alias, by outcome", ["outcome"])
SERVED_VERSION = Gauge("capcast_model_version", "The registry version this worker serves", multiprocess_mode="liveall")
# Longer than any request may take (BentoML's traffic timeout): after it, nothing uses a retired version.
RETIRE_AFTER_S = 400.0

Load = Callable[[], ServedModel]


@dataclass(frozen=True)
class ReloadOutcome:
    serving: str  # the version serving after the check
    candidate: str | None  # the version the alias named, when it could be looked up
    swapped: bool
    error: str | None = None


class Champion:
    """Args:
    model: the version serving now.
    lookup: the version number the alias names now (raises when the registry cannot say).
    load: loads the version the alias names (raises when it cannot).
    on_swap: told of each new version once it serves (the planner plans with it).
    """

    def __init__(
        self,
        model: ServedModel,
        lookup: Callable[[], str],
        load: Load,
        on_swap: Callable[[ServedModel], None] = lambda model: None,
    ):
        self.model = model
        self._lookup, self._load, self._on_swap = lookup, load, on_swap
        self._checking = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        SERVED_VERSION.set(_number(model.info.version))

    def check(self) -> ReloadOutcome:
        """Swap in the version the alias names if it is not the one serving (one check at a time)."""
        with self._checking:
            serving = self.model.info.version
            try:
                candidate = str(self._lookup())
            except Exception as error:
                return self._failed(serving, None, f"cannot look up the alias: {error}")
            if candidate == serving:
                return ReloadOutcome(serving, candidate, swapped=False)
            try:
                new = self._load()
                _smoke_test(new)
            except Exception as error:
                return self._failed(serving, candidate, f"version {candidate} did not load: {error}")
            old, self.model = self.model, new
            self._on_swap(new)
            SERVED_VERSION.set(_number(new.info.version))
            RELOADS.labels("swapped").inc()
            _log.info("now serving version %s (was %s)", new.info.version, old.info.version)
            timer = threading.Timer(RETIRE_AFTER_S, old.close)
            timer.daemon = True
            timer.start()
            return ReloadOutcome(new.info.version, candidate, swapped=True)

    def start_polling(self, every_s: float) -> None:
        """Check every ``every_s`` seconds in a thread of its own (not at all when 0)."""
        if every_s <= 0 or self._poller is not None:
            return
        self._poller = threading.Thread(target=self._poll, args=(every_s,), name="champion-poll", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join()

    def _poll(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.check()
            except Exception:  # a check must never end the polling
                _log.exception("the check for a new model version failed")

    def _failed(self, serving: str, candidate: str | None, message: str) -> ReloadOutcome:
        _log.error("still serving version %s: %s", serving, message)
        RELOADS.labels("failed").inc()
        return ReloadOutcome(serving, candidate, swapped=False, error=message)


def _smoke_test(model: ServedModel) -> None:
    """The new version's forecast of every series (computed as it loaded) is there and sane."""
    frame = model.baseline.frame
    values = frame[["mean", *[c for c in frame.columns if c.startswith("q")]]].to_numpy(dtype=float)
    if len(frame) == 0 or not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("its baseline forecast has missing, infinite or negative values")


def _number(version: str) -> float:
    return float(version) if version.isdigit() else float("nan")
