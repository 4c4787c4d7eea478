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
    assert panel.groupby("unique_id").size().eq(730).all()
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


def test_sample_writes_expected_columns(tmp_path):
    panel_path, site_path = write_sample(tmp_path, seed=1, config=SMALL)
    frame = pd.read_csv(panel_path)
    assert list(frame.columns) == ["unique_id", "ds", "y", "item_id", "store_id", "family", "price", "promo"]
    assert site_path.read_text().startswith("name: sample-site")
