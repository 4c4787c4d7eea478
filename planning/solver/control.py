"""Watching and stopping a running solve: progress (elapsed time, the best plan's cost, the proven
bound) as CP-SAT finds plans and tightens its bound, and cancellation from any thread.

A plan job (``serving``) gives ``solve`` a ``SolveControl``; its ``on_progress`` is called from
the solver's threads, so it must be quick and thread-safe. ``cancel()`` stops the search at
once (CP-SAT's ``stop_search`` may be called from any thread); ``solve`` then raises
``SolveCancelled`` rather than return the plan it had so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ortools.sat.python import cp_model

__all__ = ["SolveCancelled", "SolveControl", "SolveProgress"]


class SolveCancelled(RuntimeError):
    """The solve was cancelled through its ``SolveControl`` before it returned a plan."""


@dataclass(frozen=True)
class SolveProgress:
    """Where a running solve stands.

    Attributes:
        elapsed_s: wall time since the search started.
        objective: cost of the best plan found so far (site currency); None before the first.
        best_bound: the best proven lower bound on any plan's cost; None before there is one.
        solutions: plans found so far (each cheaper than the one before).
    """

    elapsed_s: float
    objective: float | None
    best_bound: float | None
    solutions: int

    @property
    def gap(self) -> float | None:
        """Proven relative gap of the best plan so far; None until both figures exist."""
        if self.objective is None or self.best_bound is None or self.objective == 0:
            return None
        return max(0.0, (self.objective - self.best_bound) / abs(self.objective))


class SolveControl:
    """Progress out of a solve and a stop into it.

    Args:
        on_progress: called with a ``SolveProgress`` on every new plan and every better bound.
    """

    def __init__(self, on_progress: Callable[[SolveProgress], None] | None = None):
        self.on_progress = on_progress
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._objective: float | None = None
        self._bound: float | None = None
        self._solutions = 0

    def cancel(self) -> None:
        """Stop the solve as soon as possible; safe from any thread, and before the solve starts."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def progress(self) -> SolveProgress:
        with self._lock:
            return SolveProgress(
                round(time.monotonic() - self._started, 3), self._objective, self._bound, self._solutions
            )

    def started(self) -> None:
        """The search starts now (model building before it is not counted)."""
        with self._lock:
            self._started = time.monotonic()

    def found(self, objective: float, bound: float | None = None) -> None:
        """A plan of cost ``objective`` was found (with the bound proven at that moment)."""
        with self._lock:
            self._objective = objective if self._objective is None else min(self._objective, objective)
            self._solutions += 1
            if bound is not None:
                self._bound = bound if self._bound is None else max(self._bound, bound)
        self._report()

    def bounded(self, bound: float) -> None:
        """No plan costs less than ``bound``; reported only when it is better than the last."""
        with self._lock:
            if self._bound is not None and bound <= self._bound:
                return
            self._bound = bound
        self._report()

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())

    @contextmanager
    def watching(self, solver: cp_model.CpSolver, money_scale: int) -> Iterator[cp_model.CpSolverSolutionCallback]:
        """While the block runs: a solution callback to pass to ``solver.solve``, bound updates
        from ``solver``, and a watcher that stops ``solver`` when the control is cancelled."""
        solver.best_bound_callback = lambda bound: self.bounded(bound / money_scale)
        done = threading.Event()

        def stop_on_cancel() -> None:
            while not done.is_set():
                if self._cancelled.wait(0.1):
                    solver.stop_search()
                    return

        watcher = threading.Thread(target=stop_on_cancel, daemon=True)
        watcher.start()
        try:
            yield _Solutions(self, money_scale)
        finally:
            done.set()
            watcher.join()


class _Solutions(cp_model.CpSolverSolutionCallback):
    def __init__(self, control: SolveControl, money_scale: int):
        super().__init__()
        self._control = control
        self._scale = money_scale

    def on_solution_callback(self) -> None:
        self._control.found(self.objective_value / self._scale, self.best_objective_bound / self._scale)
