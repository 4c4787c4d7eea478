"""capcast's generic top-level package names: a foreign ``models`` or ``features`` is named at start."""

import subprocess
import sys
import types
from pathlib import Path

import pytest

import capcast
from capcast.packages import OWN_PACKAGES, foreign_package

HOME = Path(capcast.__file__).resolve().parent.parent


def _package(folder: Path, name: str, text: str = '"""someone else\'s"""\n') -> Path:
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(text)
    return folder


def test_capcasts_own_packages_pass():
    assert foreign_package(HOME) is None


def test_a_folder_earlier_on_the_path_is_named(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "models", raising=False)  # as at capcast's import, before any model code
    monkeypatch.syspath_prepend(str(_package(tmp_path, "models")))
    message = foreign_package(HOME)
    assert message.startswith(f"package 'models' is imported from {tmp_path / 'models'}, not from capcast")


def test_a_package_installed_over_ours_is_named(tmp_path, monkeypatch):
    """Another distribution's ``features`` written into the same site-packages folder."""
    site = tmp_path / "site-packages"
    for name in OWN_PACKAGES:
        _package(site, name, '"""ours"""\n__distribution__ = "capcast"\n' if name != "features" else "x = 1\n")
    monkeypatch.syspath_prepend(str(site))
    for name in OWN_PACKAGES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert foreign_package(site) == (
        f"package 'features' at {site / 'features'} is not capcast's: another distribution installed its own "
        "'features' over it; install capcast in a virtual environment of its own"
    )


def test_an_imported_copy_that_is_not_capcasts_is_named(monkeypatch):
    """What runs is what was imported: a foreign ``models`` already in the process is named too."""
    foreign = types.ModuleType("models")
    foreign.__file__ = str(Path(pytest.__file__))  # any file without capcast's marker
    monkeypatch.setitem(sys.modules, "models", foreign)
    assert foreign_package(HOME) == f"package 'models' imported from {Path(pytest.__file__).parent} is not capcast's"


def _command_line(folder: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "capcast", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"} | ({"PYTHONPATH": str(pythonpath)} if pythonpath else {}),
        cwd=folder,  # the working folder comes first on the path of `python -m`
        check=False,
    )


def test_the_command_line_starts_from_any_folder(tmp_path):
    """However capcast is installed (an editable install finds its packages by a finder of its own)."""
    result = _command_line(tmp_path)
    assert result.returncode == 0 and "capcast: demand forecasts" in result.stdout, result.stderr


def test_the_command_line_names_the_clash_in_one_line(tmp_path):
    clash = _package(tmp_path / "elsewhere", "features")
    result = _command_line(tmp_path, pythonpath=clash)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"capcast: package 'features' is imported from {clash / 'features'}, not from capcast ({HOME / 'features'}): "
        "another distribution or folder named 'features' shadows it; remove it from the path or install capcast "
        "in a virtual environment of its own"
    ]
