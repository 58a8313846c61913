"""The `colt` command: parse, call the API, render. No logic of its own."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from colt import interrupt
from colt.config import SearchConfig, TuneConfig, explain
from colt.disk import as_disk_full, is_disk_full
from colt.errors import UserError
from colt.options import add_field_options, add_llm_options, llm_names, values_from_args
from colt.records_commands import add_records_command

EPILOG = """examples:
  colt tune                                    COLT on matmul with the two embedded local LLMs
  colt tune --workload llama3-8b-attention --trials 128
  colt tune --workload gpt2-block --proposer random   a PyTorch block, 32 samples per task
  colt tune --strategy evolutionary --trials 32     MetaSchedule's stock search, as a baseline
  colt tune --strategy colt --proposer random       COLT's tree without any LLM (ablation)
  colt tune --workload my_kernels.py:make_gemm      your own function returning a TVM PrimFunc
  colt tune --llms openai                           the paper's GPT-5.2 + gpt-5-mini set
  colt tune --resume runs/matmul-colt-20261122-101500
  colt show runs/matmul-colt-20261122-101500
  colt report runs/matmul-colt-20261122-101500      an HTML + Markdown page with plots
  colt export runs/matmul-colt-20261122-101500 matmul.so   the tuned kernel, deployable
  colt bench --quick                                the paper's comparison, small, on this machine
  colt bench --suite tvm                            TVM's 13 MetaSchedule test workloads, COLT +
                                                    random vs. evolutionary, as a breadth table
  colt devices 127.0.0.1:9190                       what an RPC tracker has, by key
  colt tune --rpc 127.0.0.1:9190:cpu --strategy colt --proposer random
                                                    time and verify on the tracker's devices
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        with interrupt.stopping_on_signals():
            return int(args.handler(args) or 0)
    except Exception as error:
        if interrupt.requested():
            return _interrupted()  # the interrupt came out of TVM as an ordinary error
        if is_disk_full(error):  # a writer that does not say DiskFull itself
            error = as_disk_full(error)
        if isinstance(error, (UserError, ValidationError)):
            message = explain(error) if isinstance(error, ValidationError) else error
            print(f"colt: error: {message}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        interrupt.clear()


def _interrupted() -> int:
    _stop_child_processes()
    print("colt: interrupted; resume with `colt tune --resume RUN_DIR`", file=sys.stderr)
    return 130


def _stop_child_processes() -> None:
    """MetaSchedule's build and run workers finish the job in hand before they notice their
    parent is gone, which for a slow kernel means minutes of a busy CPU nobody asked for."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colt",
        description="Tune tensor programs with one Monte Carlo tree search shared by several LLMs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_tune(commands)
    _add(commands, "show", "print a finished (or running) run", _show).add_argument(
        "run_dir", type=Path, help="a run directory written by `colt tune`"
    )
    _add(commands, "workloads", "list the built-in workloads", _workloads)
    _add_models(commands)
    add_records_command(commands, _print_table)
    report = _add(
        commands, "report", "write report.html and report.md for a run or a grid", _report
    )
    report.add_argument("path", type=Path, help="a run directory or a `colt bench` grid directory")
    report.add_argument("--out", type=Path, help="where to write the report (default: PATH)")
    export = _add(
        commands,
        "export",
        "write a run's tuned kernel as a shared library that tvm.runtime.load_module loads",
        _export,
    )
    export.add_argument("run_dir", type=Path, help="a finished run directory")
    export.add_argument("out", type=Path, help="the library to write, e.g. kernel.so")
    _add_bench(commands)
    devices = _add(
        commands,
        "devices",
        "list what an RPC tracker has for `--rpc`: devices by key, free and busy",
        _devices,
    )
    devices.add_argument("tracker", metavar="HOST:PORT", help="the tracker, e.g. 127.0.0.1:9190")
    return parser


def _add(
    commands: argparse._SubParsersAction, name: str, help_text: str, handler: Callable
) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler)
    return sub


def _add_tune(commands: argparse._SubParsersAction) -> None:
    tune = _add(commands, "tune", "search a fast schedule for one workload", _tune)
    add_field_options(tune, TuneConfig, ["workload", "strategy", "proposer"])
    add_llm_options(
        tune,
        set_dest="llms",
        subset_dest="only_llms",
        old_set="--models",
        old_subset="--only-models",
        default_set="embedded",
    )
    add_field_options(
        tune,
        TuneConfig,
        [
            *("trials", "time_budget_s", "seed", "target", "num_threads", "rpc", "screen"),
            *("overlap", "out_dir"),
        ],
    )
    remote = tune.add_argument_group("remote devices (--rpc)")
    add_field_options(remote, TuneConfig, ["device_deadline_s", "local_fallback"])
    networks = tune.add_argument_group("networks")
    add_field_options(networks, TuneConfig, ["task_samples", "task_cap"])
    records = tune.add_argument_group("record library")
    add_field_options(
        records,
        TuneConfig,
        ["records_dir", "use_records", "records_seed", "records_pretrain", "records_similar"],
    )
    tune.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="finish an interrupted run; other options are read from it",
    )
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    search = tune.add_argument_group("COLT search (defaults from the paper)")
    add_field_options(search, SearchConfig)


def _tune(args: argparse.Namespace) -> int:
    from colt import api

    if args.resume:
        run_dir = api.resume(args.resume, progress=not args.quiet)
    else:
        run_dir = api.tune(_tune_config(args), progress=not args.quiet)
    print(api.summary_line(api.show(run_dir)))
    print(f"run directory: {run_dir}")
    return 0


def _tune_config(args: argparse.Namespace) -> TuneConfig:
    return TuneConfig(
        model_set=args.llms,
        models=llm_names(args.only_llms),
        search=SearchConfig(**values_from_args(args, SearchConfig)),
        **values_from_args(args, TuneConfig),
    )


def _export(args: argparse.Namespace) -> int:
    from colt import api

    library = api.export(args.run_dir, args.out)
    print(f"library: {library}")
    print(f"example (PyTorch tensors through DLPack): {library}.example.py")
    return 0


def _show(args: argparse.Namespace) -> int:
    from colt import api
    from colt.report.facts import run_facts

    results = api.show(args.run_dir)
    print(api.summary_line(results))
    _print_table(("fact", "value"), run_facts(results), header=False, indent=2)
    return 0


def _devices(args: argparse.Namespace) -> int:
    from colt import api

    address, rows = api.devices(args.tracker)
    if not rows:
        print(f"the tracker at {address} has no devices")
        return 0
    columns = ("key", "total", "free", "busy", "waiting", "devices")
    _print_table(columns, rows, right=("total", "free", "busy", "waiting"))
    print(f"measure on one with: colt tune --rpc {address}:KEY")
    return 0


def _print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    header: bool = True,
    indent: int = 0,
    right: Sequence[str] = (),
) -> None:
    """Aligned columns, never wrapped (a pipe or a log gets whole lines)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_header=header, header_style=None)
    for column in columns:
        table.add_column(column, no_wrap=True, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console = Console(width=10_000, no_color=True, highlight=False)
    with console.capture() as captured:
        console.print(table)
    for line in captured.get().splitlines():
        print(" " * indent + line.rstrip())


def _workloads(args: argparse.Namespace) -> int:
    from colt import api

    rows = []
    for workload in api.workloads():
        amount = (
            f"{workload.flops / 1e9:.3f} GFLOP"
            if workload.flops >= 1e8
            else f"{workload.flops / 1e6:.3f} MFLOP"
        )
        kind = "network" if workload.family == "network" else "kernel"
        rows.append((workload.name, kind, amount, workload.description))
    _print_table(("workload", "kind", "work", "description"), rows, header=False, right=("work",))
    return 0


def _add_models(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="model sets: list, check, serve")
    verbs = models.add_subparsers(title="verbs", metavar="VERB")
    _add(verbs, "list", "list the model sets", _models_list)
    check = _add(
        verbs, "check", "reach every model of a set with one tiny structured call", _models_check
    )
    check.add_argument("set", help="a model set name or TOML file")
    serve = _add(
        verbs,
        "serve",
        "keep a local set's servers up for repeated runs (Ctrl-C stops)",
        _models_serve,
    )
    serve.add_argument("set", nargs="?", default="embedded")


def _models_list(args: argparse.Namespace) -> int:
    from colt.llm.commands import list_sets

    for line in list_sets():
        print(line)
    return 0


def _models_check(args: argparse.Namespace) -> int:
    from colt.llm.commands import check_set

    return check_set(args.set)


def _models_serve(args: argparse.Namespace) -> int:
    from colt.llm.commands import serve_set

    return serve_set(args.set)


def _report(args: argparse.Namespace) -> int:
    from colt import api

    print(f"report: {api.report(args.path, args.out)}")
    return 0


def _add_bench(commands: argparse._SubParsersAction) -> None:
    from colt.grid import add_arguments

    add_arguments(
        _add(commands, "bench", "run the paper's comparison grid and write its report", _bench)
    )


def _bench(args: argparse.Namespace) -> int:
    from colt.grid import config_from_args, run_grid

    print(f"grid: {run_grid(config_from_args(args))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
