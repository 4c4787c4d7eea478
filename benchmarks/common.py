"""What every benchmark reports alongside its figures: when, where, and how to reproduce."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

OUT = Path(__file__).resolve().parent / "out"
# Wide enough for the accuracy tables when output goes to a file or pipe (rich defaults to 80 there).
console = Console(width=None if sys.stdout.isatty() else 200)


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def print_table(title: str, rows: list[dict]) -> None:
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)


def start(parser: argparse.ArgumentParser, module: str, argv: list[str] | None) -> tuple[argparse.Namespace, str]:
    """Parse a benchmark's arguments and ``announce`` it; returns (arguments, reproducing command)."""
    return parser.parse_args(argv), announce(module, argv)


def add_deterministic_flag(parser: argparse.ArgumentParser, note: str = "") -> None:
    """``--deterministic``: CP-SAT's limits in deterministic time, so that two versions of the code
    can be compared plan for plan on a shared machine."""
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help=f"limits in CP-SAT's deterministic time (same plans on any machine load{note})",
    )


def announce(module: str, argv: list[str] | None = None) -> str:
    """Print, first thing, the command that runs this benchmark again as it runs now, and return it.

    Args:
        module: the benchmark's module (its ``__spec__.name``: ``benchmarks.accuracy``).
        argv: its arguments; the process's own when None.
    """
    command = shlex.join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])
    print(f"reproduce: {command}", flush=True)
    return command


def write_result(name: str, command: str, tables: dict[str, list[dict]], extra: dict | None = None) -> Path:
    """Write the tables, with date, machine and the reproducing ``command`` (``announce``), to
    ``benchmarks/out/<name>.json``."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    document = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        **tables,
        **(extra or {}),
    }
    path.write_text(json.dumps(document, indent=2, default=str))
    console.print(f"written to {path}")
    return path
