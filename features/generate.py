"""Seeded generator of a realistic sample history and a matching production site.

The history is a long panel (``unique_id, ds, y`` plus ``item_id, store_id,
family, price, promo, in_stock``) of daily unit sales with weekly and yearly
seasonality, per-series trend, price promotions that lift demand through a
price elasticity, holidays (collapse on the day, stock-up the day before), a
share of intermittent slow movers, new items launched late in the history
(short series) and stockout episodes in which sales are censored to zero
(``in_stock`` = 0). The site is sized from the generated demand so that the
default plan is neither trivially easy nor infeasible.

``generate_hourly_panel`` makes the other shape capcast forecasts: hourly
workload per site (intra-day and weekly cycles, holidays).

Everything is a pure function of ``(config, seed)``: the same seed gives
byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from features.calendar import is_holiday, is_pre_holiday

__all__ = [
    "SampleConfig",
    "generate_hourly_panel",
    "generate_panel",
    "generate_site",
    "write_hourly_sample",
    "write_sample",
]

PANEL_FILE = "sales.csv"
SITE_FILE = "site.yaml"


@dataclass(frozen=True)
class SampleConfig:
    """Size and shape of the sample history.

    Args:
        products: number of products (items); each belongs to one family.
        locations: number of stores selling every product.
        days: length of the daily history.
        families: number of product families (what the production lines make).
        start: first day of the history (ISO date).
        slow_mover_share: share of products with intermittent demand.
        new_item_share: share of products launched in the last quarter of the
            history (at least ``min_new_item_days`` before its end).
        min_new_item_days: shortest history of a new item.
        stockouts_per_year: mean number of stockout episodes (2-7 days, sales
            censored to zero) per series and year.
    """

    products: int = 40
    locations: int = 5
    days: int = 1096
    families: int = 5
    start: str = "2023-01-01"
    slow_mover_share: float = 0.2
    new_item_share: float = 0.1
    min_new_item_days: int = 14
    stockouts_per_year: float = 2.0


def _weekly_profile(rng: np.random.Generator) -> np.ndarray:
    # Mon..Sun; weekend peak typical of retail, perturbed per family.
    base = np.array([0.85, 0.8, 0.85, 0.95, 1.15, 1.35, 1.05])
    return base * rng.uniform(0.9, 1.1, size=7)


def _promotions(rng: np.random.Generator, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Promo flag and discount per day for one product (episodes of 7–14 days)."""
    promo = np.zeros(days, dtype=np.int8)
    discount = np.zeros(days)
    day = int(rng.integers(0, 30))
    while day < days:
        length = int(rng.integers(7, 15))
        promo[day : day + length] = 1
        discount[day : day + length] = rng.uniform(0.1, 0.3)
        day += length + int(rng.integers(30, 90))
    return promo, discount


def _in_stock(rng: np.random.Generator, days: int, per_year: float) -> np.ndarray:
    """1 on days the item was on the shelf, 0 during stockout episodes of 2-7 days."""
    available = np.ones(days, dtype=np.int8)
    for _ in range(rng.poisson(per_year * days / 365.25)):
        start = int(rng.integers(0, days))
        available[start : start + int(rng.integers(2, 8))] = 0
    return available


