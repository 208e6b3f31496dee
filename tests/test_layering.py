"""The layers only point one way (STYLE.md): connectors/ and domain/ never import prefect,
and neither do the sandbox or the warehouse, which must run without an orchestrator."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NO_PREFECT = ("connectors", "domain", "warehouse", "sandbox", "expectations")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", NO_PREFECT)
def test_package_never_imports_prefect(package: str) -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / package).rglob("*.py"))
        if "prefect" in _imports(path)
    ]
    assert offenders == []


def test_sandbox_does_not_depend_on_the_pipeline() -> None:
    """The sandbox stands in for the providers: it must not know the pipeline's code."""
    pipeline = {"connectors", "domain", "warehouse", "tasks", "flows", "echeancier"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & pipeline)
        for path in sorted((ROOT / "sandbox").rglob("*.py"))
        if _imports(path) & pipeline
    }
    assert offenders == {}
