"""A kernel that computes wrong numbers is never reported as a result."""

from __future__ import annotations

from pathlib import Path

import pytest
import tvm
import tvm_ffi
from tvm import te
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.stmt import SBlock, SBlockRealize

from colt.journal import Journal, SampleMeasured
from colt.run import Timer
from colt.runs.recorder import Recorder
from colt.schedule.devices import Measurement
from colt.schedule.environment import to_candidate
from colt.schedule.measure import BatchTimes
from colt.schedule.program import host_target
from colt.schedule.session import TuningSession, root_block_name
from colt.schedule.weight_layouts import LAYOUT_FREE
from colt.workloads import get_workload

pytestmark = pytest.mark.slow


def _wrong_matmul(session: TuningSession) -> tvm.IRModule:
    """Same signature as matmul-small, but it forgets the last element of every reduction."""
    (m, n), (n, p) = session.inputs[0].shape, session.inputs[1].shape
    a = te.placeholder((m, n), name="A")
    b = te.placeholder((n, p), name="B")
    k = te.reduce_axis((0, n - 1), name="k")
    c = te.compute((m, p), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), name="C")
    return tvm.IRModule({"main": te.create_prim_func([a, b, c])})


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> TuningSession:
    workload = get_workload("matmul-small")
    return TuningSession(
        workload, host_target(), num_threads=1, database_dir=tmp_path_factory.mktemp("db")
    )


def test_correct_schedule_passes(session: TuningSession) -> None:
    assert session.verify(session.mod) is None
    for program in session.space.design_spaces():
        assert session.verify(program.mod) is None


def test_wrong_schedule_is_rejected(session: TuningSession) -> None:
    error = session.verify(_wrong_matmul(session))
    assert error is not None and "differs from the reference" in error