def generate_panel(config: SampleConfig = SampleConfig(), seed: int = 0) -> pd.DataFrame:
    """Daily unit sales for ``products × locations`` series.

    Returns:
        Long panel sorted by ``unique_id, ds`` with columns ``unique_id, ds, y,
        item_id, store_id, family, price, promo, in_stock``; ``y`` is a
        non-negative whole number of units (0 while out of stock), ``price``
        the shelf price that day. New items' series start at their launch.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(config.start, periods=config.days, freq="D")
    t_years = np.arange(config.days) / 365.25
    day_of_year = dates.dayofyear.to_numpy()
    weekday = dates.weekday.to_numpy()
    calendar_effect = np.where(is_holiday(dates) == 1, 0.3, 1.0) * np.where(is_pre_holiday(dates) == 1, 1.5, 1.0)

    weekly = [_weekly_profile(rng) for _ in range(config.families)]
    store_scale = rng.lognormal(0.0, 0.3, size=config.locations)
    n_slow = round(config.slow_mover_share * config.products)
    slow = set(rng.choice(config.products, size=n_slow, replace=False).tolist())
    n_new = round(config.new_item_share * config.products)
    latest_launch = max(config.days - config.min_new_item_days, 0)
    launch = {
        int(product): int(rng.integers(min(int(0.75 * config.days), latest_launch), latest_launch + 1))
        for product in rng.choice(config.products, size=n_new, replace=False)
    }

    frames = []
    for product in range(config.products):
        family = product % config.families
        is_slow = product in slow
        base_rate = rng.uniform(0.1, 0.6) if is_slow else rng.lognormal(1.6, 0.7)
        base_price = round(float(rng.uniform(1.0, 20.0)), 2)
        elasticity = rng.uniform(1.5, 3.0)
        promo, discount = _promotions(rng, config.days)
        price = np.round(base_price * (1.0 - discount), 2)
        promo_lift = (1.0 - discount) ** (-elasticity)
        amplitude, phase = rng.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi)
        yearly = 1.0 + amplitude * np.sin(2 * np.pi * day_of_year / 365.25 + phase)
        dispersion = 1.0 if is_slow else 6.0
        for location in range(config.locations):
            growth = rng.uniform(-0.1, 0.25)
            mean = (
                base_rate
                * store_scale[location]
                * weekly[family][weekday]
                * yearly
                * (1.0 + growth) ** t_years
                * promo_lift
                * calendar_effect
            )
            # Gamma-Poisson: over-dispersed counts, intermittent when the mean is small.
            rate = mean * rng.gamma(dispersion, 1.0 / dispersion, size=config.days)
            in_stock = _in_stock(rng, config.days, config.stockouts_per_year)
            sales = rng.poisson(rate).astype(float) * in_stock
            item_id, store_id = f"P{product + 1:03d}", f"S{location + 1}"
            first = launch.get(product, 0)
            frames.append(
                pd.DataFrame(
                    {
                        "unique_id": f"{item_id}-{store_id}",
                        "ds": dates[first:],
                        "y": sales[first:],
                        "item_id": item_id,
                        "store_id": store_id,
                        "family": f"F{family + 1}",
                        "price": price[first:],
                        "promo": promo[first:],
                        "in_stock": in_stock[first:],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True).sort_values(["unique_id", "ds"], ignore_index=True)


def generate_hourly_panel(sites: int = 3, days: int = 182, start: str = "2024-01-01", seed: int = 0) -> pd.DataFrame:
    """Hourly workload (e.g. orders to pick, rentals) per site.

    Returns:
        Long hourly panel ``unique_id, ds, y, store_id, holiday`` sorted by ``unique_id, ds``:
        a morning and an afternoon peak on working days, one midday peak at weekends
        and on holidays, a slow trend and over-dispersed counts.
    """
    rng = np.random.default_rng(seed)
    hours = pd.date_range(start, periods=days * 24, freq="h")
    hour, weekday = hours.hour.to_numpy(), hours.weekday.to_numpy()
    holiday = is_holiday(hours.normalize()).astype(np.int8)
    working = (weekday < 5) & (holiday == 0)
    commute = np.exp(-0.5 * ((hour - 8) / 1.5) ** 2) + 1.2 * np.exp(-0.5 * ((hour - 17) / 2.0) ** 2)
    leisure = 1.3 * np.exp(-0.5 * ((hour - 14) / 3.0) ** 2)
    profile = 0.08 + np.where(working, commute, leisure)
    frames = []
    for site in range(sites):
        level = rng.lognormal(3.0, 0.5)
        trend = 1.0 + rng.uniform(-0.1, 0.3) * np.arange(len(hours)) / len(hours)
        rate = level * profile * trend * rng.gamma(8.0, 1.0 / 8.0, size=len(hours))
        store_id = f"S{site + 1}"
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": store_id,
                    "ds": hours,
                    "y": rng.poisson(rate).astype(float),
                    "store_id": store_id,
                    "holiday": holiday,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def generate_site(panel: pd.DataFrame, lines: int = 4, seed: int = 0) -> dict:
    """A production site sized to the panel's recent demand.

    Capacity at normal speed on every line and shift is about twice the
    average daily demand of the last 90 days; the labour pool staffs three
    quarters of all line-shifts, with 11 hours' rest between shifts; storage
    holds about three days of demand; backlog and lost sales are priced
    relative to the cost of making a unit.

    Returns:
        A plain dict in the ``site.yaml`` layout that ``planning.site.Site`` reads.
    """
    rng = np.random.default_rng(seed + 1)
    recent = panel[panel["ds"] > panel["ds"].max() - pd.Timedelta(days=90)]
    daily_by_family = recent.groupby(["family", "ds"])["y"].sum().groupby("family").mean()
    families = sorted(daily_by_family.index)
    total_daily = float(daily_by_family.sum())
    shifts = [
        {"name": "early", "hours": 8, "labour_cost_multiplier": 1.0, "starts_at": 6},
        {"name": "late", "hours": 8, "labour_cost_multiplier": 1.1},
        {"name": "night", "hours": 8, "labour_cost_multiplier": 1.3},
    ]
    shift_hours = sum(s["hours"] for s in shifts)
    normal_rate = max(1.0, 2.0 * total_daily / (lines * shift_hours))
    crew, labour_per_crew_hour, normal_energy = 4, 28.0, 25.0
    # Failing a customer must cost more than making the unit, or the cheapest plan makes nothing.
    unit_cost = (crew * labour_per_crew_hour + normal_energy) / normal_rate
    line_specs = []
    for index in range(lines):
        rate = normal_rate * rng.uniform(0.85, 1.15)
        eligible = [families[(index + k) % len(families)] for k in range(min(3, len(families)))]
        earliest = 2 + 5 * index
        line_specs.append(
            {
                "id": f"L{index + 1}",
                "crew_per_shift": crew,
                "families": sorted(eligible),
                "speed_levels": [
                    {"name": "slow", "units_per_hour": max(1, round(rate * 0.7)), "energy_cost_per_hour": 18.0},
                    {"name": "normal", "units_per_hour": max(1, round(rate)), "energy_cost_per_hour": normal_energy},
                    {"name": "fast", "units_per_hour": max(2, round(rate * 1.25)), "energy_cost_per_hour": 38.0},
                ],
                "maintenance": {"duration_shifts": 2, "earliest_day": earliest, "latest_day": earliest + 9},
            }
        )
    return {
        "name": "sample-site",
        "shifts": shifts,
        "lines": line_specs,
        "labour_pool_per_day": int(0.75 * lines * len(shifts) * crew),
        "min_rest_hours": 11,
        "max_lines_in_maintenance": 1,
        "storage_capacity": round(3 * total_daily),
        "costs": {
            "labour_per_crew_hour": labour_per_crew_hour,
            "holding_per_unit_day": round(0.01 * unit_cost, 4),
            "backlog_per_unit_day": round(0.5 * unit_cost, 4),
            "lost_sale_per_unit": round(3.0 * unit_cost, 4),
        },
        "initial_inventory": {family: round(float(daily_by_family[family])) for family in families},
    }


def _write_panel(panel: pd.DataFrame, path: Path, ds_format: str) -> None:
    """The panel as CSV in the contract's text form: whole units, ``ds`` in ``ds_format``."""
    panel.assign(ds=panel["ds"].dt.strftime(ds_format), y=panel["y"].astype(int)).to_csv(
        path, index=False, lineterminator="\n"
    )


