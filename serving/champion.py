"""The served version behind ``name@alias``, swapped for a newer one without downtime.

A check (every ``model_poll_s`` seconds, or ``POST /admin/reload``) looks up the alias; when it
names another version, that version is loaded beside the one serving, its baseline forecast of
every series computed and checked (the smoke test), and only then swapped in, by one reference
assignment: a request in flight finishes on the version it started with, the next one gets the
new version. When the lookup, the load or the smoke test fails, the serving version stays, and
the failure is logged and counted on ``/metrics``. The retired version's scenario batcher is
stopped once no request can still be using it.

Each worker process serves its own copy. ``POST /admin/reload`` reaches one of them: it checks at
once and touches the reload file (``request_reload``), which every worker watches each second, so
the others check within a second too.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from prometheus_client import Counter, Gauge

from serving.model_store import ServedModel

__all__ = ["Champion", "ReloadOutcome", "freeze_loaded_objects"]

_log = logging.getLogger(__name__)

RELOADS = Counter("capcast_model_reloads", "Checks that found a new version behind the alias, by outcome", ["outcome"])
SERVED_VERSION = Gauge("capcast_model_version", "The registry version this worker serves", multiprocess_mode="liveall")
# Longer than any request may take (BentoML's traffic timeout): after it, nothing uses a retired version.
RETIRE_AFTER_S = 400.0
# How often a worker looks at the reload file.
WATCH_S = 1.0

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
    reload_file: touched to ask every worker to check (``request_reload``); None for one process.
    """

    def __init__(
        self,
        model: ServedModel,
        lookup: Callable[[], str],
        load: Load,
        on_swap: Callable[[ServedModel], None] = lambda model: None,
        reload_file: Path | None = None,
    ):
        self.model = model
        self._lookup, self._load, self._on_swap = lookup, load, on_swap
        self._reload_file = reload_file
        self._reload_seen = _modified(reload_file)
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
            freeze_loaded_objects()
            SERVED_VERSION.set(_number(new.info.version))
            RELOADS.labels("swapped").inc()
            _log.info("now serving version %s (was %s)", new.info.version, old.info.version)
            timer = threading.Timer(RETIRE_AFTER_S, _retire, args=([old],))
            timer.daemon = True
            timer.start()
            return ReloadOutcome(new.info.version, candidate, swapped=True)

    def request_reload(self) -> ReloadOutcome:
        """Check now, and ask the other workers to (through the reload file)."""
        if self._reload_file is not None:
            self._reload_file.parent.mkdir(parents=True, exist_ok=True)
            self._reload_file.touch()
            self._reload_seen = _modified(self._reload_file)
        return self.check()

    def start_polling(self, every_s: float) -> None:
        """Check every ``every_s`` seconds (never when 0), and whenever the reload file is touched,
        in a thread of its own."""
        if (every_s <= 0 and self._reload_file is None) or self._poller is not None:
            return
        self._poller = threading.Thread(target=self._poll, args=(every_s,), name="champion-poll", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join()

    def _poll(self, every_s: float) -> None:
        last_check = time.monotonic()
        while not self._stop.wait(min(every_s, WATCH_S) if every_s > 0 else WATCH_S):
            requested = _modified(self._reload_file)
            due = every_s > 0 and time.monotonic() - last_check >= every_s
            if requested == self._reload_seen and not due:
                continue
            self._reload_seen, last_check = requested, time.monotonic()
            try:
                self.check()
            except Exception:  # a check must never end the polling
                _log.exception("the check for a new model version failed")

    def _failed(self, serving: str, candidate: str | None, message: str) -> ReloadOutcome:
        _log.error("still serving version %s: %s", serving, message)
        RELOADS.labels("failed").inc()
        return ReloadOutcome(serving, candidate, swapped=False, error=message)


def _retire(holder: list[ServedModel]) -> None:
    """Close a version no request uses any more and let the collector free what it held (it was
    frozen with the rest): unfreeze, collect, freeze what is loaded now."""
    holder.pop().close()
    gc.unfreeze()
    freeze_loaded_objects()


def freeze_loaded_objects() -> None:
    """Keep what is loaded now (a model version, its baseline JSON) out of the garbage collector's
    full passes: traversing them stalled every request in flight for about 330 ms a few times a
    second under load. A retired version is freed by reference counting all the same."""
    gc.collect()
    gc.freeze()


def _smoke_test(model: ServedModel) -> None:
    """The new version's forecast of every series (computed as it loaded) is there and sane."""
    frame = model.baseline.frame
    values = frame[["mean", *[c for c in frame.columns if c.startswith("q")]]].to_numpy(dtype=float)
    if len(frame) == 0 or not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("its baseline forecast has missing, infinite or negative values")


def _modified(path: Path | None) -> int | None:
    try:
        return None if path is None else path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _number(version: str) -> float:
    return float(version) if version.isdigit() else float("nan")
