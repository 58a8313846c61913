"""``colt records``: list, show, merge, export and prune the tuning-record library."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from colt.errors import UserError
from colt.records_library import RecordLibrary, default_records_dir, target_key


def add_records_command(commands: argparse._SubParsersAction, print_table: Callable) -> None:
    records = commands.add_parser("records", help="the tuning-record library: list, show, ...")
    verbs = records.add_subparsers(title="verbs", metavar="VERB")

    def verb(name: str, help_text: str, handler: Callable) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--records", type=Path, metavar="DIR", help="the library (default: cache)")
        sub.set_defaults(handler=lambda args: handler(args, print_table))
        return sub

    verb("list", "workload, target (here or foreign), best latency, samples, date", _list)
    verb("show", "a workload's records, fastest first", _show).add_argument(
        "workload", help="a workload key or name (from `colt records list`)"
    )
    verb("merge", "add another library, a run's database or a TVM database", _merge).add_argument(
        "source", type=Path, help="a library directory, a run directory or a database directory"
    )
    export = verb("export", "write a workload's best record as a TVM JSON database", _export)
    export.add_argument("workload", help="a workload from `colt workloads` or FILE.py:FUNCTION")
    export.add_argument("out", type=Path, help="the database directory to write")
    export.add_argument("--target", help="JSON TVM target (default: this CPU)")
    verb("prune", "keep only each workload's fastest records", _prune).add_argument(
        "--keep", type=int, default=16, help="records kept per workload (default: 16)"
    )


def _library(args: argparse.Namespace) -> RecordLibrary:
    return RecordLibrary(args.records or default_records_dir())


def _date(iso: str) -> str:
    return iso.replace("T", " ").removesuffix("Z")


def _list(args: argparse.Namespace, print_table: Callable) -> int:
    library = _library(args)
    summary = library.summary()
    here = _this_target() if summary else ""
    rows = [
        (r["name"], r["workload"], r["target"], "here" if r["target"] == here else "foreign")
        + (f"{r['best_latency_s'] * 1e3:.4f}", r["samples"], _date(r["date"]))
        for r in summary
    ]
    if not rows:
        print(f"the record library {library.root} is empty")
        return 0
    columns = ("workload", "key", "target", "used", "best ms", "samples", "date")
    print_table(columns, rows, right=("best ms", "samples"))
    return 0


def _this_target() -> str:
    """The key of the target a plain ``colt tune`` uses here: only its records seed or train
    a run on this machine; the others are listed as foreign."""
    from colt.api import resolve_target
    from colt.schedule.targets import target_json

    return target_key(target_json(resolve_target(None, None)))


def _show(args: argparse.Namespace, print_table: Callable) -> int:
    library = _library(args)
    rows = [
        (target, r.workload, f"{r.latency_s * 1e3:.4f}", _date(r.date))
        for target in library.targets()
        for r in library.read(target)
        if args.workload in (r.workload, r.name)
    ]
    if not rows:
        raise UserError(f"the record library {library.root} has no record of {args.workload}")
    print_table(("target", "key", "ms", "date"), sorted(rows, key=lambda row: float(row[2])))
    return 0


def _merge(args: argparse.Namespace, print_table: Callable) -> int:
    library, source = _library(args), Path(args.source)
    database = source / "database" if (source / "database").is_dir() else source
    if (database / "database_tuning_record.json").exists():  # a run or a TVM database
        from colt.schedule.records_io import merge_database

        added = merge_database(library, database, _run_workload(source))
    elif RecordLibrary(source).targets():
        added = library.merge(RecordLibrary(source))
    else:
        raise UserError(f"{source} is neither a record library nor a run or its database")
    print(f"added {added} record(s) to {library.root}")
    return 0


def _run_workload(source: Path) -> str:
    """The workload name a run directory's config names ('' for a bare database)."""
    import json

    config = source / "config.json"
    return str(json.loads(config.read_text()).get("workload", "")) if config.exists() else ""


def _export(args: argparse.Namespace, print_table: Callable) -> int:
    from colt.api import resolve_target
    from colt.schedule.records_io import export_best
    from colt.workloads import Workload, get_workload

    workload = get_workload(args.workload)
    if not isinstance(workload, Workload):
        raise UserError(f"{args.workload} is a network: export its kernels one by one")
    func = workload.build()
    target = resolve_target(args.target, None)
    best = export_best(_library(args), func, target, args.out)
    if best is None:
        raise UserError(f"the record library has no record of {args.workload} on this target")
    print(f"{args.out}: {args.workload} at {best.latency_s * 1e3:.4f} ms ({_date(best.date)})")
    return 0


def _prune(args: argparse.Namespace, print_table: Callable) -> int:
    if args.keep < 1:
        raise UserError(f"--keep must be a positive number of records, not {args.keep}")
    library = _library(args)
    dropped = library.prune(keep=args.keep)
    print(f"dropped {dropped} record(s) from {library.root}")
    return 0
