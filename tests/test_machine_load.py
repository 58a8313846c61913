"""A run's figures are marked as taken under load when other processes used the cores."""

from __future__ import annotations

import subprocess
import time

from colt.machine import LoadWatch
from colt.records import MachineLoad
from colt.report.facts import load_text


def test_a_process_that_is_not_ours_burning_a_core_marks_the_reading_busy() -> None:
    watch = LoadWatch()
    # Through a shell that exits at once: the loop is reparented, no child of this process,
    # so its CPU counts as another process's; ``timeout`` ends it.
    subprocess.run(["sh", "-c", "timeout 3 sh -c 'while :; do :; done' &"], check=True)
    time.sleep(2.5)
    reading = watch.reading()
    assert reading["others_cores"] > 0.5 and reading["busy"] is True
    assert load_text(MachineLoad.model_validate(reading)).startswith("BUSY: ")


def test_this_process_own_work_is_not_counted_as_load() -> None:
    watch = LoadWatch()
    own_before = time.process_time()
    while time.process_time() - own_before < 1.0:  # one second of this process's CPU
        pass
    reading = watch.reading()
    # Other users of the machine may add a little; our own second of CPU must not show.
    assert reading["others_cores"] < 0.9
