"""Reading panels in capcast's own layout from disk (public layouts such as M5 live in ``features.loaders``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from features.gaps import GapPolicy
from features.generate import PANEL_FILE
from features.schema import DatasetSchema, Role, load_schema, schema_path
from features.validation import PanelError, Problem, parse_panel

__all__ = ["load_panel", "read_raw", "resolve_panel_path"]


def resolve_panel_path(path: Path) -> Path:
    """A data directory means its ``sales.csv``; a file path is taken as is."""
    return path / PANEL_FILE if path.is_dir() else path


def read_raw(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet panel with every column as text, so that nothing is coerced silently.

    Raises:
        PanelError: when the file is missing, empty or not parseable at all.
    """
    source = str(path)
    if not path.exists():
        raise PanelError([Problem(source, None, None, "file not found")])
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path).astype(str).reset_index(drop=True)
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PanelError([Problem(source, None, None, f"cannot read file: {reason}")]) from None


def load_panel(path: Path, schema: DatasetSchema | None = None, gaps: GapPolicy | str | None = None) -> pd.DataFrame:
    """Read and validate a panel file (or a data directory holding ``sales.csv``) with the column roles
    and gap policy of ``schema`` (default: ``dataset.yaml`` beside it, ``features.schema``): ignored
    columns are dropped, static ones read as text, the others as numbers; ``gaps`` overrides the
    schema's gap policy (``features.gaps``); a blank is refused where the schema's blank policy says so
    (``features.blanks``)."""
    schema = load_schema(path) if schema is None else schema
    path = resolve_panel_path(path)
    raw = read_raw(path)
    if problems := schema.hierarchy_problems(list(raw.columns), path.name):
        raise PanelError([replace(p, source=str(schema_path(path))) for p in problems])
    raw = raw.drop(columns=schema.columns_with(Role.IGNORE, list(raw.columns)))
    policy = schema.gaps if gaps is None else GapPolicy(gaps)
    columns = list(raw.columns)
    static = schema.columns_with(Role.STATIC, columns)
    return parse_panel(raw, str(path), static=static, gaps=policy, blanks=schema.blank_fills(columns))
