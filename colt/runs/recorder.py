"""The recorder every measured sample of a run goes through: measurement (or replay from the
run's journal), verification of each batch's new best, the database, the journal and the
best-so-far curve. It joins the run (journal, records) to the TVM session, which does the
measuring."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colt import interrupt
from colt.disk import write_atomic
from colt.journal import DeviceStateChanged, Journal, SampleMeasured
from colt.records import CurvePoint, VerificationFailure
from colt.run import Timer, write_json
from colt.schedule.devices import DeviceFault, Measurement
from colt.schedule.screening import Screen
from colt.schedule.session import UNVERIFIED, WRONG_RESULT, TuningSession

if TYPE_CHECKING:  # only for annotations: TVM is used through the session
    import tvm
    from tvm.s_tir import meta_schedule as ms


NOT_CHECKED = object()  # a sample the batch's verification did not check


def _beats(latency: float | None, best: float | None) -> bool:
    """Whether a measured latency (None: a failure) is a new best."""
    return latency is not None and (best is None or latency < best)


@dataclass
class Recorder:
    session: TuningSession
    journal: Journal
    timer: Timer
    naive_latency_s: float
    budget: int = 0  # samples the strategy may spend so far (a network's scheduler raises it)
    deadline_s: float | None = None  # wall-clock budget of the whole run (``--time``)
    # A candidate whose first timing is slower than this times the best so far is timed once
    # (``colt.schedule.screening.Screen``); None: every candidate gets every repeat.
    screen_ratio: float | None = None
    curve: list[CurvePoint] = field(default_factory=list)
    best_latency_s: float | None = None
    best_schedule: tvm.s_tir.Schedule | None = None
    verification_failures: list[VerificationFailure] = field(default_factory=list)
    # Told after every measurement round and every search step (the API writes results.json and
    # moves the progress bar); given the search, or None for MetaSchedule's own strategies.
    on_round: Callable[[Any], None] = lambda search: None
    on_step: Callable[[Any], None] = lambda search: None
    # The record library's sink (``colt.schedule.warm_start``): told each new sample.
    library: Callable[[list[SampleMeasured]], None] | None = None
    warm_start: Any = None  # what the run took from the library (a WarmStart), None: nothing

    def __post_init__(self) -> None:
        self.replayed = {e.key: e for e in self.journal.of_kind(SampleMeasured)}

    def write_best(self, run_dir: Path) -> None:
        """The best verified program as TVMScript and as its trace, beside the results."""
        if self.best_schedule is not None:
            write_atomic(run_dir / "best.py", self.best_schedule.mod.script())
            write_json(
                run_dir / "best_trace.json", self.best_schedule.trace.as_json(remove_postproc=True)
            )

    @property
    def samples(self) -> int:
        return len(self.curve)

    @property
    def out_of_time(self) -> bool:
        """Whether the run's wall-clock budget is spent (earlier invocations included)."""
        return self.deadline_s is not None and self.timer.elapsed() >= self.deadline_s

    @property
    def done(self) -> bool:
        """Whether the strategy must stop: no samples or no time left."""
        return self.samples >= self.budget or self.out_of_time

    def measure(
        self,
        keys: Sequence[Any],
        candidates: Sequence[ms.MeasureCandidate],
        sources: Sequence[tuple[str | None, str | None]] = (),
    ) -> list[float | None]:
        """Measures (or replays) a batch; returns the latency each one counts with, None for a
        failure (build, run, or wrong output). ``sources`` gives each sample's origin and the
        model that proposed it (COLT only) for the run's records."""
        live = [i for i, k in enumerate(keys) if k not in self.replayed]
        measured: dict[int, Measurement] = {}
        try:
            if live:
                ratio, best = self.screen_ratio, self.best_latency_s
                screen = Screen(ratio, best) if ratio else None
                results, times = self.session.measurer.measure(
                    [candidates[i] for i in live], screen
                )
                interrupt.check()  # an interrupted batch may have "failed": journal none of it
                self.timer.add("build", times.build_s)
                self.timer.add("run", times.run_s)
                measured = dict(zip(live, results, strict=True))
            checks = self._check_new_best(measured, candidates)
            latencies = []
            sources = list(sources) or [(None, None)] * len(keys)
            for index, (key, candidate) in enumerate(zip(keys, candidates, strict=True)):
                event = self.replayed.get(key) or self._record_live(
                    key, candidate, measured[index], checks.get(index, NOT_CHECKED)
                )
                latencies.append(self._add_point(event, candidate.sch, sources[index]))
        finally:  # a run that stops because its devices are lost says which and why
            self.journal_device_changes()
            self.session.measurer.clean()  # the batch's artifacts, verified or not needed
        return latencies

    def journal_device_changes(self) -> None:
        """Writes down the devices' state changes (lost, readmitted) since the last call."""
        for change in self.session.devices.take_changes():
            self.journal.append(DeviceStateChanged(**change.to_json()))

    @property
    def device_events(self) -> list[dict[str, Any]]:
        """Every device state change of the run, earlier invocations' included, in order."""
        return [e.model_dump(exclude={"kind"}) for e in self.journal.of_kind(DeviceStateChanged)]

    def _check_new_best(
        self, measured: dict[int, Measurement], candidates: Sequence[ms.MeasureCandidate]
    ) -> dict[int, str | None]:
        """Verifies the batch's fastest sample that beats the best so far, and the next
        fastest while the faster ones fail: what each check said (None: correct), by index.

        The batch's other new bests are slower than the one verified, so none of them can be
        reported; checking each cost a build and a run (13 checks for 7 rounds of a 64-sample
        matmul run, docs/results/2026-12-06-time-to-result-tree)."""
        best = self.best_latency_s
        faster = sorted(
            (i for i, m in measured.items() if _beats(m.latency_s, best)),
            key=lambda i: measured[i].latency_s or 0.0,
        )
        checks: dict[int, str | None] = {}
        for index in faster:
            if measured[index].screened:
                # timed once against a faster sample of its batch that then computed wrong
                # numbers: a best is reported from every repeat, so it is timed again in full
                measured[index] = self._time_in_full(candidates[index])
                if not _beats(measured[index].latency_s, best):
                    continue
            checks[index] = self._verification_error(candidates[index], measured[index])
            if checks[index] is None:
                break
        return checks

    def _time_in_full(self, candidate: ms.MeasureCandidate) -> Measurement:
        (measured,), times = self.session.measurer.measure([candidate])
        self.timer.add("build", times.build_s)
        self.timer.add("run", times.run_s)
        return measured

    def _verification_error(
        self, candidate: ms.MeasureCandidate, measured: Measurement
    ) -> str | None:
        started = time.perf_counter()
        try:
            error = self.session.verify(candidate.sch.mod, measured.artifact)
            if error is not None:
                error = f"{WRONG_RESULT}: {error}"
        except DeviceFault as fault:
            error = f"{UNVERIFIED}: no device could run the check ({fault})"
        interrupt.check()  # an interrupted check is not a wrong result
        self.timer.add("verify", time.perf_counter() - started)
        return error

    def _record_live(
        self, key: Any, candidate: ms.MeasureCandidate, m: Measurement, check: str | None | object
    ) -> SampleMeasured:
        """``check``: what verifying the sample said (None: correct), or NOT_CHECKED."""
        error, verified = m.error, None  # None: not a new best when measured, never needed
        if check is not NOT_CHECKED:
            error, verified = check, check is None  # type: ignore[assignment]
        elif _beats(m.latency_s, self.best_latency_s):
            verified = False  # a faster sample of its batch was verified instead
        latency = m.latency_s if error is None else None
        if latency is not None:
            self.session.commit(candidate.sch, m.run_secs)
        event = SampleMeasured(
            key=key,
            latency_s=latency,
            run_secs=list(m.run_secs),
            error=error,
            device=m.device,
            retries=list(m.retries),
            elapsed_s=self.timer.elapsed(),
            trace=candidate.sch.trace.as_json(remove_postproc=True),
            verified=verified,
            screened=m.screened,
        )
        if self.library is not None:  # before the journal: a journaled sample is in the library
            self.library([event])
        self.journal.append(event)
        self.replayed[key] = event
        return event

    def _add_point(
        self,
        event: SampleMeasured,
        sch: tvm.s_tir.Schedule,
        source: tuple[str | None, str | None],
    ) -> float | None:
        latency = event.latency_s
        if event.error is not None and event.error.startswith(WRONG_RESULT):
            failure = VerificationFailure(sample=self.samples + 1, error=event.error)
            self.verification_failures.append(failure)
        if event.verified is not False and _beats(latency, self.best_latency_s):
            self.best_latency_s, self.best_schedule = latency, sch
        best = self.best_latency_s
        self.curve.append(
            CurvePoint(
                sample=self.samples + 1,
                latency_s=latency,
                best_latency_s=best,
                speedup=self.naive_latency_s / best if best else None,
                error=event.error,
                origin=source[0],
                proposed_by=source[1],
                device=event.device,
                retries=tuple(event.retries),
                elapsed_s=event.elapsed_s,
                screened=event.screened,
            )
        )
        return latency
