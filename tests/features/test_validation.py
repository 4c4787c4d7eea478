"""Every bad-input class gives one line per problem naming the file, row and column."""

import pytest
from typer.testing import CliRunner

from capcast.cli import app
from features.io import load_panel
from features.validation import PanelError

runner = CliRunner()

GOOD = (
    "unique_id,ds,y\na,2024-01-01,1\na,2024-01-02,2\na,2024-01-03,0\nb,2024-01-01,5\nb,2024-01-02,3\nb,2024-01-03,4\n"
)

CASES = {
    "missing_column": ("unique_id,ds\na,2024-01-01\n", "row 1, column y: missing required column"),
    "negative_demand": (GOOD.replace("a,2024-01-02,2", "a,2024-01-02,-2"), "row 3, column y: negative demand"),
    "non_numeric_demand": (
        GOOD.replace("b,2024-01-02,3", "b,2024-01-02,three"),
        "row 6, column y: not a number: 'three'",
    ),
    "missing_demand": (GOOD.replace("b,2024-01-03,4", "b,2024-01-03,"), "row 7, column y: missing value"),
    "bad_date": (GOOD.replace("a,2024-01-03,0", "a,2024-13-45,0"), "row 4, column ds: not a date: '2024-13-45'"),
    "duplicate_row": (GOOD + "a,2024-01-02,9\n", "row 8, column ds: duplicate (unique_id, ds) row"),
    "irregular_dates": (
        GOOD.replace("b,2024-01-03,4", "b,2024-01-03 12:00,4"),
        "row 7, column ds: irregular dates in series 'b': 36 hours",
    ),
    "gap": (
        GOOD.replace("b,2024-01-03,4", "b,2024-01-05,4"),
        "row 7, column ds: 2 days missing in series 'b' before this row: add them, or say what they are with --gaps",
    ),
    "empty_series_id": (GOOD.replace("b,2024-01-01,5", ",2024-01-01,5"), "row 5, column unique_id: empty series id"),
    "infinite_demand": (
        GOOD.replace("a,2024-01-02,2", "a,2024-01-02,inf"),
        "row 3, column y: not a finite number: 'inf'",
    ),
    "time_zone_offset": (
        GOOD.replace("a,2024-01-02,2", "a,2024-01-02T00:00:00+02:00,2"),
        "row 3, column ds: time-zone offsets are not supported",
    ),
    "series_ends_early": (GOOD.replace("a,2024-01-03,0\n", ""), "row 3, column ds: series 'a' ends on 2024-01-02"),
}


def _write(tmp_path, text, name="panel.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_reports_each_problem_on_one_line(tmp_path, case):
    text, expected = CASES[case]
    path = _write(tmp_path, text)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith(f"{path}, ") and expected in line for line in lines), lines
    assert isinstance(result.exception, SystemExit)


def test_valid_panel_passes(tmp_path):
    result = runner.invoke(app, ["data", "validate", str(_write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.stderr
    assert "ok, 2 series, 6 rows" in result.stdout


def test_all_problems_are_reported_not_just_the_first(tmp_path):
    text = GOOD.replace("a,2024-01-02,2", "a,2024-01-02,-2").replace("b,2024-01-02,3", "b,2024-01-02,x")
    with pytest.raises(PanelError) as error:
        load_panel(_write(tmp_path, text))
    assert [(p.row, p.column) for p in error.value.problems] == [(3, "y"), (6, "y")]


@pytest.mark.parametrize(
    "content, expected",
    [(None, "file not found"), (b"", "cannot read file"), (b"\xff\xfe\x00garbage", "")],
)
def test_unreadable_files_fail_with_one_clear_line(tmp_path, content, expected):
    path = tmp_path / "panel.csv"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(str(path)) and expected in result.stderr
    assert isinstance(result.exception, SystemExit)


def test_validation_never_drops_rows(tmp_path, sample_dir):
    panel = load_panel(sample_dir)
    assert len(panel) == len((sample_dir / "sales.csv").read_text().splitlines()) - 1


def test_parquet_panels_load_like_csv(tmp_path, sample_dir):
    import pandas as pd

    from_csv = load_panel(sample_dir)
    pd.read_csv(sample_dir / "sales.csv", dtype=str).to_parquet(tmp_path / "sales.parquet")
    pd.testing.assert_frame_equal(load_panel(tmp_path / "sales.parquet"), from_csv)
