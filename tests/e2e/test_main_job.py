"""The main job end to end through the CLI: generate -> validate -> train -> forecast -> plan. The sample
declares a hierarchy (``hierarchy: [[family]]``): the plan covers each family's own reconciled forecast."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from capcast.cli import app
from planning import Plan, load_site, plan_rows, plan_violations, service_level_demand


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run capcast commands against a fresh CAPCAST_HOME; each must succeed; returns its stdout."""
    monkeypatch.setenv("CAPCAST_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CAPCAST_MLFLOW_TRACKING_URI", raising=False)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, f"{args}: {result.output}{result.stderr}"
        return result.stdout

    run.runner = runner
    return run


def test_main_job_from_raw_data_to_a_checked_plan(tmp_path, cli):
    run, runner = cli, cli.runner
    data = tmp_path / "data"

    run("data", "generate", "--out", str(data), "--seed", "5", "--products", "5", "--locations", "2", "--days", "200")
    assert "ok, 10 series, 2000 rows" in run("data", "validate", str(data))
    trained = run("train", "--data", str(data), "--horizon", "7", "--n-estimators", "40", "--threads", "1")
    assert "registered demand version 1 as @champion" in trained and "WAPE by level: family " in trained
    baseline = run("forecast", "--out", str(tmp_path / "forecast.csv"))
    assert "price, promo, in_stock: each series' most frequent recent value" in baseline
    assert "levels family, total, unique_id" in baseline

    # Each family's forecast is the sum of its items' (bottom-up).
    base = pd.read_csv(tmp_path / "forecast.csv")
    items = base[base["level"] == "unique_id"]
    families = base[base["level"] == "family"].set_index(["unique_id", "ds"])["mean"].sort_index()
    np.testing.assert_allclose(families, items.groupby(["family", "ds"])["mean"].sum().sort_index(), atol=1e-3)

    # Known-future values of the items from a file: a promotion on every item lifts the forecast.
    future = items[["unique_id", "ds"]].assign(price=1.0, promo=1, in_stock=1)
    future.to_csv(tmp_path / "future.csv", index=False)
    assert "from " + str(tmp_path / "future.csv") in run(
        "forecast", "--out", str(tmp_path / "promo.csv"), "--future", str(tmp_path / "future.csv")
    )
    assert pd.read_csv(tmp_path / "promo.csv")["mean"].sum() > base["mean"].sum()
    future.drop(columns="promo").to_csv(tmp_path / "bad.csv", index=False)
    bad = runner.invoke(app, ["forecast", "--out", str(tmp_path / "x.csv"), "--future", str(tmp_path / "bad.csv")])
    assert (
        bad.exit_code == 1 and "column promo: missing required column" in bad.output and "Traceback" not in bad.output
    )
    planned = run(
        "plan",
        "--forecast",
        str(tmp_path / "forecast.csv"),
        "--site",
        str(data / "site.yaml"),
        "--out",
        str(tmp_path / "plan.json"),
        "--time-limit",
        "2",
    )
    assert "expected fill rate" in planned
    assert "family level error 0 (each family's own reconciled forecast" in planned

    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert forecast["ds"].nunique() == 7 and len(items["unique_id"].unique()) == 10
    plan = Plan.model_validate_json((tmp_path / "plan.json").read_text())
    site = load_site(data / "site.yaml")
    rows, families_own = plan_rows(forecast.to_dict("records"))
    assert families_own and {r["unique_id"] for r in rows} == set(items["family"])
    demand = service_level_demand(rows, 0.95, level_error=0.0)
    assert plan_violations(site, demand, plan) == []
    assert plan.kpis.expected_fill_rate > 0.9


