"""`colt export`: the tuned kernel as a shared library, loaded and checked in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colt import cli
from colt.api import tune
from colt.config import SearchConfig, TuneConfig
from colt.workloads import get_workload, make_inputs

pytestmark = pytest.mark.slow

CHECK = """
import sys, numpy as np, tvm
kernel = tvm.runtime.load_module(sys.argv[1])["main"]
arrays = [np.load(path) for path in sys.argv[2:]]
tensors = [tvm.runtime.tensor(a, tvm.cpu()) for a in arrays]
kernel(*tensors)
np.save(sys.argv[-1], tensors[-1].numpy())
"""


@pytest.fixture(scope="module")
def kernel_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TuneConfig(
        workload="matmul-small",
        proposer="random",
        trials=4,
        out_dir=tmp_path_factory.mktemp("runs") / "colt",
        search=SearchConfig(trials_per_round=4, expansions_per_round=4),
    )
    return tune(config, progress=False)


def test_exported_kernel_loads_in_a_fresh_process_and_computes_the_reference(
    kernel_run: Path, tmp_path: Path
) -> None:
    library = tmp_path / "matmul.so"
    assert cli.main(["export", str(kernel_run), str(library)]) == 0
    workload = get_workload("matmul-small")
    arrays = make_inputs(workload, workload.build(), np.random.default_rng(1))
    paths = []
    for index, array in enumerate(arrays):
        paths.append(tmp_path / f"arg{index}.npy")
        np.save(paths[-1], array)
    subprocess.run(
        [sys.executable, "-c", CHECK, str(library), *map(str, paths)], check=True, timeout=120
    )
    got = np.load(paths[-1])
    expected = workload.reference(arrays[:-1])[0]
    np.testing.assert_allclose(got, expected, rtol=workload.rtol, atol=workload.atol)


def test_the_example_beside_it_runs_with_pytorch_tensors(kernel_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    library = tmp_path / "kernel.so"
    assert cli.main(["export", str(kernel_run), str(library)]) == 0
    example = Path(f"{library}.example.py")
    assert "from_dlpack" in example.read_text()
    subprocess.run([sys.executable, str(example)], check=True, timeout=120)


def test_an_unfinished_run_is_refused_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "half"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(TuneConfig().to_json()))
    assert cli.main(["export", str(run_dir), str(tmp_path / "k.so")]) == 2
    assert "is not a finished run" in capsys.readouterr().err
