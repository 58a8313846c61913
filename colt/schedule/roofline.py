# mypy: disable-error-code="valid-type, name-defined"
"""The machine's roofs, measured with TVM for the run's target: peak float32 FLOP/s from a
register-resident FMA microkernel, and memory bandwidth from a stream triad over buffers far
larger than the caches. Both run on all measuring threads through TVM's own runtime, the way
tuned kernels are timed, and are measured once per machine and cached.

A tuned kernel's GFLOP/s is judged against the first; a memory-bound kernel against the
second (its bytes ÷ its time), so the report can place each workload on a roofline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import tvm
from tvm.script import tirx as T

from colt.errors import last_line
from colt.lifeline import lifeline_command
from colt.machine import cpu_name
from colt.schedule.targets import target_json

# Independent accumulator chains: enough to cover an FMA's latency on every core seen so far
# (4-5 cycles × 2 ports); lanes: one vector register of SSE, AVX2 and AVX-512.
CHAINS = (8, 12)
LANES = (4, 8, 16)
ITERATIONS = 1 << 16  # one call: 0.05-0.2 ms at 2 threads, too short to time alone
# A reading of the peak repeats the call for at least this long: a single call was shorter
# than waking the runtime's threads, and two probes of one idle machine read 142 and 282.
READING_MS = 100
# The peak's repeated timing: stop once the best reading rose less than 2 % over the last 5
# readings (at least 6 readings, under a second), or after 20 s on a machine too busy for that.
STABLE_WITHIN = 0.02
STABLE_WINDOW = 5
PEAK_MAX_S = 20.0
STREAM_BYTES = 256 << 20  # per buffer: far past any L3 of this machine kind


@dataclass(frozen=True)
class Roofs:
    peak_gflops: float
    bandwidth_gbs: float
    threads: int
    isa: str  # the vector width and FMA use the best microkernel compiled to
    mcpu: str
    cpu: str
    method: str = "TVM/LLVM FMA microkernel and stream triad, all measuring threads"
    # the peak's repeated readings: min/median/max GFLOP/s, how many, whether they settled
    peak_spread: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fma_kernel(threads: int, chains: int, lanes: int) -> tvm.IRModule:
    width = chains * lanes

    @T.prim_func
    def fma(data: T.Buffer((threads, width), "float32"), iterations: T.int32) -> None:
        for t in T.parallel(threads):
            acc = T.alloc_buffer((width,), "float32", scope="local")
            for i in T.vectorized(width):
                acc[i] = data[t, i]
            for _ in range(iterations):
                for c in T.unroll(chains):
                    for lane in T.vectorized(lanes):
                        acc[c * lanes + lane] = acc[c * lanes + lane] * T.float32(
                            0.9999
                        ) + T.float32(0.0001)
            for i in T.vectorized(width):
                data[t, i] = acc[i]

    return tvm.IRModule({"main": fma})


def _stream_kernel(threads: int, length: int) -> tvm.IRModule:
    block = length // threads

    @T.prim_func
    def triad(
        a: T.Buffer((length,), "float32"),
        b: T.Buffer((length,), "float32"),
        c: T.Buffer((length,), "float32"),
    ) -> None:
        for t in T.parallel(threads):
            for outer in range(block // 16):
                for lane in T.vectorized(16):
                    i = t * block + outer * 16 + lane
                    a[i] = b[i] + T.float32(3.0) * c[i]

    return tvm.IRModule({"main": triad})


def _isa(lib: Any, lanes: int) -> str:
    try:
        assembly = str(lib.mod.inspect_source("asm"))
    except Exception:  # no assembly to read: say so rather than guess
        return f"{lanes * 32}-bit vectors, assembly not inspected"
    fma = "vfmadd" in assembly or "fmla" in assembly
    return f"{lanes * 32}-bit vectors, {'FMA' if fma else 'no FMA instructions found'}"


def measure_peak(
    target: tvm.target.Target,
    threads: int,
    *,
    within: float = STABLE_WITHIN,
    window: int = STABLE_WINDOW,
    max_seconds: float = PEAK_MAX_S,
) -> tuple[float, str, dict[str, Any]]:
    """Best GFLOP/s over the microkernel's shapes, the ISA the best one used, and the spread
    of its repeated readings (``peak_spread``).

    One short timing is not the machine's peak: a call lasts less than waking the runtime's
    threads, the first one starts its thread pool, and the cores may still be clocking up (a
    probe read 142 GFLOP/s at the start of a run and 282 at its end on the same idle machine).
    So each reading lasts ``READING_MS``, every shape runs once unmeasured, the fastest is
    chosen from a second pass, and it is read again until the best reading has risen less
    than ``within`` over the last ``window`` readings, or ``max_seconds`` passed."""
    dev = tvm.cpu()
    shapes = []
    for chains in CHAINS:
        for lanes in LANES:
            lib = tvm.compile(_fma_kernel(threads, chains, lanes), target=target)
            data = tvm.runtime.tensor(np.full((threads, chains * lanes), 0.5, dtype="float32"), dev)
            timer = lib.mod.time_evaluator(
                "main", dev, number=1, repeat=1, min_repeat_ms=READING_MS
            )
            flop = 2.0 * threads * chains * lanes * ITERATIONS

            def reading(timer: Any = timer, data: Any = data, flop: float = flop) -> float:
                return flop / timer(data, ITERATIONS).results[0] / 1e9

            reading()  # the warm-up, not counted
            shapes.append((lib, lanes, reading))
    lib, lanes, reading = max(shapes, key=lambda shape: shape[2]())
    readings = readings_until_stable(reading, within=within, window=window, seconds=max_seconds)
    return max(readings), _isa(lib, lanes), spread(readings, within=within, window=window)


def readings_until_stable(
    reading: Any, *, within: float, window: int, seconds: float
) -> list[float]:
    """``reading()`` repeated until the best of all readings rose less than ``within`` (a
    fraction) over the last ``window`` of them, or ``seconds`` passed; at least window + 1."""
    readings: list[float] = []
    started = time.perf_counter()
    while not stable(readings, within=within, window=window):
        if len(readings) > window and time.perf_counter() - started > seconds:
            break
        readings.append(reading())
    return readings


def stable(readings: list[float], *, within: float, window: int) -> bool:
    """Whether the last ``window`` readings raised the best one by less than ``within``."""
    if len(readings) <= window:
        return False
    return max(readings[:-window]) >= (1.0 - within) * max(readings)


def spread(readings: list[float], *, within: float, window: int) -> dict[str, Any]:
    """The repeated readings of the peak as ``results.json`` records them (GFLOP/s)."""
    return {
        "min_gflops": round(min(readings), 2),
        "median_gflops": round(float(np.median(readings)), 2),
        "max_gflops": round(max(readings), 2),
        "repeats": len(readings),
        "stable": stable(readings, within=within, window=window),
    }


def measure_bandwidth(target: tvm.target.Target, threads: int) -> float:
    """GB/s of the triad a = b + 3c, counting 3 buffers of traffic (no write-allocate)."""
    length = STREAM_BYTES // 4 // (16 * threads) * 16 * threads
    dev = tvm.cpu()
    lib = tvm.compile(_stream_kernel(threads, length), target=target)
    arrays = [tvm.runtime.tensor(np.ones(length, dtype="float32"), dev) for _ in range(3)]
    seconds = min(lib.mod.time_evaluator("main", dev, number=1, repeat=7)(*arrays).results)
    return 3 * length * 4 / seconds / 1e9


def cache_path() -> Path:
    """``$COLT_ROOFS_FILE``, else ``$XDG_CACHE_HOME/colt/roofs.json``, else under ~/.cache."""
    if os.environ.get("COLT_ROOFS_FILE"):
        return Path(os.environ["COLT_ROOFS_FILE"])
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "colt" / "roofs.json"


def cache_key(target: tvm.target.Target, threads: int) -> str:
    """One machine's entry: its CPU, the target's mcpu, the thread count and TVM's version."""
    mcpu = str(target_json(target).get("mcpu", ""))
    return f"{cpu_name()}|{mcpu}|{threads}|{tvm.__version__}"


