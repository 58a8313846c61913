"""The tuning-record library: every verified measurement of every run, kept across runs.

One append-only JSON-lines file per target (``<target key>.jsonl``); each line is one measured
program: the workload's key, its name, the latency, the date, the run's seconds and the trace
(MetaSchedule's trace JSON). Appends are single ``write()`` calls on an ``O_APPEND`` descriptor
under ``flock``, so runs writing the same library at once lose nothing and a killed writer leaves
at most one truncated last line; a reader skips a bad line with one warning, never fails on it.

``workloads.jsonl`` (any target) holds each workload's module once (TVM's JSON of the IRModule,
as a TVM database's workload file holds it): the cost model of a later run learns from other
workloads' records through their own programs' features, which need the module to rebuild.
No I/O at import, no TVM: callers give the keys (``colt.schedule.warm_start`` makes them).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDS_DIR_ENV = "COLT_RECORDS_DIR"  # overrides the default place (tests point it elsewhere)
SUFFIX = ".jsonl"
WORKLOADS = "workloads"  # ``workloads.jsonl``: the modules, by workload key


def json_default(value: Any) -> Any:
    """TVM's IntImm and FloatImm inside traces as plain numbers."""
    return value.value if hasattr(value, "value") else str(value)


def default_records_dir() -> Path:
    """``$COLT_RECORDS_DIR``, else ``$XDG_CACHE_HOME/colt/records``, else under ~/.cache."""
    explicit = os.environ.get(RECORDS_DIR_ENV)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "colt" / "records"


