"""Every built-in workload can be tuned: MetaSchedule builds its design space and at least one
sketch post-processes into a program."""

from __future__ import annotations

import pytest

from colt.schedule.program import ProgramSpace, host_target
from colt.workloads import get_workload, workload_names


@pytest.mark.parametrize("name", workload_names(networks=False))
def test_design_space_generates(name: str) -> None:
    space = ProgramSpace(get_workload(name).build(), host_target())
    assert space.design_spaces()
