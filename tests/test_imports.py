"""Import rules read from the source: the search core stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "colt"
THIRD_PARTY_ALLOWED_IN_SEARCH = {"numpy"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_search_imports_nothing_outside_itself() -> None:
    import sys

    stdlib = sys.stdlib_module_names
    offenders = {}
    for path in sorted((PACKAGE / "search").glob("*.py")):
        bad = {
            name
            for name in _imports(path)
            if name.split(".")[0] not in stdlib
            and name.split(".")[0] not in THIRD_PARTY_ALLOWED_IN_SEARCH
            and not name.startswith("colt.search")
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}
