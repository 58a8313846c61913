"""Read-only views of what runs wrote: one run directory, or a grid of them.

Nothing here measures or tunes; every figure comes from ``results.json``, ``config.json``,
``tree.json`` and ``best.py`` of a run directory (see ``docs/run-directory.md``), and from the
``grid.json`` / ``comparisons.json`` a benchmark grid writes beside its runs.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colt.errors import UserError
from colt.records import (
    CurvePoint,
    ModelStatsRecord,
    NetworkRecord,
    RoofsRecord,
    RunResults,
    SearchRecord,
    load_results,
)

RESULTS_FILE = "results.json"
GRID_FILE = "grid.json"
COMPARISONS_FILE = "comparisons.json"

# Where a measured sample came from (``results.json`` curve ``origin``); None: MetaSchedule's own
# strategies and runs written before origins were recorded.
ORIGINS = ("initial", "fresh", "proposal", "rollout")
# Endpoint faults, as opposed to a model's own answer errors; older runs wrote one "errors"
# mapping, which is split by these kinds when "faults" / "answer_errors" are absent.
FAULT_KINDS = ("timeout", "http_error", "connection_refused")


@dataclass(frozen=True)
class ModelRecord:
    """One model of the run's set and, for the COLT strategy, what it did."""

    name: str
    parameters: float  # parameter count; 0.0 when the run did not say
    calls: int = 0  # includes course alterations and floor calls
    course_alterations: int = 0
    hits: int = 0
    latency_s: float = 0.0  # summed over the model's calls
    floor_calls: int = 0  # calls redirected to this (the largest) model by the minimum-share floor
    written_regular_calls: int | None = None  # "regular_calls" as written; None in older runs
    answer_errors: dict[str, int] = field(default_factory=dict)  # kind -> count
    faults: dict[str, int] = field(default_factory=dict)  # endpoint faults: kind -> count

    @property
    def regular_calls(self) -> int:
        """Calls made in the model's own turn: neither course alterations nor floor calls."""
        if self.written_regular_calls is not None:
            return self.written_regular_calls
        return self.calls - self.course_alterations - self.floor_calls


@dataclass(frozen=True)
class TreeNode:
    id: int
    parent: int | None
    depth: int
    model: str | None
    proposed_by: str | None
    edits: tuple[str, ...]
    value: float | None  # the program's own value, predicted or measured
    measured: bool
    pruned: bool
    course_alteration: bool


@dataclass(frozen=True)
class RunRecord:
    """A frozen view of one run directory; ``label`` names its configuration in a grid."""

    path: Path
    label: str
    status: str
    workload: str
    flops: float
    strategy: str
    proposer: str | None
    seed: int
    trials: int
    samples: int
    naive_latency_s: float | None
    best_latency_s: float | None
    speedup: float | None
    verified: bool
    curve: tuple[float, ...]  # best-so-far speedup after each measured sample
    time_s: dict[str, float]
    models: tuple[ModelRecord, ...]
    search: dict[str, Any] | None
    machine: dict[str, Any]
    versions: dict[str, Any]
    config: dict[str, Any]
    tree: tuple[TreeNode, ...] | None = None
    best_program: str | None = None
    warm_start: dict[str, Any] | None = None  # what the run took from the record library
    # per measured sample, in curve order: its origin (one of ORIGINS, or None) and, for a
    # proposal, the model that proposed it
    sample_origins: tuple[str | None, ...] = ()
    sample_proposers: tuple[str | None, ...] = ()
    # wall seconds since the run started at each measured sample (None: not recorded)
    sample_elapsed: tuple[float | None, ...] = ()
    traffic_bytes: float = 0.0  # every buffer parameter once (0: not recorded)
    roofs: RoofsRecord | None = None  # the machine's measured peak and bandwidth
    origins: dict[str, int] = field(default_factory=dict)  # origin -> measured samples
    proposals_by_model: dict[str, int] = field(default_factory=dict)  # model -> measured samples
    expansions_by_depth: dict[int, dict[str, int]] = field(default_factory=dict)
    floor_calls: int = 0  # calls redirected to the largest model by the minimum-share floor
    network: NetworkRecord | None = None  # a network run's forward pass and tasks

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def largest_model(self) -> ModelRecord | None:
        """The model with the most parameters (ties: the last listed), None without models."""
        if not self.models:
            return None
        return max(reversed(self.models), key=lambda model: model.parameters)

    @property
    def gflops(self) -> float | None:
        """Achieved GFLOP/s of the best verified schedule."""
        if not self.best_latency_s or not self.flops:
            return None
        return self.flops / self.best_latency_s / 1e9

    @property
    def samples_to_best(self) -> int | None:
        """The first sample at which the best-so-far curve reached its final value."""
        if not self.curve:
            return None
        final = self.curve[-1]
        return next(i + 1 for i, value in enumerate(self.curve) if value >= final)


