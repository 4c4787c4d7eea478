"""How a long job shows its stages: a live line per stage for a person (rich, on stderr), or one JSON
object per line on stdout for a scheduler's log (``--json-log``)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.console import Console

__all__ = ["JobLog"]


class JobLog:
    """Stage progress and the job's outcome, for a person or as JSON lines."""

    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines
        self._console = Console(stderr=True, highlight=False)

    def event(self, event: str, **fields) -> None:
        """One JSON line (``--json-log`` only): ``{"at", "event", ...fields}``."""
        if self.json_lines:
            record = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
            sys.stdout.write(json.dumps(record, default=str) + "\n")
            sys.stdout.flush()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Wrap one named step: a spinner while it runs and its time when done, or start and end events."""
        started = time.perf_counter()
        self.event("stage_started", stage=name)
        try:
            if self.json_lines or not self._console.is_terminal:
                yield
            else:
                with self._console.status(f"{name}…"):
                    yield
        except BaseException:
            self.event("stage_failed", stage=name, seconds=round(time.perf_counter() - started, 3))
            raise
        seconds = round(time.perf_counter() - started, 3)
        self.event("stage_finished", stage=name, seconds=seconds)
        if not self.json_lines:
            self._console.print(f"[green]✓[/green] {name} ({seconds:.1f} s)")

    def done(self, line: str, **fields) -> None:
        """The job's outcome: the line for a person, or a ``result`` event with ``fields``."""
        if self.json_lines:
            self.event("result", **fields)
        else:
            print(line)
