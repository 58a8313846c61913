"""TVM's own MetaSchedule test workloads (``tvm.s_tir.meta_schedule.testing.te_workload``).

They ship under MetaSchedule's namespace, and only this package may import MetaSchedule, so the
workload family ``colt.workloads.tvm_suite`` builds its programs through here. Importing this
module is cheap; MetaSchedule is loaded when a program is first built.
"""

from __future__ import annotations

from typing import Any

import tvm

DEFAULT_INDEX = 0  # the shape TVM's own tune_te script tunes (its first row of CONFIGS)


def tvm_test_program(short_name: str, index: int = DEFAULT_INDEX) -> tvm.tirx.PrimFunc:
    """The unscheduled PrimFunc of TVM's workload ``short_name`` (C2D, GMM, ...) at row
    ``index`` of its shape table."""
    from tvm.s_tir.meta_schedule.testing import te_workload

    return te_workload.create_te_workload(short_name, index)


def tvm_test_shape(short_name: str, index: int = DEFAULT_INDEX) -> tuple[Any, ...]:
    """The arguments TVM passes to the workload's TE function at row ``index``."""
    from tvm.s_tir.meta_schedule.testing import te_workload

    return tuple(te_workload.CONFIGS[short_name][1][index])


def tvm_test_names() -> tuple[str, ...]:
    """Every short name TVM's table has, in its order."""
    from tvm.s_tir.meta_schedule.testing import te_workload

    return tuple(te_workload.CONFIGS)
