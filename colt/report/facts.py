"""What ``colt show`` prints about one run: a (name, value) row per fact."""

from __future__ import annotations

import json
import time

from colt.records import MachineLoad, RunResults


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f} ms"


def run_facts(results: RunResults) -> list[tuple[str, str]]:
    proposer = f" ({results.proposer})" if results.proposer else ""
    rows = [
        ("status", results.status),
        ("workload", results.workload.name),
        ("strategy", results.strategy + proposer),
        ("target", json.dumps(results.target)),
        ("threads", str(results.num_threads)),
        ("measured on", str(results.measurement.get("devices", "local"))),
        ("samples", f"{results.samples} of {results.trials}"),
        ("unscheduled", _ms(results.naive_latency_s)),
        ("best", _ms(results.best_latency_s)),
        ("speedup", f"{results.speedup:.2f}x" if results.speedup else "-"),
        ("wall time", ", ".join(f"{k} {v:.1f} s" for k, v in results.time_s.items())),
        ("verification failures", str(len(results.verification_failures))),
    ]
    if results.machine_load is not None:
        rows.append(("machine load", load_text(results.machine_load)))
    for name, stats in results.model_stats.items():
        rows.append(
            (
                f"model {name}",
                f"{stats.calls} calls, hit rate {stats.hit_rate:.2f}, "
                f"{sum(stats.errors.values())} errors, "
                f"{stats.course_alterations} course alterations",
            )
        )
    if results.search:
        tree = results.search
        rows.append(
            (
                "tree",
                f"{tree.tree_size} nodes, depth {tree.tree_depth}, "
                f"{tree.course_alterations} course alterations",
            )
        )
    if results.warm_start is not None:
        rows.append(("record library", warm_start_text(results.warm_start)))
    for device, counts in results.devices.items():
        if device != "local":
            rows.append((f"device {device}", f"{counts.samples} samples, {counts.retried} retried"))
    for event in results.device_events:  # the devices' state changes, in order
        when = time.strftime("%H:%M:%S UTC", time.gmtime(event.time))
        rows.append((f"device {event.state}", f"{when} {event.device}: {event.reason}"))
    return rows


def load_text(load: MachineLoad) -> str:
    """Whether other processes kept the machine busy while the run measured."""
    shares = (
        f"other processes kept {load.others_cores:.2f} cores busy on average "
        f"(load average {load.load_average:.2f})"
    )
    return f"BUSY: {shares}; figures taken under load" if load.busy else f"idle: {shares}"


def warm_start_text(warm: dict) -> str:
    """What the run took from the record library when it started."""
    taught = _pretrained_text(warm)
    if "tasks" in warm:  # a network run: per task, and the cost model its tasks share
        return (
            f"{warm.get('tasks_known', 0)} of {len(warm['tasks'])} tasks known "
            f"({warm.get('known_samples', 0)} earlier samples), {warm.get('tasks_seeded', 0)} "
            f"started from their best known; {warm.get('similar_offered', 0)} similar traces "
            f"offered; shared {taught}"
        )
    offered = warm.get("similar_offered", 0)
    similar = f"; {offered} similar traces offered" if offered else ""
    if not warm.get("known_samples"):
        return f"no earlier record of this workload on this target ({taught}{similar})"
    seeded = "started from it" if warm.get("seeded") else "not seeded"
    return (
        f"{warm['known_samples']} earlier samples, best known "
        f"{_ms(warm.get('known_best_latency_s'))} ({seeded}; {taught}{similar})"
    )


def _pretrained_text(warm: dict) -> str:
    own, other = warm.get("pretrained", 0), warm.get("pretrained_other", 0)
    ranked = ", the first round picked by it" if warm.get("first_round_ranked") else ""
    return (
        f"cost model pre-trained on {own} of its own records and {other} of "
        f"{warm.get('pretrained_workloads', 0)} other workloads{ranked}"
    )
