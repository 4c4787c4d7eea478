"""Loaders turn the M5 long layout and the UCI bike hourly layout into the panel contract.

Every test writes its own tiny files in the real layouts; none reads shared data.
"""

import gzip

import numpy as np
import pandas as pd
import pytest

from features.loaders import read_bike_hourly, read_m5_subset
from features.validation import PanelError

CALENDAR = """\
date,wm_yr_wk,weekday,wday,month,year,d,event_name_1,event_type_1,event_name_2,event_type_2,snap_CA,snap_TX,snap_WI
2016-02-05,11601,Friday,7,2,2016,d_1834,,,,,1,0,1
2016-02-06,11602,Saturday,1,2,2016,d_1835,,,,,1,1,0
2016-02-07,11602,Sunday,2,2,2016,d_1836,SuperBowl,Sporting,,,0,1,0
2016-02-08,11602,Monday,3,2,2016,d_1837,LentStart,Religious,ValentinesDay,Cultural,0,0,1
"""

SALES_HEADER = "id,item_id,dept_id,cat_id,store_id,state_id,d,date,wm_yr_wk,sales,sell_price,split\n"


def _sales_rows(series: str, item: str, dept: str, cat: str, store: str, state: str, sales, prices) -> str:
    days = ["d_1834", "d_1835", "d_1836", "d_1837"]
    dates = ["2016-02-05", "2016-02-06", "2016-02-07", "2016-02-08"]
    return "".join(
        f"{series},{item},{dept},{cat},{store},{state},{d},{date},11602,{s},{p},train_d1_d1913\n"
        for d, date, s, p in zip(days, dates, sales, prices)
    )


@pytest.fixture
def m5_files(tmp_path):
    # Written in file order TX before CA, gzipped like the shared files.
    sales = (
        SALES_HEADER
        + _sales_rows(
            "HOBBIES_1_001_TX_1",
            "HOBBIES_1_001",
            "HOBBIES_1",
            "HOBBIES",
            "TX_1",
            "TX",
            [0, 3, 1, 0],
            ["", "", "8.5", "8.5"],
        )
        + _sales_rows("FOODS_3_090_CA_1", "FOODS_3_090", "FOODS_3", "FOODS", "CA_1", "CA", [5, 0, 2, 7], ["1.25"] * 4)
    )
    sales_path, calendar_path = tmp_path / "sales.csv.gz", tmp_path / "calendar.csv.gz"
    sales_path.write_bytes(gzip.compress(sales.encode()))
    calendar_path.write_bytes(gzip.compress(CALENDAR.encode()))
    return sales_path, calendar_path


def test_m5_subset_becomes_a_daily_panel_sorted_by_series(m5_files):
    panel = read_m5_subset(*m5_files)
    assert list(panel.columns[:3]) == ["unique_id", "ds", "y"]
    assert panel["unique_id"].tolist() == ["FOODS_3_090_CA_1"] * 4 + ["HOBBIES_1_001_TX_1"] * 4
    assert panel["ds"].dtype == "datetime64[ns]"
    assert panel["ds"].iloc[:4].tolist() == list(pd.date_range("2016-02-05", periods=4, freq="D"))
    assert panel["y"].tolist() == [5.0, 0.0, 2.0, 7.0, 0.0, 3.0, 1.0, 0.0]
    foods = panel.iloc[0]
    assert (foods["item_id"], foods["store_id"], foods["dept_id"], foods["cat_id"], foods["state_id"]) == (
        "FOODS_3_090",
        "CA_1",
        "FOODS_3",
        "FOODS",
        "CA",
    )


def test_m5_price_is_missing_before_the_item_is_on_sale(m5_files):
    panel = read_m5_subset(*m5_files)
    hobbies = panel[panel["unique_id"] == "HOBBIES_1_001_TX_1"]
    assert hobbies["sell_price"].isna().tolist() == [True, True, False, False]
    assert hobbies["sell_price"].iloc[2] == 8.5


def test_m5_snap_follows_the_state_of_the_row(m5_files):
    panel = read_m5_subset(*m5_files)
    assert panel.loc[panel["state_id"] == "CA", "snap"].tolist() == [1, 1, 0, 0]
    assert panel.loc[panel["state_id"] == "TX", "snap"].tolist() == [0, 1, 1, 0]


