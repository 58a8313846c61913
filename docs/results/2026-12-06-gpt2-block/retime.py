"""Tuned pass (the run's database), PyTorch eager and torch.compile, timed in turns."""
import json, os, statistics, sys, time
from pathlib import Path
import torch
sys.path.insert(0, "benchmarks")
from network import network_session  # noqa: E402

class A:  # what network_session reads
    workload = "/tmp/net/gpt2.py:block"

session = network_session(A, Path("/tmp/net/run/database"))
untuned = session.build(tuned=False)
reference, unscheduled_s = session.run_and_time(untuned)
tuned = session.build(tuned=True)
outputs, _ = session.run_and_time(tuned)
error = session.check(outputs, session.expected(lambda: reference))
module = session.program.torch_module
inputs = [torch.from_numpy(a) for a in session.program.inputs[:1]]
torch.set_num_threads(os.cpu_count() or 1)
started = time.perf_counter()
compiled = torch.compile(module)
with torch.no_grad():
    compiled(*inputs)
compile_s = time.perf_counter() - started

def compiled_latency():
    with torch.no_grad():
        compiled(*inputs)
        runs = []
        for _ in range(20):
            t = time.perf_counter(); compiled(*inputs); runs.append(time.perf_counter() - t)
    return statistics.median(runs)

rounds = {"tuned": [], "eager": [], "compile": []}
for _ in range(7):
    rounds["tuned"].append(session.run_and_time(tuned)[1])
    rounds["eager"].append(session.eager_latency_s())
    rounds["compile"].append(compiled_latency())
out = {k: {"median_ms": 1e3 * statistics.median(v), "range_ms": [1e3 * min(v), 1e3 * max(v)]}
       for k, v in rounds.items()}
out |= {"unscheduled_ms": 1e3 * unscheduled_s, "verification_error": error,
        "torch_compile_s": compile_s}
print(json.dumps(out, indent=1))
