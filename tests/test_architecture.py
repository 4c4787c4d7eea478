"""The import graph between capcast's packages is the one docs/ARCHITECTURE.md draws: every import
of every module, read with ``ast`` (function-level imports included), along an allowed edge."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("features", "models", "training", "planning", "inventory", "serving", "capcast")
# docs/ARCHITECTURE.md, "Imports": what each top-level package may import of the others.
ALLOWED = {
    "features": set(),
    "models": {"features"},
    "training": {"features", "models"},
    "planning": set(),
    "inventory": set(),
    "serving": {"planning", "inventory", "capcast.settings", "capcast"},
    "capcast": {"features", "training", "serving", "planning", "inventory"},
    "benchmarks": set(PRODUCT),
    "tests": {*PRODUCT, "benchmarks"},
}
# Libraries a package must not import (docs/ARCHITECTURE.md, "Imports").
FORBIDDEN_LIBRARIES = {
    "planning": {
        "pandas",
        "numpy",
        "sklearn",
        "lightgbm",
        "mlforecast",
        "statsforecast",
        "mlflow",
        "bentoml",
        "fastapi",
    },
    "inventory": {
        "pandas",
        "numpy",
        "sklearn",
        "lightgbm",
        "mlforecast",
        "statsforecast",
        "mlflow",
        "bentoml",
        "fastapi",
    },
    "features": {"mlflow", "bentoml", "ortools"},
    "models": {"mlflow", "bentoml", "ortools"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _edge_allowed(package: str, module: str) -> bool:
    top = module.split(".")[0]
    if top == package or top not in {*PRODUCT, "benchmarks", "tests"}:
        return True
    allowed = ALLOWED[package]
    return top in allowed or any(module == rule or module.startswith(f"{rule}.") for rule in allowed if "." in rule)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_documented_edges(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules(package)
        for line, module in _imports(path)
        if not _edge_allowed(package, module)
    ]
    assert wrong == [], "\n".join(wrong)


def test_serving_takes_only_the_settings_from_the_front_door():
    """``capcast`` itself (its package check) and ``capcast.settings``, never the command line."""
    taken = {module for path in _modules("serving") for _, module in _imports(path) if module.startswith("capcast")}
    assert taken <= {"capcast", "capcast.settings"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN_LIBRARIES))
def test_packages_keep_out_of_the_libraries_they_must_not_depend_on(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules(package)
        for line, module in _imports(path)
        if module.split(".")[0] in FORBIDDEN_LIBRARIES[package]
    ]
    assert wrong == [], "\n".join(wrong)


def test_other_packages_use_planning_through_its_public_api():
    """Outside ``planning`` (and the tests of its internals), ``from planning import ...`` only."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package in ("serving", "capcast", "benchmarks")
        for path in _modules(package)
        for line, module in _imports(path)
        if module.startswith("planning.")
    ]
    assert wrong == [], "\n".join(wrong)


def test_the_documented_table_is_the_one_tested():
    """docs/ARCHITECTURE.md lists, for each package, what ALLOWED allows."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text[text.index("| package | may import |") : text.index("And these rules on libraries")]
    for package in ("features", "models", "training", "planning", "inventory", "capcast"):
        row = next(line for line in table.splitlines() if line.startswith(f"| `{package}` |"))
        documented = {name.strip("` ") for name in row.split("|")[2].split(",") if name.strip() not in ("—", "")}
        assert documented == ALLOWED[package], package
