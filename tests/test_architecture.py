"""The import graph between capcast's packages is the one docs/ARCHITECTURE.md draws: every import
of every module, read with ``ast`` (function-level imports included), along an edge the document's
table allows, and no library a package must keep out of."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("features", "models", "training", "planning", "inventory", "serving", "capcast")
ML_AND_HTTP = {"pandas", "numpy", "sklearn", "lightgbm", "mlforecast", "statsforecast", "mlflow", "bentoml", "fastapi"}
# docs/ARCHITECTURE.md, "Imports": the libraries a package must not import.
FORBIDDEN_LIBRARIES = {
    "planning": ML_AND_HTTP,
    "inventory": ML_AND_HTTP,
    "features": {"mlflow", "bentoml", "ortools"},
    "models": {"mlflow", "bentoml", "ortools"},
}


def _documented_edges() -> dict[str, set[str]]:
    """What each product package may import, read from the document's table."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text[text.index("| package | may import |") :].split("\n\n")[0]
    edges = {}
    for row in table.splitlines()[2:]:
        package, allowed = (cell.strip() for cell in row.strip("|").split("|"))
        name = package.strip("`")
        if name in PRODUCT:
            edges[name] = set(re.findall(r"`([a-z_.]+)`", allowed))
    return edges


ALLOWED = _documented_edges() | {
    # The two rows the document writes in words: every product package, and everything.
    "benchmarks": set(PRODUCT),
    "tests": {*PRODUCT, "benchmarks"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every absolute import in a file; ``from a import b`` is ``a.b`` (a module or
    a name in ``a``: either way it comes from ``a``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _edge_allowed(package: str, module: str) -> bool:
    """Within the package, outside capcast, or along an allowed edge (a dotted one allows that module)."""
    top = module.split(".")[0]
    if top == package or top not in {*PRODUCT, "benchmarks", "tests"}:
        return True
    return any(module == rule or module.startswith(f"{rule}.") for rule in ALLOWED[package])


def _violations(packages, wrong) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package in packages
        for path in _modules(package)
        for line, module in _imports(path)
        if wrong(package, module)
    ]


def test_the_document_gives_every_product_package_a_row():
    assert set(_documented_edges()) == set(PRODUCT)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_documented_edges(package):
    wrong = _violations([package], lambda package, module: not _edge_allowed(package, module))
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("package", sorted(FORBIDDEN_LIBRARIES))
def test_packages_keep_out_of_the_libraries_they_must_not_depend_on(package):
    wrong = _violations([package], lambda package, name: name.split(".")[0] in FORBIDDEN_LIBRARIES[package])
    assert wrong == [], "\n".join(wrong)


def test_other_packages_use_planning_through_its_public_api():
    """Outside ``planning`` (and the tests of its internals), ``from planning import ...``, or the plan store."""
    wrong = _violations(
        ["serving", "capcast", "benchmarks"],
        lambda _, name: name.count(".") > 1 and name.startswith("planning.") and name.split(".")[1] != "store",
    )
    assert wrong == [], "\n".join(wrong)
