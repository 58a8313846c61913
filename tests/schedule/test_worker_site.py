"""TVM's workers start without PyTorch (colt.worker_site); every other child is left as it was."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from tvm.support.popen_pool import PopenPoolExecutor

from colt.schedule.devices import prepare_workers
from colt.worker_site import SITE_DIR, pythonpath


def _site_module():
    spec = importlib.util.spec_from_file_location(
        "colt_site_under_test", Path(SITE_DIR) / "sitecustomize.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["python", "-m", "tvm.exec.popen_worker", "5", "4"], "tvm.exec.popen_worker"),
        (["python", "-u", "-X", "importtime", "-m", "tvm.exec.rpc_server"], "tvm.exec.rpc_server"),
        (["python", "-c", "import x", "-m", "tvm.exec.popen_worker"], None),
        (["python", "script.py", "-m", "tvm.exec.popen_worker"], None),
        (["python", "-m"], None),
        (["colt"], None),
    ],
)
def test_the_module_a_process_was_started_with(argv: list[str], module: str | None) -> None:
    assert _site_module()._started_module(argv) == module


def test_the_folder_goes_first_once() -> None:
    assert pythonpath(None) == SITE_DIR
    assert pythonpath(f"/a:{SITE_DIR}:/b") == f"{SITE_DIR}:/a:/b"


def test_the_folder_holds_only_its_startup() -> None:
    # every child process can import whatever lies there
    assert sorted(p.name for p in Path(SITE_DIR).glob("*.py")) == [
        "__init__.py",
        "sitecustomize.py",
    ]


def _torch_in_worker() -> object:
    import sys

    import tvm  # what a build or timing worker imports

    return tvm.__version__ is not None, sys.modules.get("torch", "not imported")


def test_a_worker_imports_tvm_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    prepare_workers(2)
    pool = PopenPoolExecutor(max_workers=1)
    try:
        imported, torch = pool.submit(_torch_in_worker).result()
    finally:
        pool.shutdown()
    assert imported
    assert torch is None  # marked absent, so tvm_ffi's `import torch` fails at once


def test_other_children_keep_torch_and_the_hidden_startup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    hidden = tmp_path / "site"
    hidden.mkdir()
    marker = tmp_path / "ran"
    (hidden / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.setenv("PYTHONPATH", str(hidden))
    prepare_workers(2)
    done = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.__name__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "torch"
    assert marker.exists()  # the sitecustomize ours hides still ran
