"""Import rules read from the source: the search core stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "colt"
# pydantic: the search settings validate themselves (colt.search.config)
THIRD_PARTY_ALLOWED_IN_SEARCH = {"numpy", "pydantic"}


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


TVM_DOOR = "schedule"  # the one package that builds, times, hashes or searches with TVM
PROGRAM_DEFINITIONS = "workloads"  # may define programs with TE and Relax, nothing more
TVM_TOOLCHAIN = {"tvm_ffi", "xgboost"}


def _tvm_uses(name: str) -> str | None:
    top = name.split(".")[0]
    if top in TVM_TOOLCHAIN or "meta_schedule" in name:
        return "toolchain"
    if top == "tvm":
        return "tvm"
    return None


def test_tvm_is_behind_one_door() -> None:
    """Only colt/schedule imports MetaSchedule, tvm_ffi or xgboost; besides it only
    colt/workloads imports tvm at all (to define programs)."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        package = path.relative_to(PACKAGE).parts[0]
        if package == TVM_DOOR:
            continue
        uses = {name for name in _imports(path) if _tvm_uses(name)}
        if package == PROGRAM_DEFINITIONS:
            uses = {name for name in uses if _tvm_uses(name) == "toolchain"}
        if uses:
            offenders[str(path.relative_to(PACKAGE))] = sorted(uses)
    assert offenders == {}


def test_the_rule_reader_sees_imports_inside_functions() -> None:
    source = PACKAGE / "schedule" / "targets.py"
    assert "xgboost" in _imports(source)  # imported inside toolchain_versions()


def test_modules_and_functions_stay_small() -> None:
    """Every module under 400 lines; a function over 60 lines says why in a ``# long:``
    comment inside it."""
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        if len(lines) >= 400:
            too_long.append(f"{path.name}: {len(lines)} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = lines[node.lineno - 1 : node.end_lineno]
                if len(body) > 60 and not any("# long:" in line for line in body):
                    too_long.append(f"{path.name}: {node.name}() {len(body)} lines")
    assert not too_long
