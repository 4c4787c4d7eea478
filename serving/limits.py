"""What one request may ask of the service, so that no request makes it work for minutes or
exhaust its memory; each refusal is a 422 with its own code and the limit in the message. (The
body size and the number of requests at once are capped before any endpoint: ``middleware``.)"""

from __future__ import annotations

from dataclasses import dataclass

from capcast.settings import Settings
from planning import Site
from serving.errors import ApiError

__all__ = ["DEFAULT_LIMITS", "RequestLimits"]


@dataclass(frozen=True)
class RequestLimits:
    series: int = 5000
    future_rows: int = 500_000
    history_rows: int = 500_000
    plan_line_shifts: int = 20_000
    recommend_time_limit_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        return cls(
            series=settings.max_series_per_request,
            future_rows=settings.max_future_rows,
            history_rows=settings.max_history_rows,
            plan_line_shifts=settings.max_plan_line_shifts,
            recommend_time_limit_s=settings.max_recommend_time_limit_s,
        )

    def check_forecast(self, series: int, future_rows: int = 0, history_rows: int = 0) -> None:
        if series > self.series:
            raise ApiError(
                422, "too_many_series", f"{series} series asked for; at most {self.series} per request", "unique_ids"
            )
        self.check_rows(future_rows, history_rows)

    def check_rows(self, future_rows: int = 0, history_rows: int = 0) -> None:
        if future_rows > self.future_rows:
            message = f"{future_rows} future rows sent; at most {self.future_rows} per request"
            raise ApiError(422, "too_many_future_rows", message, "future")
        if history_rows > self.history_rows:
            message = f"{history_rows} history rows sent; at most {self.history_rows} per request"
            raise ApiError(422, "too_many_history_rows", message, "history")

    def check_plan(self, site: Site, days: int) -> None:
        """A plan of ``site`` over ``days`` days is not larger than the limit."""
        size = len(site.lines) * len(site.shifts) * days
        if size > self.plan_line_shifts:
            message = (
                f"a plan of {len(site.lines)} lines x {len(site.shifts)} shifts x {days} days is {size} line-shifts; "
                f"at most {self.plan_line_shifts}"
            )
            raise ApiError(422, "plan_too_large", message, "site")

    def check_recommend_time(self, time_limit_s: float | None) -> None:
        if time_limit_s is not None and time_limit_s > self.recommend_time_limit_s:
            message = (
                f"time_limit_s {time_limit_s:g} is above the {self.recommend_time_limit_s:g} s a caller may wait; "
                "start a plan job (POST /plans) for a longer solve"
            )
            raise ApiError(422, "time_limit_too_long", message, "time_limit_s")


DEFAULT_LIMITS = RequestLimits()