def target_key(target: dict[str, Any]) -> str:
    """A short, stable name for a target (its JSON: kind, detected mcpu, flags, cores)."""
    text = json.dumps(target, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LibraryRecord:
    """One verified measurement: ``workload`` is the structural-hash key of its module."""

    workload: str
    name: str
    latency_s: float
    run_secs: tuple[float, ...]
    trace: Any  # the trace's JSON, postprocessors removed
    date: str  # ISO 8601, UTC

    def to_line(self) -> str:
        data = {
            "workload": self.workload,
            "name": self.name,
            "latency_s": self.latency_s,
            "run_secs": list(self.run_secs),
            "trace": self.trace,
            "date": self.date,
        }
        return json.dumps(data, default=json_default, separators=(",", ":")) + "\n"

    @classmethod
    def from_line(cls, line: str) -> LibraryRecord:
        data = json.loads(line)
        return cls(
            workload=str(data["workload"]),
            name=str(data.get("name", "")),
            latency_s=float(data["latency_s"]),
            run_secs=tuple(float(s) for s in data.get("run_secs", ())),
            trace=data["trace"],
            date=str(data.get("date", "")),
        )


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RecordLibrary:
    """The library in ``root``: one file per target key, plus ``targets.json`` naming them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, target: str) -> Path:
        return self.root / f"{target}{SUFFIX}"

    def targets(self) -> list[str]:
        if not self.root.is_dir():
            return []
        names = (p.name.removesuffix(SUFFIX) for p in self.root.glob(f"*{SUFFIX}"))
        return sorted(name for name in names if name != WORKLOADS)

    def append(self, target: str, records: Sequence[LibraryRecord]) -> None:
        """Adds ``records`` with one ``write()`` under an exclusive lock (nothing interleaves)."""
        self._append_lines(self.path(target), [r.to_line() for r in records])

    def _append_lines(self, path: Path, lines: Sequence[str]) -> None:
        if not lines:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = _locked(path)
        try:
            _repair_tail(fd)
            os.write(fd, "".join(lines).encode())
        finally:
            os.close(fd)  # closing releases the lock

    def add_workload(self, workload: str, name: str, module: str) -> bool:
        """Keeps ``module`` (TVM's JSON of the workload's IRModule) once; True when added."""
        if workload in self.workload_modules():
            return False
        line = json.dumps({"workload": workload, "name": name, "module": module}) + "\n"
        self._append_lines(self.root / f"{WORKLOADS}{SUFFIX}", [line])
        return True

    def workload_modules(self) -> dict[str, str]:
        """Each known workload's module JSON by workload key (bad lines skipped, one warning)."""
        path = self.root / f"{WORKLOADS}{SUFFIX}"
        modules: dict[str, str] = {}
        bad = 0
        if not path.exists():
            return modules
        for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
            try:
                data = json.loads(line)
                modules.setdefault(str(data["workload"]), str(data["module"]))
            except (ValueError, KeyError, TypeError):
                bad += bool(line.strip())
        if bad:
            _warn_unreadable(bad, path)
        return modules

    def read(self, target: str) -> list[LibraryRecord]:
        """Every good line of ``target``'s file; bad lines are skipped with one warning."""
        path = self.path(target)
        if not path.exists():
            return []
        records, bad = _parse(path.read_bytes().decode("utf-8", errors="replace").splitlines())
        if bad:
            _warn_unreadable(bad, path)
        return records

    def of_workload(self, target: str, workload: str) -> list[LibraryRecord]:
        """The workload's records on ``target``, fastest first."""
        return sorted(
            (r for r in self.read(target) if r.workload == workload), key=lambda r: r.latency_s
        )

    def best(self, target: str, workload: str) -> LibraryRecord | None:
        records = self.of_workload(target, workload)
        return records[0] if records else None

    def summary(self) -> list[dict[str, Any]]:
        """Per (workload, target): name, best latency, samples, latest date (``colt records``)."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for target in self.targets():
            for r in self.read(target):
                row = rows.setdefault(
                    (r.workload, target),
                    {"workload": r.workload, "name": r.name, "target": target, "samples": 0},
                )
                row["samples"] += 1
                row["best_latency_s"] = min(row.get("best_latency_s", r.latency_s), r.latency_s)
                row["date"] = max(row.get("date", r.date), r.date)
        return sorted(rows.values(), key=lambda row: (row["name"], row["target"]))

    def merge(self, other: RecordLibrary) -> int:
        """Adds ``other``'s records not already here (same workload, trace and latency), and
        the modules of its workloads this library lacks."""
        have_modules = self.workload_modules()
        other_path = other.root / f"{WORKLOADS}{SUFFIX}"
        new_modules = [
            line + "\n"
            for line in (other_path.read_text().splitlines() if other_path.exists() else [])
            if _module_key(line) not in (None, *have_modules)
        ]
        self._append_lines(self.root / f"{WORKLOADS}{SUFFIX}", new_modules)
        added = 0
        for target in other.targets():
            have = {_identity(r) for r in self.read(target)}
            new = [r for r in other.read(target) if _identity(r) not in have]
            self.append(target, new)
            added += len(new)
        return added

    def prune(self, *, keep: int) -> int:
        """Keeps each workload's ``keep`` fastest records; returns how many were dropped.
        Rewrites each file under its lock through a temporary file and a rename."""
        dropped = 0
        for target in self.targets():
            fd = os.open(self.path(target), os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                records = self.read(target)
                kept = _fastest(records, keep)
                tmp = self.path(target).with_suffix(".tmp")
                tmp.write_text("".join(r.to_line() for r in kept))
                tmp.replace(self.path(target))
                dropped += len(records) - len(kept)
            finally:
                os.close(fd)
        return dropped


def _warn_unreadable(bad: int, path: Path) -> None:
    print(
        f"colt: warning: skipped {bad} unreadable line(s) in the record library {path}",
        file=sys.stderr,
    )


def _module_key(line: str) -> str | None:
    """The workload key of a good ``workloads.jsonl`` line, None for a bad one."""
    try:
        data = json.loads(line)
        return str(data["workload"]) if "module" in data else None
    except (ValueError, KeyError, TypeError):
        return None


def _locked(path: Path) -> int:
    """An O_APPEND descriptor of ``path`` under an exclusive lock; opened again when ``prune``
    replaced the file while this one waited for the lock (its writes would be lost)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _parse(lines: Iterable[str]) -> tuple[list[LibraryRecord], int]:
    records, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            records.append(LibraryRecord.from_line(line))
        except (ValueError, KeyError, TypeError):
            bad += 1
    return records, bad


def _repair_tail(fd: int) -> None:
    """A writer killed mid-``write`` can leave a last line without its newline: end it, so the
    next record starts a line of its own (the torn line is then skipped by readers)."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")


def _identity(r: LibraryRecord) -> tuple[str, str, str]:
    """A measurement, whichever copy: a TVM database keeps run_secs as float32, so latencies
    are compared to 5 significant digits."""
    trace = json.dumps(r.trace, sort_keys=True, default=json_default)
    return (r.workload, trace, f"{r.latency_s:.5g}")


def _fastest(records: Sequence[LibraryRecord], keep: int) -> list[LibraryRecord]:
    by_workload: dict[str, list[LibraryRecord]] = {}
    for r in records:
        by_workload.setdefault(r.workload, []).append(r)
    return [
        r for group in by_workload.values() for r in sorted(group, key=lambda r: r.latency_s)[:keep]
    ]