@dataclass(frozen=True)
class GridRecord:
    """A grid directory: its definition, its runs and the comparisons it measured."""

    path: Path
    definition: dict[str, Any]
    runs: tuple[RunRecord, ...]
    comparisons: dict[str, Any] = field(default_factory=dict)
    unreadable: tuple[str, ...] = ()  # one line per run directory that could not be read

    @property
    def configs(self) -> tuple[str, ...]:
        defined = tuple(self.definition.get("configs", ()))
        seen = tuple(dict.fromkeys(run.label for run in self.runs))
        return tuple(dict.fromkeys(c for c in defined + seen if c in seen))

    @property
    def workloads(self) -> tuple[str, ...]:
        defined = tuple(self.definition.get("workloads", ()))
        seen = tuple(dict.fromkeys(run.workload for run in self.runs))
        return tuple(dict.fromkeys(w for w in defined + seen if w in seen))

    @property
    def roofs(self) -> RoofsRecord | None:
        """The machine's measured roofs, the highest peak its runs recorded (a disturbed probe
        reads low, never high); None before runs recorded them."""
        recorded = [run.roofs for run in self.runs if run.roofs is not None]
        return max(recorded, key=lambda roofs: roofs.peak_gflops, default=None)

    @property
    def peak_gflops(self) -> float | None:
        """The measured FMA peak. A grid's older BLAS timing ("peak" in comparisons.json) is
        not a peak: OPENBLAS_CORETYPE can throttle it below what tuned kernels reach."""
        return self.roofs.peak_gflops if self.roofs else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise UserError(f"{path} does not exist") from error
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON ({error.msg} at line {error.lineno})") from error


def best_so_far(results: RunResults) -> tuple[float, ...]:
    """Best-so-far speedup after each measured sample; 1.0 (the naive program) before any."""
    values: list[float] = []
    best = 1.0
    network = results.network is not None
    for point in results.curve:
        best = max(best, _point_speedup(point, results.naive_latency_s, network))
        values.append(best)
    return tuple(values)


def _point_speedup(point: CurvePoint, naive: float | None, network: bool = False) -> float:
    """The best speedup known at one curve point; 0.0 when the point says nothing usable.
    A network's points carry their own (task-weighted) speedup: its ``naive`` is the whole
    pass, its points' latencies are sums of kernel latencies."""
    if network:
        return point.speedup or 0.0
    if naive and point.best_latency_s:
        return naive / point.best_latency_s
    if point.error:
        return 0.0
    if naive and point.latency_s:
        return naive / point.latency_s
    return point.speedup or 0.0


def _models(results: RunResults) -> tuple[ModelRecord, ...]:
    listed = {m.name: m.parameters for m in results.models}
    names = list(listed) + [name for name in results.model_stats if name not in listed]
    return tuple(
        _model(name, listed.get(name, 0.0), results.model_stats.get(name, ModelStatsRecord()))
        for name in names
    )


def _model(name: str, parameters: float, entry: ModelStatsRecord) -> ModelRecord:
    errors = _counts(entry.errors)
    return ModelRecord(
        name=name,
        parameters=parameters,
        calls=entry.calls,
        course_alterations=entry.course_alterations,
        hits=entry.hits,
        latency_s=entry.latency_s,
        floor_calls=entry.floor_calls,
        written_regular_calls=entry.regular_calls,
        answer_errors=_counts(entry.answer_errors)
        if entry.answer_errors is not None
        else {kind: n for kind, n in errors.items() if kind not in FAULT_KINDS},
        faults=_counts(entry.faults)
        if entry.faults is not None
        else {kind: n for kind, n in errors.items() if kind in FAULT_KINDS},
    )


def _counts(mapping: dict[str, int] | None) -> dict[str, int]:
    """A ``{name: count}`` mapping as written, without zero counts."""
    return {str(key): int(value) for key, value in (mapping or {}).items() if value}


def _origins(results: RunResults) -> tuple[dict[str, int], dict[str, int]]:
    """Measured samples per origin and per proposing model: the search's counts when written,
    else counted from the curve (empty when neither says)."""
    search = results.search or SearchRecord()
    points = results.curve
    origins = _counts(search.origins) or dict(Counter(p.origin for p in points if p.origin))
    proposals = _counts(search.proposals_by_model) or dict(
        Counter(p.proposed_by for p in points if p.origin == "proposal" and p.proposed_by)
    )
    return origins, proposals


