"""What every command does at the edge: one clear line per problem on stderr, a non-zero exit,
never a traceback; and the files they read, each refused with its path."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HORIZON_UNITS",
    "MAX_HORIZON",
    "Gaps",
    "fail",
    "file_field_line",
    "load_dataset_or_fail",
    "load_inventory_config_or_fail",
    "load_panel_or_fail",
    "load_site_or_fail",
    "read_csv_or_fail",
    "read_yaml_models_or_fail",
    "validation_lines",
]

MAX_PROBLEMS_SHOWN = 50


class GapChoice(StrEnum):
    """The gap policies of ``features.gaps``, as ``--gaps`` offers them."""

    refuse = "refuse"
    zero = "zero"
    missing = "missing"
    drop_before = "drop-before"


# --gaps on every command that reads a panel.
Gaps = Annotated[
    GapChoice | None,
    typer.Option(
        help="what skipped periods are: refuse, zero (no demand), missing (unobserved) or drop-before "
        "(each series starts after its last gap); default: dataset.yaml's 'gaps:', else refuse",
    ),
]
# Horizons count periods of the data: a year of hourly data bounds train and backtest alike.
MAX_HORIZON = 24 * 366
HORIZON_UNITS = "periods of the data (days, hours, weeks or months)"


def fail(lines: list[str] | str, code: int = 1) -> NoReturn:
    """Print each problem on its own line (at most 50) and exit with ``code``."""
    lines = [lines] if isinstance(lines, str) else lines
    for line in lines[:MAX_PROBLEMS_SHOWN]:
        typer.echo(line, err=True)
    if len(lines) > MAX_PROBLEMS_SHOWN:
        typer.echo(f"... and {len(lines) - MAX_PROBLEMS_SHOWN} more problems", err=True)
    raise typer.Exit(code)


def validation_lines(source: str, error) -> list[str]:
    """pydantic errors as ``source: field.path: reason`` lines."""
    return [f"{source}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors()]


def file_field_line(path: Path, field: str | None, message: str) -> str:
    """An API field path of rows read from a CSV file, as the file's row and column: ``future.3.promo``
    is row 5 (the header is row 1, as ``capcast data validate`` counts), ``future.promo`` the column."""
    if field and (cell := re.fullmatch(r"[a-z_]+\.(\d+)\.(.+)", field)):
        return f"{path}: row {int(cell.group(1)) + 2}, column {cell.group(2)}: {message}"
    if field and (column := re.fullmatch(r"[a-z_]+\.(.+)", field)):
        return f"{path}: column {column.group(1)}: {message}"
    return f"{path}: {message}"


def read_csv_or_fail(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.exists():
        fail(f"{path}: file not found")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        fail(f"{path}: cannot read: {str(error).splitlines()[0] if str(error) else type(error).__name__}")


def read_yaml_models_or_fail(path: Path, kind):
    """A YAML/JSON file validated as ``kind`` (a pydantic model or a list of them)."""
    import yaml
    from pydantic import TypeAdapter, ValidationError

    if not path.exists():
        fail(f"{path}: file not found")
    try:
        return TypeAdapter(kind).validate_python(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as error:
        fail(validation_lines(str(path), error))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        fail(f"{path}: not valid YAML/JSON: {str(error).splitlines()[0]}")


def load_panel_or_fail(path: Path, gaps: str | None = None) -> pd.DataFrame:
    """A panel that passed the data contract, or one line per problem (file, row, column)."""
    return load_dataset_or_fail(path, gaps)[0]


def load_dataset_or_fail(path: Path, gaps: str | None = None):
    """The panel and its ``dataset.yaml`` (``features.schema``), or one line per problem of either;
    ``gaps`` overrides the schema's gap policy (``features.gaps``)."""
    from features.io import load_panel
    from features.schema import load_schema
    from features.validation import PanelError

    try:
        schema = load_schema(path)
        return load_panel(path, schema, gaps), schema
    except PanelError as error:
        fail([str(p) for p in error.problems])


def load_site_or_fail(path: Path):
    from pydantic import ValidationError

    from planning import load_site

    if not path.exists():
        fail(f"{path}: file not found")
    try:
        return load_site(path)
    except ValidationError as error:
        fail(validation_lines(str(path), error))
    except (ValueError, OSError) as error:
        fail(f"{path}: {error}" if not str(error).startswith(str(path)) else str(error))


def load_inventory_config_or_fail(path: Path):
    """The stock ledger's configuration (``inventory.InventoryConfig``) from YAML, or one line per problem."""
    import yaml
    from pydantic import ValidationError

    from inventory import InventoryConfig

    try:
        return InventoryConfig.load(path)
    except ValidationError as error:
        fail(validation_lines(str(path), error))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as error:
        fail(f"{path}: cannot read: {str(error).splitlines()[0]}")