# The sample's dataset.yaml (features.schema): its holidays are American, and each column's role is spelt out.
DATASET_FILE = "dataset.yaml"
_DAILY_DATASET = """\
# What each column of sales.csv is, and whose public holidays the calendar follows (features.schema).
holidays: {country: US}
columns:
  item_id: static
  store_id: static
  family: static
  price: known_future          # a blank is refused (no 'blank:'); 'blank: previous' would carry the last price
  promo: known_future
  in_stock: {role: observed_only, assume: 1}   # a stockout is known only afterwards; forecasts assume stock
hierarchy: [[family]]         # each family forecast too, and the total; the planner plans each family's own
reconcile: bottom_up          # families and total are the sums of their items' forecasts
"""
_HOURLY_DATASET = """\
# What each column of sales.csv is, and whose public holidays the calendar follows (features.schema).
holidays: {country: US}
columns:
  store_id: static
  holiday: known_future
"""


def write_sample(out_dir: Path, seed: int, config: SampleConfig = SampleConfig()) -> tuple[Path, Path]:
    """Write ``sales.csv`` and ``site.yaml`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    panel = generate_panel(config, seed)
    site = generate_site(panel, seed=seed)
    panel_path, site_path = out_dir / PANEL_FILE, out_dir / SITE_FILE
    _write_panel(panel, panel_path, "%Y-%m-%d")
    site_path.write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    (out_dir / DATASET_FILE).write_text(_DAILY_DATASET, encoding="utf-8")
    return panel_path, site_path


def write_hourly_sample(out_dir: Path, seed: int, sites: int = 3, days: int = 182) -> Path:
    """Write an hourly workload panel as ``sales.csv`` into ``out_dir``; returns its path.
    There is no site: capacity plans are made per day."""
    out_dir.mkdir(parents=True, exist_ok=True)
    panel = generate_hourly_panel(sites=sites, days=days, seed=seed)
    path = out_dir / PANEL_FILE
    _write_panel(panel, path, "%Y-%m-%d %H:%M")
    (out_dir / DATASET_FILE).write_text(_HOURLY_DATASET, encoding="utf-8")
    return path
