"""What this machine is, for the records (the CPU's model name; cores come from os), and how busy
other processes kept it while a run measured."""

from __future__ import annotations

import contextlib
import os
import platform
import time
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name as the kernel reports it (Linux), else what platform knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


# Other processes' average use above this many cores marks the run's figures as taken under
# load: on a 2-core machine one busy core elsewhere halved measured throughput.
BUSY_CORES = 0.25


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds every process has used, CPU seconds this process and its children have)."""
    import psutil

    every = psutil.cpu_times()
    busy = sum(every) - every.idle - getattr(every, "iowait", 0.0) - getattr(every, "steal", 0.0)
    me = psutil.Process()
    own = sum(me.cpu_times()[:4])  # user, system, and the waited-for children's
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            own += sum(child.cpu_times()[:2])
    return busy, own


class LoadWatch:
    """How much CPU other processes took while this run ran: a figure taken while the machine
    was busy is marked as such (its timings are not comparable with an idle machine's)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.start_busy, self.start_own = _cpu_seconds()

    def reading(self) -> dict[str, float | bool]:
        """Cores other processes kept busy on average since the start, the 1-minute load
        average now, and whether that makes this invocation's figures taken under load."""
        wall = max(time.monotonic() - self.started, 1e-6)
        busy, own = _cpu_seconds()
        others = max((busy - self.start_busy) - (own - self.start_own), 0.0) / wall
        return {
            "others_cores": round(others, 3),
            "load_average": round(os.getloadavg()[0], 2),
            "busy": others > BUSY_CORES,
        }