def test_cli_errors_are_one_line_without_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPCAST_HOME", str(tmp_path / "empty-home"))
    runner = CliRunner()
    no_model = runner.invoke(app, ["forecast", "--out", str(tmp_path / "f.csv")])
    assert no_model.exit_code == 1 and "run `capcast train` first" in no_model.stderr
    missing_site = runner.invoke(app, ["plan", "--forecast", "f.csv", "--site", str(tmp_path / "none.yaml")])
    assert missing_site.exit_code == 1 and missing_site.stderr.strip() == f"{tmp_path / 'none.yaml'}: file not found"
    bad_data = tmp_path / "bad.csv"
    bad_data.write_text("unique_id,ds,y\na,2024-01-01,-1\n")
    training = runner.invoke(app, ["train", "--data", str(bad_data)])
    assert training.exit_code == 1 and f"{bad_data}, row 2, column y: negative demand" in training.stderr
    monkeypatch.setenv("CAPCAST_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    unreachable = runner.invoke(app, ["serve"])
    assert unreachable.exit_code == 1
    assert unreachable.stderr.strip().endswith(
        "cannot reach the MLflow registry at http://127.0.0.1:9: Connection refused"
    )
    for result in (no_model, missing_site, training, unreachable):
        assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception


def test_forecast_refuses_a_future_file_with_an_empty_value_naming_row_and_column(tmp_path, capcast_env, sample_panel):
    days = pd.date_range(sample_panel["ds"].max(), periods=4, freq="D")[1:]
    rows = [
        {"unique_id": uid, "ds": day.date(), "price": 5.0, "promo": 0, "in_stock": 1}
        for uid in ("P001-S1", "P001-S2")
        for day in days
    ]
    future = tmp_path / "future.csv"
    frame = pd.DataFrame(rows)
    frame.loc[3, "promo"] = None
    frame.to_csv(future, index=False)
    assert future.read_text().splitlines()[4].split(",")[3] == ""  # the empty cell is on the file's row 5
    result = CliRunner().invoke(app, ["forecast", "--out", str(tmp_path / "f.csv"), "--future", str(future)])
    assert result.exit_code == 1 and result.stderr.strip() == f"{future}: row 5, column promo: missing value"
    assert isinstance(result.exception, SystemExit)


def test_plan_command_replans_with_locks_and_reports_bad_lock_files(tmp_path, monkeypatch):
    import json

    from tests.planning.conftest import make_site

    site_path = tmp_path / "site.yaml"
    site_path.write_text(json.dumps(make_site().model_dump(mode="json")))
    rows = [f"{uid},2026-01-0{d},{uid},40,30,40,55" for uid in ("A", "B") for d in range(5, 10)]
    forecast = tmp_path / "forecast.csv"
    forecast.write_text("unique_id,ds,family,mean,q10,q50,q90\n" + "\n".join(rows) + "\n")
    runner = CliRunner()
    base = ["plan", "--forecast", str(forecast), "--site", str(site_path), "--time-limit", "1"]

    first = runner.invoke(app, [*base, "--out", str(tmp_path / "first.json")])
    assert first.exit_code == 0, first.stderr
    locks = tmp_path / "locks.yaml"
    locks.write_text("- {line: L2, day: 2026-01-06, shift: night, staffed: true}\n")
    second = runner.invoke(
        app,
        [
            *base,
            "--locks",
            str(locks),
            "--previous",
            str(tmp_path / "first.json"),
            "--frozen-days",
            "1",
            "--out",
            str(tmp_path / "second.json"),
        ],
    )
    assert second.exit_code == 0, second.stderr
    plan = Plan.model_validate_json((tmp_path / "second.json").read_text())
    assert plan.replan is not None and plan.replan.frozen_days == 1
    assert any(d.staffed for d in plan.shifts if (d.line, str(d.day), d.shift) == ("L2", "2026-01-06", "night"))

    locks.write_text("- {line: L2, shift: night}\n")
    bad = runner.invoke(app, [*base, "--locks", str(locks)])
    assert bad.exit_code == 1 and bad.stderr.startswith(f"{locks}: 0.day: Field required")
    locks.write_text("- {line: L7, day: 2026-01-06, shift: night, staffed: true}\n")
    unknown = runner.invoke(app, [*base, "--locks", str(locks)])
    assert unknown.exit_code == 1 and "unknown line 'L7'" in unknown.stderr
    assert all(isinstance(r.exception, SystemExit) for r in (bad, unknown))


def test_hourly_workload_trains_and_forecasts_end_to_end(tmp_path, cli):
    """Hourly data through the same commands: generate, validate, train (48 h), forecast."""
    run = cli
    data = tmp_path / "hourly"

    run("data", "generate", "--out", str(data), "--seed", "3", "--hourly", "--locations", "2", "--days", "120")
    assert "ok, 2 series, 5760 rows" in run("data", "validate", str(data))
    trained = run(
        "train", "--data", str(data), "--horizon", "48", "--n-estimators", "30", "--threads", "1", "--level", "90"
    )
    assert "registered demand version 1" in trained
    assert "2 series x 48 hours from model version 1" in run("forecast", "--out", str(tmp_path / "forecast.csv"))
    forecast = pd.read_csv(tmp_path / "forecast.csv", parse_dates=["ds"])
    assert (
        len(forecast) == 2 * 48
        and forecast["ds"].diff().dropna().isin([pd.Timedelta(hours=1), pd.Timedelta(hours=-47)]).all()
    )
    assert [c for c in forecast.columns if c.startswith("q")] == ["q5", "q50", "q95"]
    assert (forecast["q95"] >= forecast["q5"]).all()


@pytest.mark.parametrize(
    "break_file, line",
    [
        (lambda f: f.drop(columns="ds"), "column ds: missing required column"),
        (lambda f: f.drop(columns="unique_id"), "column unique_id: missing required column"),
        (lambda f: f.astype({"price": object}).assign(price=["inf", *[5.0] * (len(f) - 1)]), "row 2, column price"),
        (lambda f: f.assign(ds=f["ds"].astype(str) + "T00:00+01:00"), "column ds: must be local time"),
        (lambda f: f.assign(ds=["2023-02-30", *f["ds"].astype(str)[1:]]), "row 2, column ds: not a date"),
        (lambda f: f.assign(weather=1.0), "column weather: unknown exogenous column 'weather'"),
        (lambda f: pd.concat([f, f.head(1).assign(unique_id="NOPE")]), "values for series the model does not know"),
        (lambda f: f[f["unique_id"] != "P001-S1"], "no values for series: P001-S1"),
    ],
)
def test_forecast_refuses_a_broken_future_file_in_one_line(tmp_path, capcast_env, sample_panel, break_file, line):
    days = pd.date_range(sample_panel["ds"].max(), periods=4, freq="D")[1:]
    ids = sorted(sample_panel["unique_id"].unique())
    rows = [
        {"unique_id": uid, "ds": day.date(), "price": 5.0, "promo": 0, "in_stock": 1} for uid in ids for day in days
    ]
    future = tmp_path / "future.csv"
    break_file(pd.DataFrame(rows)).to_csv(future, index=False)
    result = CliRunner().invoke(
        app, ["forecast", "--out", str(tmp_path / "f.csv"), "--horizon", "3", "--future", str(future)]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    [printed] = result.stderr.splitlines()
    assert printed.startswith(f"{future}: {line}"), printed
