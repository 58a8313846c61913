"""The package's Python API: what ``import colt`` offers, imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import colt
from colt import api, config, grid, records
from colt.runs import Run
from colt.runs.kernel import KernelRun
from colt.runs.network import NetworkRun


def test_the_package_exports_the_api_and_its_types() -> None:
    assert colt.tune is api.tune and colt.resume is api.resume and colt.show is api.show
    assert colt.bench is grid.run_grid
    assert colt.TuneConfig is config.TuneConfig and colt.RunResults is records.RunResults
    assert set(colt.__all__) >= {"tune", "bench", "TuneConfig", "RunResults"}
    with pytest.raises(AttributeError, match="no attribute 'tunee'"):
        colt.tunee  # noqa: B018


def test_importing_colt_does_not_import_tvm() -> None:
    code = "import sys, colt; print('tvm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_kernel_run_and_a_network_run_are_runs() -> None:
    for runner in (KernelRun, NetworkRun):
        assert callable(runner.execute)
        assert Run.execute.__doc__  # the protocol says what execute promises
