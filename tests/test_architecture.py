"""Dependencies point one way: mobile_api → enforcement → the three pure cores."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORES = ("gis", "random_sampler", "credit_rating")
FORBIDDEN = {
    **{
        core: {"sqlalchemy", "geoalchemy2", "pyramid", "celery", "enforcement", "mobile_api"}
        for core in CORES
    },
    "enforcement": {"mobile_api", "pyramid", "webob"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package: str) -> None:
    sources = sorted((ROOT / package).rglob("*.py"))
    assert sources, f"{package}/ has no Python files"
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & FORBIDDEN[package])
        for path in sources
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}
