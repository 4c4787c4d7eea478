"""Forecasts of requests that bring their own known-future values (``future`` rows): they go
through the model, and requests that arrive together share one model call (``batching``).

The work of a batch is done once for all its requests in the batcher's thread: one frame of
their rows, one check, one model call, one JSON writing; each request then takes its series'
pieces. When the batch is refused (a request's values do not fit), each request is done alone,
so that the refusal reaches only the request that caused it, naming its own row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from serving.batching import MicroBatcher
from serving.errors import ApiError
from serving.future_input import future_frame
from serving.responses import SeriesJson, series_json
from serving.schemas import FutureValues

if TYPE_CHECKING:
    from serving.model_store import ServedModel

__all__ = ["Scenario", "ScenarioForecasts"]

# The most series one batched model call forecasts: one full request's worth.
BATCH_SERIES = 5000


@dataclass(frozen=True)
class Scenario:
    """One request: its series (known to the model, each once), horizon and known-future rows."""

    ids: list[str]
    horizon: int
    rows: Sequence[FutureValues]


class ScenarioForecasts:
    def __init__(self, model: ServedModel):
        self._model = model
        # A hierarchy's forecast reads every bottom series' values, those a request leaves out at their
        # baseline: another request's rows in the same call would change its aggregates. One call each.
        joins = _never_joins if model.levels else _joins_batch
        self._batcher: MicroBatcher[Scenario, list[bytes]] = MicroBatcher(
            self._answer, joins, name=f"scenarios-v{model.info.version}"
        )

    async def forecast(self, ids: list[str], horizon: int, rows: Sequence[FutureValues]) -> list[bytes]:
        """The API's JSON of each requested series' forecast, sorted by series; 4xx ``ApiError``
        when the rows do not fit."""
        return await self._batcher.submit(Scenario(list(dict.fromkeys(ids)), horizon, rows))

    @property
    def batches(self) -> int:
        return self._batcher.batches

    def stop(self) -> None:
        self._batcher.stop()

    def _answer(self, batch: list[Scenario]) -> list[list[bytes] | Exception]:
        try:
            pieces = self._pieces(batch)
        except ApiError:
            if len(batch) == 1:
                raise
            return [self._alone(scenario) for scenario in batch]
        return [[pieces[i].first(s.horizon) for i in sorted(s.ids)] for s in batch]

    def _alone(self, scenario: Scenario) -> list[bytes] | Exception:
        try:
            return self._answer([scenario])[0]
        except ApiError as error:
            return error

    def _pieces(self, batch: list[Scenario]) -> dict[str, SeriesJson]:
        ids = [i for s in batch for i in s.ids]
        future = future_frame([row for s in batch for row in s.rows])
        frame = self._model.predict(ids, batch[0].horizon, future, requested=True)
        return series_json(frame, self._model.cold_start_ids)


def _never_joins(batch: list[Scenario], candidate: Scenario) -> bool:
    return False


def _joins_batch(batch: list[Scenario], candidate: Scenario) -> bool:
    """Same horizon, no series already in the batch (its values would clash), and the batch stays
    within one full request's series."""
    if candidate.horizon != batch[0].horizon:
        return False
    taken = {i for s in batch for i in s.ids}
    return len(taken) + len(candidate.ids) <= BATCH_SERIES and taken.isdisjoint(candidate.ids)