def _expansions_by_depth(search: SearchRecord) -> dict[int, dict[str, int]]:
    return {
        int(depth): _counts(models)
        for depth, models in sorted(search.expansions_by_depth.items(), key=lambda i: int(i[0]))
    }


def _tree(run_dir: Path) -> tuple[TreeNode, ...] | None:
    path = run_dir / "tree.json"
    if not path.exists():
        return None
    nodes = _read_json(path).get("nodes", [])
    return tuple(
        TreeNode(
            id=int(node["id"]),
            parent=node.get("parent"),
            depth=int(node.get("depth", 0)),
            model=node.get("model"),
            proposed_by=node.get("proposed_by"),
            edits=tuple(node.get("edits") or ()),
            # tree.json before 2026-12-02 named the own value "score" (and W/N "value")
            value=node["score"] if "score" in node else node.get("value"),
            measured=bool(node.get("measured", False)),
            pruned=bool(node.get("pruned", False)),
            course_alteration=bool(node.get("course_alteration", False)),
        )
        for node in nodes
    )


def default_label(run_dir: Path, results: RunResults) -> str:
    """``<config>`` when the run sits at ``<grid>/<config>/<workload>/seed<k>``, else a summary."""
    grid_dir = run_dir.parent.parent.parent
    if run_dir.name.startswith("seed") and (grid_dir / GRID_FILE).exists():
        return run_dir.parent.parent.name
    if results.strategy != "colt" or not results.proposer:
        return results.strategy
    if results.proposer == "random":
        return "colt-random"
    return "colt" if len(results.models) != 1 else f"colt ({results.models[0].name})"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def load_run(run_dir: Path | str, *, label: str | None = None) -> RunRecord:
    """Read one run directory; raises :class:`UserError` when it has no readable results."""
    run_dir = Path(run_dir)
    results = load_results(run_dir / RESULTS_FILE)
    config_path = run_dir / "config.json"
    config = _read_json(config_path) if config_path.exists() else {}
    best_path = run_dir / "best.py"
    search = results.search or SearchRecord()
    models = _models(results)
    origins, proposals = _origins(results)
    return RunRecord(
        path=run_dir,
        label=label or default_label(run_dir, results),
        status=results.status,
        workload=results.workload.name,
        flops=results.workload.flops,
        strategy=results.strategy,
        proposer=results.proposer,
        seed=results.seed,
        trials=results.trials,
        samples=results.samples or len(results.curve),
        naive_latency_s=_finite(results.naive_latency_s),
        best_latency_s=_finite(results.best_latency_s),
        speedup=_finite(results.speedup),
        verified=results.verified,
        curve=best_so_far(results),
        time_s=dict(results.time_s),
        models=models,
        search=results.search.model_dump() if results.search else None,
        machine=dict(results.machine),
        versions=dict(results.versions),
        config=config,
        tree=_tree(run_dir),
        best_program=best_path.read_text() if best_path.exists() else None,
        warm_start=results.warm_start,
        sample_origins=tuple(point.origin for point in results.curve),
        sample_proposers=tuple(point.proposed_by for point in results.curve),
        sample_elapsed=tuple(point.elapsed_s for point in results.curve),
        traffic_bytes=results.workload.bytes,
        roofs=results.roofs,
        network=results.network,
        origins=origins,
        proposals_by_model=proposals,
        expansions_by_depth=_expansions_by_depth(search),
        floor_calls=search.floor_calls or sum(m.floor_calls for m in models),
    )


def find_runs(grid_dir: Path | str) -> list[Path]:
    """Every run directory (one holding ``results.json``) under ``grid_dir``, sorted."""
    grid_dir = Path(grid_dir)
    return sorted(path.parent for path in grid_dir.rglob(RESULTS_FILE))


def is_grid(path: Path | str) -> bool:
    path = Path(path)
    return (path / GRID_FILE).exists() or not (path / RESULTS_FILE).exists()


def load_grid(grid_dir: Path | str) -> GridRecord:
    """Read a grid directory (or any folder of run directories)."""
    grid_dir = Path(grid_dir)
    definition_path = grid_dir / GRID_FILE
    definition = _read_json(definition_path) if definition_path.exists() else {}
    comparisons_path = grid_dir / COMPARISONS_FILE
    comparisons = _read_json(comparisons_path) if comparisons_path.exists() else {}
    runs, unreadable = [], []
    for path in find_runs(grid_dir):
        try:
            runs.append(load_run(path))
        except UserError as error:  # e.g. a results.json caught half-written: report the rest
            unreadable.append(str(error))
    if not runs:
        raise UserError(f"{grid_dir} holds no readable run directory (no {RESULTS_FILE} under it)")
    return GridRecord(grid_dir, definition, tuple(runs), comparisons, tuple(unreadable))