def measured_roofs(
    target: tvm.target.Target, threads: int, *, cache: bool = True, at_least: float = 0.0
) -> Roofs:
    """The roofs of this machine for ``target`` on ``threads`` threads; cached per machine.

    A probe that shares the cores with other work (another process, a neighbour on the same
    host) reads low, and nothing makes one read high, so the cache keeps the highest figures
    measured. ``at_least``: a rate some kernel was measured to reach; a cached peak below it
    is proof of a disturbed probe, so the probe runs again.

    Measured in a fresh process: the runtime's thread pool takes its size from
    ``TVM_NUM_THREADS`` once, when it starts."""
    spec = target_json(target)
    mcpu = str(spec.get("mcpu", ""))
    key = cache_key(target, threads)
    path = cache_path()
    known: dict[str, Any] = {}
    if cache and path.exists():
        try:
            known = json.loads(path.read_text())
        except json.JSONDecodeError:
            known = {}
    fields = set(Roofs.__dataclass_fields__)
    cached = Roofs(**{k: v for k, v in known[key].items() if k in fields}) if key in known else None
    if cached is not None and cached.peak_gflops >= at_least:
        return cached
    done = subprocess.run(
        lifeline_command(  # a killed run leaves no probe behind
            [sys.executable, "-m", "colt.schedule.roofline", json.dumps(spec), str(threads)]
        ),
        env=dict(os.environ, TVM_NUM_THREADS=str(threads)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the roofline probe failed: {last_line(done.stderr)}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    roofs = Roofs(threads=threads, mcpu=mcpu, cpu=cpu_name(), **figures)
    if cached is not None:
        roofs = highest(cached, roofs)
    if cache:
        known[key] = roofs.to_json() | {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(known, indent=2))
    return roofs


def checked_roofs(
    target: tvm.target.Target, threads: int, roofs: dict[str, Any], reached_gflops: float
) -> dict[str, Any]:
    """A run's recorded roofs (``Roofs.to_json``), measured again if its best kernel reached
    ``reached_gflops`` above their peak: no kernel runs faster than the machine, so that peak
    came from a disturbed probe. The replaced figure stays (``disturbed_peak_gflops``)."""
    if reached_gflops <= roofs["peak_gflops"]:
        return roofs
    try:
        again = measured_roofs(target, threads, at_least=reached_gflops).to_json()
    except (RuntimeError, OSError, ValueError) as error:
        print(f"colt: the roofline probe failed again: {error}", file=sys.stderr)
        return roofs
    if again["peak_gflops"] <= roofs["peak_gflops"]:
        return roofs
    print(
        f"colt: the best kernel ran at {reached_gflops:.1f} GFLOP/s, above the measured peak "
        f"of {roofs['peak_gflops']:.1f}; measured again: {again['peak_gflops']:.1f} GFLOP/s",
        file=sys.stderr,
    )
    return again | {"disturbed_peak_gflops": roofs["peak_gflops"]}


def highest(first: Roofs, second: Roofs) -> Roofs:
    """Each roof at the higher of two measurements (the peak with the ISA that reached it)."""
    peak = max(first, second, key=lambda roofs: roofs.peak_gflops)
    return replace(peak, bandwidth_gbs=max(first.bandwidth_gbs, second.bandwidth_gbs))


def _probe(spec: str, threads: int) -> dict[str, Any]:
    target = tvm.target.Target(json.loads(spec))
    peak, isa, peak_spread = measure_peak(target, threads)
    return {
        "peak_gflops": peak,
        "isa": isa,
        "peak_spread": peak_spread,
        "bandwidth_gbs": measure_bandwidth(target, threads),
    }


if __name__ == "__main__":
    print(json.dumps(_probe(sys.argv[1], int(sys.argv[2]))))
