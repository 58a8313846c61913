"""Two colt-random runs in one process: do the first run's kernels measure slower?

    .venv/bin/python docs/results/2026-12-03-first-run-threads/twice.py   (from a scratch cwd)

Prints the first eight latencies of each run and, per popen worker seen while it ran, its
TVM_/OMP_ environment and the CPU affinities of its threads. Writes /tmp/probe/{first,second}.
"""
import json, os, subprocess, threading, time
from pathlib import Path
from colt import api
from colt.config import TuneConfig

def watch(stop, out):
    seen = {}
    while not stop.is_set():
        for pid in subprocess.run(["pgrep", "-f", "popen_worker"], capture_output=True, text=True).stdout.split():
            try:
                env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                tvm_env = [e.decode() for e in env if e.startswith((b"TVM_", b"OMP_"))]
                aff = {t: os.sched_getaffinity(int(t)) for t in os.listdir(f"/proc/{pid}/task")}
            except OSError:
                continue
            seen.setdefault(pid, (tvm_env, set()))[1].update(tuple(sorted(a)) for a in aff.values())
        time.sleep(0.5)
    out.update(seen)

for label in ("first", "second"):
    stop, seen = threading.Event(), {}
    t = threading.Thread(target=watch, args=(stop, seen)); t.start()
    print(label, "main affinity", os.sched_getaffinity(0), "TVM_NUM_THREADS", os.environ.get("TVM_NUM_THREADS"))
    out = Path(f"/tmp/probe/{label}")
    import shutil; shutil.rmtree(out, ignore_errors=True)
    api.tune(TuneConfig(workload="matmul", proposer="random", trials=8, seed=0, out_dir=out), progress=False)
    stop.set(); t.join()
    r = json.loads((out / "results.json").read_text())
    print(label, [round(p["latency_s"] * 1e3, 1) if p["latency_s"] else None for p in r["curve"][:8]])
    for pid, (env, affs) in seen.items():
        print("   worker", pid, env, affs)