def test_wrong_kernel_never_becomes_the_best(session: TuningSession, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    recorder = Recorder(session, journal, Timer(), naive_latency_s=1.0)
    wrong = _wrong_matmul(session)
    candidate = ms.MeasureCandidate(
        tvm.s_tir.Schedule(wrong), ms.arg_info.ArgInfo.from_prim_func(wrong["main"])
    )
    (latency,) = recorder.measure([123], [candidate])
    assert latency is None
    assert recorder.best_latency_s is None and recorder.best_schedule is None
    assert recorder.verification_failures and recorder.verification_failures[0].sample == 1
    assert recorder.curve[0].error.startswith("wrong result")
    assert len(session.database) == 0  # nothing wrong reaches the database


def _candidate(mod: tvm.IRModule) -> ms.MeasureCandidate:
    return ms.MeasureCandidate(
        tvm.s_tir.Schedule(mod), ms.arg_info.ArgInfo.from_prim_func(mod["main"])
    )


def test_only_a_batchs_fastest_new_best_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch [correct 3 s, wrong 1 s, correct 2 s] after nothing: the wrong one is checked
    first (the fastest) and refused, then the 2 s one passes; the 3 s one is never checked and
    never the best, even on the curve before the 2 s sample. The latencies are scripted (the
    logic is the recorder's), the checks are real builds and runs."""
    session = TuningSession(
        get_workload("matmul-small"), host_target(), num_threads=1, database_dir=tmp_path / "db"
    )
    correct = session.space.design_spaces()[0].sch.mod
    scripted = iter([[3.0, 1.0, 2.0], [2.5]])

    def measure(candidates: list, screen: object = None) -> tuple[list[Measurement], BatchTimes]:
        times = next(scripted)
        assert len(times) == len(candidates)
        return [Measurement(t, (t,), None, "local") for t in times], BatchTimes(0.0, 0.0)

    checked: list[tvm.IRModule] = []
    verify = session.verify
    monkeypatch.setattr(session.measurer, "measure", measure)
    monkeypatch.setattr(
        session, "verify", lambda mod, artifact=None: checked.append(mod) or verify(mod, artifact)
    )
    journal = Journal(tmp_path / "journal.jsonl")
    recorder = Recorder(session, journal, Timer(), naive_latency_s=10.0)
    wrong = _wrong_matmul(session)
    latencies = recorder.measure([1, 2, 3], [_candidate(m) for m in (correct, wrong, correct)])
    assert latencies == [3.0, None, 2.0]
    assert len(checked) == 2 and tvm_ffi.structural_equal(checked[0], wrong)
    assert [p.best_latency_s for p in recorder.curve] == [None, None, 2.0]
    assert recorder.best_latency_s == 2.0
    events = journal.of_kind(SampleMeasured)
    assert [e.verified for e in events] == [False, False, True]
    assert events[1].error.startswith("wrong result")
    recorder.measure([4], [_candidate(correct)])  # slower than the best: nothing to check
    assert len(checked) == 2 and journal.of_kind(SampleMeasured)[-1].verified is None
    resumed = Recorder(session, Journal(tmp_path / "journal.jsonl"), Timer(), naive_latency_s=10.0)
    resumed.measure([1, 2, 3], [_candidate(m) for m in (correct, wrong, correct)])
    assert [p.best_latency_s for p in resumed.curve] == [None, None, 2.0]  # replayed alike


def test_a_screened_sample_is_timed_in_full_before_it_can_be_the_best(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch [wrong 1 s in full, correct 2 s timed once against it]: the wrong one is refused,
    so the screened sample is timed again in full (2.2 s) and checked; the best and the
    journal carry every repeat. Latencies scripted, checks real."""
    session = TuningSession(
        get_workload("matmul-small"), host_target(), num_threads=1, database_dir=tmp_path / "db"
    )
    correct = session.space.design_spaces()[0].sch.mod
    full = (2.2,) * 5
    scripted = iter(
        [
            [Measurement(1.0, (1.0,) * 5, None), Measurement(2.0, (2.0,), None, screened=True)],
            [Measurement(2.2, full, None)],
        ]
    )
    screens: list[object] = []

    def measure(candidates: list, screen: object = None) -> tuple[list[Measurement], BatchTimes]:
        screens.append(screen)
        return next(scripted), BatchTimes(0.0, 0.0)

    monkeypatch.setattr(session.measurer, "measure", measure)
    journal = Journal(tmp_path / "journal.jsonl")
    recorder = Recorder(session, journal, Timer(), naive_latency_s=10.0, screen_ratio=1.5)
    latencies = recorder.measure([1, 2], [_candidate(m) for m in (_wrong_matmul(session), correct)])
    assert latencies == [None, 2.2] and recorder.best_latency_s == 2.2
    assert screens[0] is not None and screens[1] is None  # the second timing is in full
    event = journal.of_kind(SampleMeasured)[-1]
    assert (event.verified, event.screened, tuple(event.run_secs)) == (True, False, full)


def test_the_unscheduled_record_is_what_the_database_finds(session: TuningSession) -> None:
    """A sample slower than the unscheduled program never wins ``compile_relax``'s lookup:
    MetaSchedule's database passes over a record with an empty trace, so the unscheduled
    record must not have one."""
    program = session.space.design_spaces()[0]
    session.commit(program.sch, (9.0,))
    session.commit_unscheduled([1.0])
    best = session.database.query_tuning_record(session.mod, session.target, "main")
    assert best is not None and [float(s) for s in best.run_secs] == [1.0]


def test_the_unscheduled_record_names_the_functions_own_root_block() -> None:
    """The record's one instruction looks the root block up by its name, whatever it is."""
    a = te.placeholder((4,), name="A")
    b = te.compute((4,), lambda i: a[i] * 2.0, name="B")
    func = te.create_prim_func([a, b])
    assert root_block_name(func) == "root"
    block = func.body.block
    outer = SBlock(
        block.iter_vars,
        block.reads,
        block.writes,
        "outer",
        block.body,
        block.init,
        block.alloc_buffers,
        block.match_buffers,
        block.annotations,
    )
    renamed = func.with_body(SBlockRealize([], True, outer))
    assert root_block_name(renamed) == "outer"
    tvm.s_tir.Schedule(tvm.IRModule({"main": renamed})).get_sblock(root_block_name(renamed))
    with pytest.raises(ValueError, match="not a block"):
        root_block_name(tvm.tirx.PrimFunc([], tvm.tirx.Evaluate(0)))


def _rms_scale(rows: int, cols: int, *, wrong: bool = False) -> tvm.tirx.PrimFunc:
    """An RMSNorm tail as a network hands it to one task: its input is a mean of squares
    that N(0, 1) draws make negative (rsqrt: NaN rows); ``wrong`` forgets the epsilon."""
    x = te.placeholder((rows, cols), name="X")
    sq = te.placeholder((rows,), name="S")
    eps = 0.0 if wrong else 1e-2
    y = te.compute((rows, cols), lambda i, j: x[i, j] * te.rsqrt(sq[i] + eps), name="Y")
    return te.create_prim_func([x, sq, y])


def _task_session(func: tvm.tirx.PrimFunc, tmp_path: Path) -> TuningSession:
    from colt.workloads.base import Workload

    workload = Workload(
        name="net/rms", family="task", description="a task", flops=1.0, build=lambda: func
    )
    return TuningSession(workload, host_target(), num_threads=1, database_dir=tmp_path)


def test_a_task_whose_random_inputs_leave_its_domain_still_verifies(tmp_path: Path) -> None:
    """Every sample of such a task was once refused ("max abs error nan") and the network
    kept the unscheduled kernel."""
    session = _task_session(_rms_scale(16, 32), tmp_path)
    assert (session.inputs[1] < 0).any()  # the draw that made NaN rows
    for program in session.space.design_spaces():
        assert session.verify(program.mod) is None
    assert (session.inputs[1] >= 0).all()  # redrawn as magnitudes
    wrong = tvm.IRModule({"main": _rms_scale(16, 32, wrong=True)})
    error = session.verify(wrong)
    assert error is not None and "differs from the reference" in error


def test_a_new_best_is_checked_as_built_and_timed_and_no_artifact_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification runs the library that was timed (no second build), a wrong one is still
    refused, and a round leaves none of its builds behind."""
    session = TuningSession(
        get_workload("matmul-small"), host_target(), num_threads=1, database_dir=tmp_path / "db"
    )
    ran: list[Path] = []
    run_artifact = session.devices.run_artifact

    def spy(artifact: Path, arrays: list) -> list:
        assert artifact.exists()
        ran.append(artifact)
        return run_artifact(artifact, arrays)

    monkeypatch.setattr(session.devices, "run_artifact", spy)
    recorder = Recorder(session, Journal(tmp_path / "journal.jsonl"), Timer(), naive_latency_s=1.0)
    assert recorder.measure([1], [_candidate(_wrong_matmul(session))]) == [None]
    assert len(ran) == 1 and recorder.verification_failures
    correct = session.space.design_spaces()[0].sch.mod
    (latency,) = recorder.measure([2], [_candidate(correct)])
    assert latency is not None and recorder.best_latency_s == latency and len(ran) == 2
    assert not any(path.parent.exists() for path in ran)


def test_a_layout_free_task_is_checked_on_a_build_of_its_whole_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its kernels are built without the copies of its weights into their tuned layouts, so
    their artifacts would read the inputs in the wrong layout: never checked as timed."""
    session = _task_session(_rms_scale(8, 16).with_attr(LAYOUT_FREE, [1]), tmp_path)

    def refuse(*args: object) -> None:
        raise AssertionError("a layout-free task's artifact was checked")

    monkeypatch.setattr(session.devices, "run_artifact", refuse)
    recorder = Recorder(session, Journal(tmp_path / "journal.jsonl"), Timer(), naive_latency_s=1.0)
    program = session.space.design_spaces()[0]
    assert "layout_rewrite_preproc" in program.sch.mod.script()  # S is copied into (2, 4)
    (latency,) = recorder.measure([1], [to_candidate(session.space, program)])
    assert latency is not None and recorder.curve[0].error is None
