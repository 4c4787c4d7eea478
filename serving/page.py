"""The planner page's files: its HTML, scripts and styles ship in the package (``serving/ui``), and
Plotly.js comes from the ``plotly`` wheel, so the page works on a plant network with no internet."""

from __future__ import annotations

from pathlib import Path

__all__ = ["UI", "asset", "plotly_js"]

UI = Path(__file__).with_name("ui")
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def plotly_js() -> Path:
    """The minified Plotly.js bundled in the installed ``plotly`` package."""
    import plotly

    return Path(plotly.__file__).with_name("package_data") / "plotly.min.js"


def asset(name: str) -> tuple[Path, str] | None:
    """The file of the page's asset ``name`` and its media type; None for a name the page does
    not ship (including any path outside its folder)."""
    if name == "plotly.min.js":
        return plotly_js(), _TYPES[".js"]
    path = (UI / name).resolve()
    if path.parent != UI.resolve() or not path.is_file() or path.suffix not in _TYPES:
        return None
    return path, _TYPES[path.suffix]
