"""The process-wide builder pool survives its workers being killed from outside (a stopped run
kills its children; the pool outlives runs in one process)."""

from __future__ import annotations

import functools
from pathlib import Path

import psutil
import pytest
from tvm import te
from tvm.s_tir import meta_schedule as ms

from colt.schedule.measure import PooledBuilder, build_without_intrinsics, export_under
from colt.schedule.program import host_target

pytestmark = pytest.mark.slow


def _input() -> ms.builder.BuilderInput:
    a = te.placeholder((16,), name="A")
    b = te.compute((16,), lambda i: a[i] * 2.0, name="B")
    mod = te.create_prim_func([a, b])
    return ms.builder.BuilderInput(ms.tir_integration._normalize_mod(mod), host_target(1))


def test_a_killed_worker_is_replaced_and_the_batch_still_builds() -> None:
    builder = PooledBuilder(f_build=build_without_intrinsics, timeout_sec=60.0, max_workers=1)
    try:
        (first,) = builder.build([_input()])
        assert first.error_msg is None
        workers = psutil.Process().children(recursive=True)
        assert workers
        for worker in workers:
            worker.kill()
        psutil.wait_procs(workers, timeout=10)
        (again,) = builder.build([_input()])
        assert again.error_msg is None, again.error_msg
    finally:
        builder.close()


def test_stopped_builders_end_their_workers_and_the_next_build_starts_new_ones() -> None:
    """What a grid does between cells, so that no cell finds the last one's workers warm."""
    from colt.grid import _stop_build_workers
    from colt.schedule.measure import pooled_builder

    builder = pooled_builder(61.0)
    (built,) = builder.build([_input()])
    assert built.error_msg is None
    _assert_linked_and_runs(Path(built.artifact_path))
    workers = psutil.Process().children(recursive=True)
    assert workers
    _stop_build_workers()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive
    again = pooled_builder(61.0)
    assert again is not builder
    try:
        (built,) = again.build([_input()])
        assert built.error_msg is None
    finally:
        _stop_build_workers()


def _assert_linked_and_runs(artifact: Path) -> None:
    """A run's builder writes a shared library, linked once in the build worker, which the
    timing worker loads as it is (an archive is linked again at every load)."""
    import numpy as np
    import tvm

    assert artifact.suffix == ".so"
    lib = tvm.runtime.load_module(str(artifact))
    a = tvm.runtime.tensor(np.arange(16, dtype="float32"))
    b = tvm.runtime.tensor(np.zeros(16, dtype="float32"))
    lib["main"](a, b)
    np.testing.assert_array_equal(b.numpy(), 2.0 * np.arange(16, dtype="float32"))
    assert not list(artifact.parent.glob("*.tar"))


def test_stock_builds_export_under_a_folder_the_caller_removes(tmp_path: Path) -> None:
    """The export ``stock_tune_relax`` gives MetaSchedule's own builder: sent to its worker
    processes, it puts each artifact under one folder, so nothing stays in the temporary
    directory once that folder is removed."""
    builder = ms.builder.LocalBuilder(
        f_build=build_without_intrinsics,
        f_export=functools.partial(export_under, str(tmp_path)),
        max_workers=1,
    )
    (built,) = builder.build([_input()])
    assert built.error_msg is None, built.error_msg
    artifact = Path(built.artifact_path)
    assert artifact.is_file() and artifact.parent.parent == tmp_path


def test_warmed_workers_are_up_before_the_first_build() -> None:
    """``warm`` starts every worker without a build to wait for, so the first (timed) build
    does not pay their imports."""

    def children() -> set[int]:
        return {child.pid for child in psutil.Process().children()}

    before = children()
    builder = PooledBuilder(f_build=build_without_intrinsics, timeout_sec=60.0, max_workers=2)
    try:
        assert not children() - before  # a pool starts no worker by itself
        builder.warm()
        builder.wait_warm()  # returns once both have started and imported what a build needs
        warmed = children() - before
        assert len(warmed) == 2
        (built,) = builder.build([_input()])
        assert built.error_msg is None, built.error_msg
        assert children() - before == warmed  # the build ran on a warmed worker
    finally:
        builder.close()
