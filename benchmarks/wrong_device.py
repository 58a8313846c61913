"""An RPC server that computes wrong numbers: a device with a broken toolchain or memory.

    python benchmarks/wrong_device.py --port P --tracker HOST:PORT --key KEY --workload NAME

It registers with the tracker like ``python -m tvm.exec.rpc_server`` (TVM's own server code, in
this process rather than in a popen worker, so that the change below reaches its sessions):
every module a client loads on it is replaced by a kernel of the workload's signature that
writes each output as the reference plus one. It answers timings and runs as fast as that
kernel goes. Only matmul-shaped workloads (two inputs, one output) are supported.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import tvm
import tvm_ffi
from tvm import te
from tvm.rpc import server

from colt.workloads import Workload, get_workload, make_inputs


def wrong_matmul(workload: str, folder: Path) -> Path:
    """A compiled float32 ``main(A, B, C)`` with C = A @ B + 1 in the workload's shapes."""
    chosen = get_workload(workload)
    assert isinstance(chosen, Workload), f"{workload} is a network, not a kernel"
    shapes = [x.shape for x in make_inputs(chosen, chosen.build(), np.random.default_rng(0))]
    (m, inner), (_, n), _ = shapes
    a = te.placeholder((m, inner), "float32", "A")
    b = te.placeholder((inner, n), "float32", "B")
    k = te.reduce_axis((0, inner), "k")
    c = te.compute((m, n), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), "C")
    wrong = te.compute((m, n), lambda i, j: c[i, j] + tvm.tirx.const(1, "float32"), "D")
    mod = tvm.IRModule({"main": te.create_prim_func([a, b, wrong])})
    path = folder / "wrong.so"
    tvm.compile(mod, target=tvm.target.Target({"kind": "llvm"})).export_library(str(path))
    return path


def serve(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="colt-wrong-device-"))
    wrong = wrong_matmul(args.workload, folder)
    original_env = server._server_env

    def wrong_env(load_library: object, work_path: object = None) -> object:
        temp = original_env(load_library, work_path)

        @tvm_ffi.register_global_func("tvm.rpc.server.load_module", override=True)
        def load_module(file_name: str) -> object:
            return tvm.runtime.load_module(str(wrong))

        return temp

    server._server_env = wrong_env  # sessions fork from this process and inherit it
    host, port = args.tracker.rsplit(":", 1)
    state = server.PopenRPCServerState(
        "127.0.0.1",
        args.port,
        args.port + 1,
        tracker_addr=(host, int(port)),
        key=args.key,
        silent=True,
    )
    state.thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tracker", required=True, help="HOST:PORT")
    parser.add_argument("--key", required=True)
    parser.add_argument("--workload", default="matmul-small")
    serve(parser.parse_args())


if __name__ == "__main__":
    main()