def test_m5_event_flags_cover_both_event_slots(m5_files):
    panel = read_m5_subset(*m5_files)
    ca = panel[panel["state_id"] == "CA"]
    assert ca["event"].tolist() == [0, 0, 1, 1]
    assert ca["event_sporting"].tolist() == [0, 0, 1, 0]
    assert ca["event_religious"].tolist() == [0, 0, 0, 1]
    assert ca["event_cultural"].tolist() == [0, 0, 0, 1]
    assert ca["event_national"].tolist() == [0, 0, 0, 0]


def test_m5_negative_or_non_numeric_sales_are_reported_with_row_and_column(tmp_path, m5_files):
    _, calendar_path = m5_files
    sales = SALES_HEADER + _sales_rows("A_1_001_CA_1", "A_1_001", "A_1", "A", "CA_1", "CA", [1, -2, "x", 0], ["1"] * 4)
    sales_path = tmp_path / "bad_sales.csv"
    sales_path.write_text(sales)
    with pytest.raises(PanelError) as error:
        read_m5_subset(sales_path, calendar_path)
    found = {(p.row, p.column, p.message) for p in error.value.problems}
    assert found == {(3, "sales", "negative demand"), (4, "sales", "not a number: 'x'")}


def test_m5_day_missing_from_the_calendar_is_reported(tmp_path, m5_files):
    _, calendar_path = m5_files
    sales = SALES_HEADER + _sales_rows("A_1_001_CA_1", "A_1_001", "A_1", "A", "CA_1", "CA", [1, 2, 3, 4], ["1"] * 4)
    sales_path = tmp_path / "late_sales.csv"
    sales_path.write_text(sales.replace("d_1837", "d_1838"))
    with pytest.raises(PanelError, match="row 5, column d: day 'd_1838' is not in the calendar"):
        read_m5_subset(sales_path, calendar_path)


def test_m5_missing_column_is_reported(tmp_path, m5_files):
    _, calendar_path = m5_files
    sales_path = tmp_path / "no_price.csv"
    sales_path.write_text("id,item_id,dept_id,cat_id,store_id,state_id,d,sales\n")
    with pytest.raises(PanelError, match="row 1, column sell_price: missing required column"):
        read_m5_subset(sales_path, calendar_path)


HOURS_HEADER = (
    "instant,dteday,season,yr,mnth,hr,holiday,weekday,workingday,weathersit,"
    "temp,atemp,hum,windspeed,casual,registered,cnt\n"
)


def _hour_row(day: str, hour: int, count: int, holiday: int = 0, workingday: int = 1) -> str:
    return f"1,{day},1,0,1,{hour},{holiday},1,{workingday},2,0.24,0.29,0.81,0.1,1,{count - 1},{count}\n"


@pytest.fixture
def bike_file(tmp_path):
    # 2012-01-02 is a holiday; hour 3 of that day is absent (no rentals recorded).
    rows = [_hour_row("2012-01-01", h, 10 + h, workingday=0) for h in range(22, 24)]
    rows += [_hour_row("2012-01-02", h, 20 + h, holiday=1, workingday=0) for h in (0, 1, 2, 4)]
    path = tmp_path / "hour.csv.gz"
    path.write_bytes(gzip.compress((HOURS_HEADER + "".join(rows)).encode()))
    return path


def test_bike_hours_become_one_hourly_series_with_gaps_as_zero(bike_file):
    panel = read_bike_hourly(bike_file)
    assert list(panel.columns) == ["unique_id", "ds", "y", "holiday", "workingday"]
    assert (panel["unique_id"] == "bike_dc").all()
    assert panel["ds"].tolist() == list(pd.date_range("2012-01-01 22:00", "2012-01-02 04:00", freq="h"))
    assert panel["y"].tolist() == [32.0, 33.0, 20.0, 21.0, 22.0, 0.0, 24.0]


def test_bike_missing_hour_takes_its_days_calendar_flags(bike_file):
    panel = read_bike_hourly(bike_file)
    assert panel["holiday"].tolist() == [0, 0, 1, 1, 1, 1, 1]
    assert panel["workingday"].tolist() == [0] * 7


