"""Walking TIR from Python: TVM 0.27 exposes no statement visitor, so the few facts the
program space needs about loops and blocks are read by hand here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import tvm
from tvm.ir import IRModule
from tvm.s_tir import SBlock, SBlockRealize, Schedule


def loop_facts(loop: Any) -> dict[str, Any]:
    return {
        "loop": str(loop.loop_var.name),
        "extent": const_extent(loop),
        "block": next((str(s.name_hint) for s in walk(loop) if isinstance(s, SBlock)), "?"),
    }


def const_extent(loop: Any) -> int:
    """A loop's extent, or 0 when it is not a constant."""
    extent = loop.extent
    return int(extent) if isinstance(extent, tvm.tirx.IntImm | int) else 0


def target_name(sch: Schedule, rv: Any) -> str:
    """The block name (or loop variable) an instruction acts on."""
    stmt = sch.get(rv)
    if isinstance(stmt, SBlock):
        return str(stmt.name_hint)
    return str(stmt.loop_var.name) if isinstance(stmt, tvm.tirx.For) else "?"


def children(stmt: Any) -> list[Any]:
    """The statements directly inside ``stmt`` (TVM 0.27 exposes no TIR visitor to Python)."""
    if isinstance(stmt, tvm.tirx.SeqStmt):
        return list(stmt.seq)
    if isinstance(stmt, SBlockRealize):
        return [stmt.block]
    if isinstance(stmt, SBlock):
        return [stmt.body] + ([stmt.init] if stmt.init is not None else [])
    if isinstance(stmt, tvm.tirx.IfThenElse):
        return [s for s in (stmt.then_case, stmt.else_case) if s is not None]
    body = getattr(stmt, "body", None)
    return [body] if isinstance(body, tvm.tirx.Stmt) else []


def walk(stmt: Any) -> Iterator[Any]:
    """Every statement under ``stmt``, itself included, in pre-order."""
    yield stmt
    for child in children(stmt):
        yield from walk(child)


def loop_count(mod: IRModule) -> int:
    """The number of loops in the module: an upper bound on compute-location indices."""
    return sum(isinstance(s, tvm.tirx.For) for f in mod.functions.values() for s in walk(f.body))


def loop_nests(mod: IRModule) -> list[tuple[int, ...]]:
    """For every block, the constant extents of the loops around it, outermost first."""
    nests: list[tuple[int, ...]] = []

    def visit(stmt: Any, extents: tuple[int, ...]) -> None:
        if isinstance(stmt, tvm.tirx.For):
            extents += (const_extent(stmt),)
        elif isinstance(stmt, SBlock):
            if extents:
                nests.append(tuple(e for e in extents if e))
            extents = ()
        for child in children(stmt):
            visit(child, extents)

    for func in mod.functions.values():
        visit(func.body, ())
    return nests
