import hashlib

import pandas as pd

from features.generate import SampleConfig, generate_panel, write_sample

SMALL = SampleConfig(products=5, locations=2, days=400)


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path):
    write_sample(tmp_path / "a", seed=11, config=SMALL)
    write_sample(tmp_path / "b", seed=11, config=SMALL)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_different_seed_gives_different_history(tmp_path):
    write_sample(tmp_path / "a", seed=11, config=SMALL)
    write_sample(tmp_path / "b", seed=12, config=SMALL)
    assert _digest(tmp_path / "a")["sales.csv"] != _digest(tmp_path / "b")["sales.csv"]


def test_panel_is_complete_and_shaped_like_retail_demand():
    panel = generate_panel(SampleConfig(products=10, locations=3, days=730), seed=3)
    lengths = panel.groupby("unique_id").size()
    # one new item (10% of products) in 3 stores, launched in the last quarter but at least 14 days before the end
    assert (lengths == 730).sum() == 27 and lengths[lengths < 730].between(14, 183).all()
    assert panel.groupby("unique_id")["ds"].max().nunique() == 1
    assert panel["unique_id"].nunique() == 30
    assert (panel["y"] >= 0).all() and (panel["y"] % 1 == 0).all()
    # promotions lift demand
    assert panel.loc[panel.promo == 1, "y"].mean() > 1.2 * panel.loc[panel.promo == 0, "y"].mean()
    # weekly seasonality: Saturday busier than Tuesday
    by_day = panel.groupby(panel["ds"].dt.dayofweek)["y"].mean()
    assert by_day[5] > 1.3 * by_day[1]
    # holidays collapse demand (Christmas), the day before stocks up
    christmas = panel[(panel.ds.dt.month == 12) & (panel.ds.dt.day == 25)]["y"].mean()
    assert christmas < 0.6 * panel["y"].mean()
    # slow movers: some series are mostly zeros
    zero_share = panel.groupby("unique_id")["y"].apply(lambda y: (y == 0).mean())
    assert (zero_share > 0.4).sum() >= 3
    # stockouts censor sales to zero, and only there is in_stock 0
    out = panel["in_stock"] == 0
    assert 0.005 < out.mean() < 0.1 and (panel.loc[out, "y"] == 0).all()


def test_sample_writes_expected_columns(tmp_path):
    panel_path, site_path = write_sample(tmp_path, seed=1, config=SMALL)
    frame = pd.read_csv(panel_path)
    assert list(frame.columns) == [
        "unique_id",
        "ds",
        "y",
        "item_id",
        "store_id",
        "family",
        "price",
        "promo",
        "in_stock",
    ]
    assert site_path.read_text().startswith("name: sample-site")


def test_hourly_workload_has_intraday_and_weekly_cycles_and_validates(tmp_path):
    from features.generate import write_hourly_sample
    from features.io import load_panel
    from features.pipeline import infer_frequency

    panel = load_panel(write_hourly_sample(tmp_path, seed=2, sites=2, days=28))
    assert infer_frequency(panel) == "h" and len(panel) == 2 * 28 * 24
    working = panel[panel["ds"].dt.dayofweek < 5]
    by_hour = working.groupby(working["ds"].dt.hour)["y"].mean()
    assert by_hour[8] > 3 * by_hour[3] and by_hour[17] > 3 * by_hour[3]
    assert list(panel.columns) == ["unique_id", "ds", "y", "store_id", "holiday"]
