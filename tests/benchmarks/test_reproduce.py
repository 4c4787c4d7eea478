"""Every benchmark prints, first thing, a command that runs it again as printed (not its figures:
benchmarks never run inside the test suite)."""

import importlib
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = [
    "accuracy",
    "calibration_choice",
    "decision",
    "inventory",
    "page",
    "pipeline",
    "planning",
    "scale",
    "serving",
    "tune",
]


@pytest.fixture(scope="module")
def first_lines(tmp_path_factory) -> dict[str, str]:
    """The first line each benchmark's ``--quick`` run prints; the runs are stopped right after
    (their temporary folders, if any, are made in one that pytest cleans up)."""
    env = os.environ | {"TMPDIR": str(tmp_path_factory.mktemp("benchmark-runs"))}
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", f"benchmarks.{name}", "--quick"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env=env,
        )
        for name in BENCHMARKS
    }
    lines = {}
    for name, process in started.items():
        try:
            lines[name] = process.stdout.readline().strip()
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            process.stdout.close()
    return lines


@pytest.mark.parametrize("name", BENCHMARKS)
def test_the_reproduce_line_names_the_benchmark_and_its_arguments_parse(first_lines, name):
    prefix, _, command = first_lines[name].partition(": ")
    assert prefix == "reproduce", first_lines[name]
    python, flag, module, *arguments = shlex.split(command)
    assert (python, flag, module, arguments) == ("python", "-m", f"benchmarks.{name}", ["--quick"])
    importlib.import_module(module).parser().parse_args(arguments)  # argparse exits on what it cannot parse


def test_a_command_is_reproduced_with_its_own_module_and_arguments():
    """Variants write their own result files but are reproduced by the module that ran them."""
    from benchmarks.common import announce

    assert announce("benchmarks.planning", ["--seed", "1"]) == "python -m benchmarks.planning --seed 1"
    assert announce("benchmarks.accuracy", ["--folds", "--data", "my data"]) == (
        "python -m benchmarks.accuracy --folds --data 'my data'"
    )


def test_every_benchmark_is_checked():
    """A module of benchmarks/ with a main() is a benchmark: its reproduce line is checked above. The
    harnesses and libraries have none (``m5_stock``'s command line, ``demo()``, writes an event stream
    for a demo: it measures nothing and prints no reproduce line)."""
    with_main = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if "\ndef main(" in p.read_text())
    assert with_main == sorted(BENCHMARKS)