def test_bike_gap_policy_missing_keeps_the_gap_visible(bike_file):
    panel = read_bike_hourly(bike_file, missing_hours="missing")
    assert np.isnan(panel["y"].iloc[5]) and panel["y"].notna().sum() == 6


def test_bike_weather_only_on_request(bike_file):
    assert "temp" not in read_bike_hourly(bike_file).columns
    panel = read_bike_hourly(bike_file, weather=True)
    assert panel["temp"].iloc[0] == pytest.approx(0.24)


def test_bike_unknown_gap_policy_is_refused(bike_file):
    with pytest.raises(PanelError, match="unknown gap policy 'interpolate'"):
        read_bike_hourly(bike_file, missing_hours="interpolate")


def test_bike_duplicated_hour_and_bad_hour_are_reported(tmp_path):
    rows = [_hour_row("2012-01-01", 0, 5), _hour_row("2012-01-01", 0, 6), _hour_row("2012-01-01", 24, 7)]
    path = tmp_path / "hour.csv"
    path.write_text(HOURS_HEADER + "".join(rows))
    with pytest.raises(PanelError, match="row 4, column hr: not an hour of the day: '24'"):
        read_bike_hourly(path)
    path.write_text(HOURS_HEADER + "".join(rows[:2]))
    with pytest.raises(PanelError, match="row 3, column hr: duplicate hour"):
        read_bike_hourly(path)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(PanelError, match="file not found"):
        read_bike_hourly(tmp_path / "absent.csv.gz")


WIDE = """id,item_id,dept_id,cat_id,store_id,state_id,d_1834,d_1835,d_1836,d_1837
HOBBIES_1_001_TX_1,HOBBIES_1_001,HOBBIES_1,HOBBIES,TX_1,TX,0,3,1,0
FOODS_3_090_CA_1,FOODS_3_090,FOODS_3,FOODS,CA_1,CA,5,0,2,7
"""
PRICES = """store_id,item_id,wm_yr_wk,sell_price
TX_1,HOBBIES_1_001,11602,8.5
CA_1,FOODS_3_090,11601,1.25
CA_1,FOODS_3_090,11602,1.5
"""


def test_m5_wide_layout_gives_the_same_panel_as_the_long_one(tmp_path):
    from features.loaders import read_m5_wide

    for name, text in (("wide.csv", WIDE), ("calendar.csv", CALENDAR), ("prices.csv", PRICES)):
        (tmp_path / name).write_text(text)
    panel = read_m5_wide(tmp_path / "wide.csv", tmp_path / "calendar.csv", tmp_path / "prices.csv")
    assert list(panel["unique_id"].unique()) == ["FOODS_3_090_CA_1", "HOBBIES_1_001_TX_1"]
    foods = panel[panel["unique_id"] == "FOODS_3_090_CA_1"]
    assert foods["y"].tolist() == [5.0, 0.0, 2.0, 7.0]
    # prices are weekly: week 11601 is the Friday, 11602 the rest
    assert foods["sell_price"].tolist() == [1.25, 1.5, 1.5, 1.5]
    hobbies = panel[panel["unique_id"] == "HOBBIES_1_001_TX_1"]
    assert np.isnan(hobbies["sell_price"].iloc[0]) and hobbies["snap"].tolist() == [0, 1, 1, 0]


def test_m5_wide_layout_problems_name_file_row_and_column(tmp_path):
    from features.loaders import read_m5_wide

    (tmp_path / "wide.csv").write_text(WIDE + WIDE.splitlines()[1] + "\n")
    (tmp_path / "calendar.csv").write_text(CALENDAR)
    (tmp_path / "prices.csv").write_text(PRICES.replace("sell_price", "price"))
    with pytest.raises(PanelError) as error:
        read_m5_wide(tmp_path / "wide.csv", tmp_path / "calendar.csv", tmp_path / "prices.csv")
    assert "prices.csv, row 1, column sell_price: missing required column" in str(error.value)
    (tmp_path / "prices.csv").write_text(PRICES)
    with pytest.raises(PanelError, match=r"wide.csv, row 4, column id: duplicate id"):
        read_m5_wide(tmp_path / "wide.csv", tmp_path / "calendar.csv", tmp_path / "prices.csv")
