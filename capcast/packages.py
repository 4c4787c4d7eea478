"""capcast installs top-level packages under generic names (``features``, ``models``, ``training``,
``serving``, ``planning``, ``inventory``) that another distribution, or a folder of that name on
``sys.path``, could also provide. This finds such a clash without importing the packages (the
service must import ``models`` and ``features`` from the served model version's own copy first)."""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

__all__ = ["OWN_PACKAGES", "PackageClash", "foreign_package"]

OWN_PACKAGES = ("features", "models", "training", "serving", "planning", "inventory")
_MARKER = '__distribution__ = "capcast"'


class PackageClash(ImportError):
    """A package capcast imports by a generic name is someone else's."""


def _find_spec(name: str) -> ModuleSpec | None:
    """The spec an ``import name`` would load now, ignoring ``sys.modules``: the first of the import
    system's finders to know it (folders on ``sys.path``, then an editable install's finder)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(name, None) if find is not None else None
        if spec is not None:
            return spec
    return None


def foreign_package(home: Path, names: tuple[str, ...] = OWN_PACKAGES) -> str | None:
    """One line naming the first of ``names`` that an import would now find somewhere other than
    ``home`` (the folder holding capcast's packages), or whose ``__init__.py`` is not capcast's;
    None when every one is capcast's own.

    A package already imported is judged by the copy in use: it must be capcast's, but may sit
    elsewhere, since a served model version imports its own copy of ``models`` and ``features``
    (MLflow ``code_paths``) before the service reads its settings.
    """
    for name in names:
        if (loaded := sys.modules.get(name)) is not None and getattr(loaded, "__file__", None):
            # Already imported: what runs is this copy, wherever it is (a model version brings its own).
            if _MARKER not in Path(loaded.__file__).read_text(encoding="utf-8", errors="replace"):
                return f"package {name!r} imported from {Path(loaded.__file__).parent} is not capcast's"
            continue
        spec = _find_spec(name)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        expected = home / name / "__init__.py"
        if origin is None:
            return f"capcast's package {name!r} is missing from {home}: reinstall capcast"
        if origin.resolve() != expected.resolve():
            return (
                f"package {name!r} is imported from {origin.parent}, not from capcast ({expected.parent}): "
                f"another distribution or folder named {name!r} shadows it; remove it from the path or "
                "install capcast in a virtual environment of its own"
            )
        if _MARKER not in origin.read_text(encoding="utf-8", errors="replace"):
            return (
                f"package {name!r} at {origin.parent} is not capcast's: another distribution installed its own "
                f"{name!r} over it; install capcast in a virtual environment of its own"
            )
    return None
