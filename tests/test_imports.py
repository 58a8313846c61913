"""Import rules read from the source: the search core stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "colt"
# pydantic: the search settings validate themselves (colt.search.config)
THIRD_PARTY_ALLOWED_IN_SEARCH = {"numpy", "pydantic"}


def _imports(path: Path) -> set[str]:
    """What ``path`` imports when it runs (an import for annotations only uses nothing)."""
    names: set[str] = set()
    for node in _nodes_at_run_time(ast.parse(path.read_text())):
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


# The import graph of the package: one edge per colt module a module imports, at module level
# or inside a function, outside ``if TYPE_CHECKING:`` blocks.
UPPER_LAYERS = (
    "colt.api",
    "colt.cli",
    "colt.run",
    "colt.journal",
    "colt.records",
    "colt.grid",
    "colt.runs",
    "colt.report",
)
PURE_LAYERS = ("colt.search", "colt.schedule")
# Edges allowed to break the rules: none today. An entry here must say why; the tests fail on
# any edge not listed, and on a listed edge that no longer exists.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes_at_run_time(tree: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    for child in ast.iter_child_nodes(tree):
        nodes: list[ast.AST] = [child]
        if isinstance(child, ast.If) and _is_type_checking(child):
            nodes = list(child.orelse)
        for node in nodes:
            found.append(node)
            found.extend(_nodes_at_run_time(node))
    return found


def _known_module(name: str) -> str | None:
    """The deepest module of the package that ``name`` names (``colt.a.b.f`` → ``colt.a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _colt_imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in _nodes_at_run_time(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    targets = {_known_module(name) for name in names if name.split(".")[0] == "colt"}
    return {target for target in targets if target and target != module}


def _import_graph() -> dict[str, set[str]]:
    return {module: _colt_imports(module) for module in MODULES}


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        for target in sorted(graph[module]):
            if cycle := visit(target, [*path, module]):
                return cycle
        done.add(module)
        return None

    return next((cycle for module in sorted(graph) if (cycle := visit(module, []))), None)


def test_the_import_graph_has_no_cycle() -> None:
    graph = _import_graph()
    for source, target in KNOWN_VIOLATIONS:
        graph[source].discard(target)
    assert _a_cycle(graph) is None


def _within(module: str, layers: tuple[str, ...]) -> bool:
    """``module`` is one of ``layers`` or inside one (``colt.records_library`` is not in
    ``colt.records``)."""
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


def test_search_and_schedule_import_nothing_above_them() -> None:
    upward = {
        (module, target)
        for module, targets in _import_graph().items()
        if _within(module, PURE_LAYERS)
        for target in targets
        if _within(target, UPPER_LAYERS)
    }
    assert upward - KNOWN_VIOLATIONS.keys() == set()


def test_every_known_violation_still_exists() -> None:
    graph = _import_graph()
    stale = [edge for edge in KNOWN_VIOLATIONS if edge[1] not in graph[edge[0]]]
    assert stale == [], "the code no longer has these edges: delete their entries"


def test_the_graph_sees_relative_and_function_level_imports_and_skips_type_checking() -> None:
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert "colt.runs.recorder" in _colt_imports("colt.runs.kernel")  # inside a function
    tree = ast.parse("if TYPE_CHECKING:\n    import a\nelse:\n    import b\nimport c\n")
    imported = {n.names[0].name for n in _nodes_at_run_time(tree) if isinstance(n, ast.Import)}
    assert imported == {"b", "c"}
    relative = _colt_imports("colt.workloads")  # from ..errors import ...; from . import matmul
    assert {"colt.errors", "colt.workloads.matmul", "colt.workloads.base"} <= relative
