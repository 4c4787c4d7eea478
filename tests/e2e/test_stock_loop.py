"""The loop no open tool closes, end to end through the command line: stock events become the
demand history, the history trains a model, its forecast becomes a plan that starts from the
ledger's stock, the approved plan's production becomes what the plant can promise."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from capcast.cli import app
from capcast.database import engine, upgrade
from capcast.settings import Settings
from inventory import InventoryConfig, Ledger
from tests.planning.conftest import make_site

FIRST_DAY, DAYS = date(2026, 1, 5), 196  # 28 weeks of history
STORES, SKUS = ("store-1", "store-2"), {"sku-a": "A", "sku-b": "B"}
OPENING = 200  # sku-a units at the plant when the plan starts


def _events() -> list[dict]:
    """28 weeks of stores selling (a weekly pattern, Poisson noise) and restocking each Monday, and
    the plant receiving its opening stock the last day."""
    rng = np.random.default_rng(11)
    events = []

    def add(kind: str, node: str, sku: str, qty: int, day: int, hour: int) -> None:
        at = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)
        event_id = f"{node}-{sku}-{kind}-{day}-{hour}"
        events.append(
            {"event_id": event_id, "source": node, "node": node, "sku": sku, "kind": kind, "qty": qty}
            | {"occurred_at": at.isoformat()}
        )

    weekly = [1.2, 1.1, 1.0, 1.0, 1.3, 0.8, 0.6]
    for node in STORES:
        for sku, level in zip(SKUS, (20, 12)):
            sales = [int(rng.poisson(level * weekly[d % 7])) for d in range(DAYS)]
            for day in range(DAYS):
                if day % 7 == 0:  # Monday: the week's sales and a margin arrive before opening
                    add("receipt", node, sku, sum(sales[day : day + 7]) + 10, day, 6)
                if sales[day]:
                    add("shipment", node, sku, sales[day], day, 15)
    add("receipt", "plant", "sku-a", OPENING, DAYS - 1, 20)
    return events


@pytest.fixture
def cli(tmp_path, monkeypatch):
    home = tmp_path / "home"
    site = tmp_path / "site.yaml"
    site.write_text(json.dumps(make_site(initial_inventory={}).model_dump(mode="json")))
    for name in ("CAPCAST_MLFLOW_TRACKING_URI", "CAPCAST_DATABASE_URL", "CAPCAST_INVENTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAPCAST_HOME", str(home))
    monkeypatch.setenv("CAPCAST_SITE", str(site))
    home.mkdir()
    config = {"production_node": "plant", "family_split": {family: {sku: 1.0} for sku, family in SKUS.items()}}
    (home / "inventory.yaml").write_text(yaml.safe_dump(config))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, f"{args}: {result.output}{result.stderr}"
        return result.stdout

    run.site = site
    return run


def test_events_become_history_then_a_plan_from_the_ledgers_stock_then_promises(cli, tmp_path):
    settings = Settings()
    database = engine(settings.database)
    upgrade(database)
    ledger = Ledger(database, InventoryConfig.load(settings.inventory_path))
    events = _events()
    for start in range(0, len(events), 1000):
        assert not ledger.ingest(events[start : start + 1000]).rejected

    data = tmp_path / "data"
    assert "5 series" in cli("inventory", "demand", "--out", str(data))  # 2 stores x 2 SKUs, and the plant
    assert f"{data}: ok, 5 series, {5 * DAYS} rows" in cli("data", "validate", str(data))
    cli("train", "--data", str(data), "--horizon", "7", "--n-estimators", "30", "--threads", "1")
    cli("forecast", "--out", str(tmp_path / "forecast.csv"))
    planned = cli(
        "plan", "--forecast", str(tmp_path / "forecast.csv"), "--site", str(cli.site), "--stock", "ledger",
        "--store", "--time-limit", "5", "--out", str(tmp_path / "plan.json"),
    )  # fmt: skip
    plan_id = re.search(r"stored as draft (\w+)", planned).group(1)
    shown = cli("plans", "show", plan_id)
    assert '"opening_stock": "ledger as of ' in shown and f'"initial_inventory": {{"A": {OPENING}, "B": 0}}' in shown
    cli("plans", "approve", plan_id, "--by", "Ann")

    plan = json.loads((tmp_path / "plan.json").read_text())
    start = date.fromisoformat(plan["start"])
    made = {f["day"]: f["production"] for f in plan["families"] if f["family"] == "A"}
    last = start + timedelta(days=plan["days"] - 1)
    promised = cli(
        "inventory", "atp", "--sku", "sku-a", "--node", "plant", "--from", str(start), "--to", str(last),
        "--today", str(start),
    )  # fmt: skip
    rows = re.findall(r"^(\d{4}-\d\d-\d\d)  available +([\d,-]+) .*scheduled ([\d,]+),", promised, re.M)
    assert [(day, int(units.replace(",", ""))) for day, _, units in rows] == sorted(made.items())
    assert int(rows[-1][1].replace(",", "")) == OPENING + sum(made.values())  # nothing promised yet
