"""Weight layouts chosen by the tuner, made once at load instead of on every forward pass.

A network's weights (``main``'s parameters after ``num_input``) and constants are marked
layout-free in the kernels that read them (``relax.transform.AttachAttrLayoutFreeBuffers``)
before the tasks are extracted. MetaSchedule's ``RewriteLayout`` postprocessor then adds to
each sampled schedule a block that copies such a weight into the layout its loops read best
(annotated ``meta_schedule.layout_rewrite_preproc``), and the builder measures the kernel
without that block, on weights already in that layout. After the database is applied,
``SplitLayoutRewritePreproc`` splits each of those blocks into a function of its own,
``LiftTransformParams`` moves those calls into ``main_transform_params`` (beside the weight
work lifted before tuning, which it extends) and ``FoldConstant`` runs them on constants:
``main`` takes the weights in the tuned layouts and never converts them. This is TVM's own
``static_shape_tuning_pipeline(cpu_weight_prepack=True)``, on COLT's passes.
"""

from __future__ import annotations

from typing import Any

import tvm
import tvm_ffi
from tvm import relax

from colt.schedule import tir_walk

LAYOUT_FREE = "layout_free_buffers"  # the PrimFunc attribute RewriteLayout reads
PREPROC = "meta_schedule.layout_rewrite_preproc"  # the annotation of a weight's layout copy


def mark_layout_free(mod: tvm.IRModule) -> tvm.IRModule:
    """``mod`` with each kernel that reads a weight or a constant marked so (its functions
    are renamed by TVM: ``plain_names`` gives their names back)."""
    return relax.transform.AttachAttrLayoutFreeBuffers()(mod)


def plain_names(before: tvm.IRModule, marked: tvm.IRModule) -> dict[str, str]:
    """The name each TIR function of ``marked`` (``mark_layout_free(before)``) had in
    ``before``: marking adds each marked function again under a fresh name and calls that
    one, so the call sites of the Relax functions, in order, pair the names."""
    renamed: dict[str, str] = {}
    for gv, func in before.functions.items():
        if isinstance(func, relax.Function):
            pairs = zip(_kernel_calls(func), _kernel_calls(marked[gv.name_hint]), strict=True)
            renamed.update({new: old for old, new in pairs})
    return renamed


def _kernel_calls(func: relax.Function) -> list[str]:
    """The TIR functions ``func`` calls (``call_tir``), in the order of its bindings."""
    call_tir = tvm.ir.Op.get("relax.call_tir")
    body = func.body
    bindings = [b for block in getattr(body, "blocks", []) for b in block.bindings]
    return [
        b.value.args[0].name_hint
        for b in bindings
        if isinstance(b.value, relax.Call) and b.value.op.same_as(call_tir)
    ]


def load_time_passes() -> list[Any]:
    """After the database is applied: every weight's layout copy into the load-time function."""
    transform = relax.transform
    return [
        transform.SplitLayoutRewritePreproc(),
        transform.LiftTransformParams(),
        transform.FoldConstant(),
    ]


def tuned_with_layouts(database: Any) -> bool:
    """Whether ``database``'s tasks were marked layout-free when they were tuned (a database
    from before then has plain tasks, which are applied, and built, as they were)."""
    return any(
        LAYOUT_FREE in (record.workload.mod["main"].attrs or {})
        for record in database.get_all_tuning_records()
    )


def rewrites_a_weight(database: Any, func: tvm.tirx.PrimFunc, target: tvm.target.Target) -> bool:
    """Whether the program the database gives ``func`` (its best record, what the tuned
    build applies) reads a weight in a layout of its own choosing."""
    sch = database.query_schedule(tvm.IRModule({"main": func}), target, "main")
    if sch is None:
        return False
    return any(
        isinstance(stmt, tvm.s_tir.SBlock) and PREPROC in stmt.annotations and _reorders(stmt)
        for stmt in tir_walk.walk(sch.mod["main"].body)
    )


def _reorders(copy: Any) -> bool:
    """Whether a layout copy block changes the layout (RewriteLayout also copies a buffer,
    a bias say, whose suggested layout is the one it has)."""
    store = copy.body
    load: Any = getattr(store, "value", None)
    source: Any = getattr(load, "source", None)  # TVM 0.27's TensorLoad: the buffer it reads
    if not isinstance(store, tvm.tirx.BufferStore) or not hasattr(source, "shape"):
        return True  # not the plain copy RewriteLayout makes: count it as a new layout
    if [int(n) for n in source.shape] != [int(n) for n in store.buffer.shape]:
        return True
    return not tvm_ffi.structural_equal(list(store.indices), list(load.indices))
