"""Every bad input gets one clear sentence and exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from colt import interrupt
from colt.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse rejects unknown choices itself
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def test_unknown_workload_lists_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "tune", "--workload", "nope", "--quiet")
    assert code == 2
    assert "unknown workload 'nope'" in err and "matmul" in err and "flux-conv" in err


def test_unknown_strategy_lists_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "tune", "--strategy", "annealing")
    assert code == 2
    assert "colt" in err and "evolutionary" in err and "random" in err


def test_unknown_proposer(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "tune", "--proposer", "oracle")
    assert code == 2 and "llm" in err


@pytest.mark.parametrize("trials", ["0", "-3"])
def test_non_positive_trials(capsys: pytest.CaptureFixture[str], trials: str) -> None:
    code, err = _run(capsys, "tune", "--trials", trials, "--quiet")
    assert code == 2 and "--trials must be a positive" in err


def test_negative_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "tune", "--seed", "-1", "--quiet")
    assert code == 2 and "--seed must not be negative" in err


@pytest.mark.parametrize("flag", ["--trials-per-round", "--expansions-per-round"])
def test_non_positive_round_sizes(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    code, err = _run(capsys, "tune", "--proposer", "random", flag, "0", "--quiet")
    assert code == 2 and f"{flag} must be at least 1" in err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--fresh-share", "1.5", "must be between 0 and 1"),
        ("--fresh-pool", "-1", "must not be negative"),
        ("--roots", "0", "must be at least 1"),
        ("--lam", "2", "must be between 0 and 1"),
        ("--branching", "0", "must be at least 1"),
        ("--floor", "-0.1", "must be between 0 and 1"),
    ],
)
def test_bad_search_settings(
    capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    code, err = _run(capsys, "tune", "--proposer", "random", flag, value, "--quiet")
    assert code == 2 and f"{flag} {message}" in err


@pytest.mark.parametrize(
    ("target", "message"),
    [("cuda", "must be a JSON object"), ('{"kind": "cuda"}', "unsupported target")],
)
def test_bad_target(capsys: pytest.CaptureFixture[str], target: str, message: str) -> None:
    code, err = _run(capsys, "tune", "--target", target, "--quiet")
    assert code == 2 and message in err


def test_missing_function_in_user_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = tmp_path / "kernels.py"
    source.write_text("def other():\n    return 1\n")
    code, err = _run(capsys, "tune", "--workload", f"{source}:gemm", "--quiet")
    assert code == 2 and "gemm" in err


def test_user_function_returning_wrong_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "kernels.py"
    source.write_text("def gemm():\n    return 42\n")
    code, err = _run(capsys, "tune", "--workload", f"{source}:gemm", "--quiet")
    assert code == 2 and "PrimFunc" in err


def test_unwritable_run_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, err = _run(
        capsys, "tune", "--workload", "matmul-small", "--out", str(blocker / "run"), "--quiet"
    )
    assert code == 2 and "cannot write the run directory" in err


def test_show_on_a_non_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run(capsys, "show", str(tmp_path))
    assert code == 2 and "not a COLT run directory" in err


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    out = capsys.readouterr().out
    assert "--workload" in out and "FILE.py:FUNCTION" in out and "MA-UCT" in out
    flat = " ".join(out.split())
    assert "(default: None)" not in flat and "(default: False)" not in flat
    assert "seed of every random choice of the search (default: 0)" in flat
    assert flat.count("(default: this CPU)") == 1


def test_unknown_model_set_lists_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "tune", "--llms", "gpt-17", "--quiet")
    assert code == 2 and "embedded" in err and "openai" in err


def test_missing_api_key_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, err = _run(capsys, "tune", "--llms", "openai", "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2 and "OPENAI_API_KEY" in err and "not set" in err
    assert not (tmp_path / "r").exists()  # nothing was started or written


def test_unknown_model_in_subset(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "tune", "--only-llms", "gpt-2", "--quiet")
    assert code == 2 and "gpt-2" in err


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [("--models", "--llms", "gpt-17"), ("--only-models", "--only-llms", "gpt-2")],
)
def test_old_llm_spellings_still_work_and_say_so(
    capsys: pytest.CaptureFixture[str], old: str, new: str, value: str
) -> None:
    code, err = _run(capsys, "tune", old, value, "--quiet")
    assert code == 2 and value in err  # the value reached the same check
    assert f"{old} is deprecated; use {new}" in err


def test_bench_takes_the_same_llm_spelling() -> None:
    from colt import cli, grid

    parser = cli.build_parser()
    args = parser.parse_args(["bench", "--llms", "controlled", "--only-llms", "a,b", "c"])
    config = grid.config_from_args(args)
    assert (config.model_set, config.models) == ("controlled", ("a", "b", "c"))


def test_an_interrupt_that_tvm_turned_into_an_error_still_stops_cleanly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C raised while TVM calls back into Python surfaces as a TVM error."""

    def interrupted_inside_tvm(*args: object, **kwargs: object) -> None:
        interrupt.request()
        raise RuntimeError("KeyboardInterrupt raised in a packed function callback")

    monkeypatch.setattr("colt.api.tune", interrupted_inside_tvm)
    assert main(["tune", "--workload", "matmul-small", "--proposer", "random"]) == 130
    assert "resume with" in capsys.readouterr().err
    assert not interrupt.requested()  # cleared for whatever this process runs next


def test_an_error_without_an_interrupt_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a real bug")

    monkeypatch.setattr("colt.api.tune", broken)
    with pytest.raises(RuntimeError, match="a real bug"):
        main(["tune", "--workload", "matmul-small", "--proposer", "random"])


def test_every_search_setting_with_a_flag_reaches_the_run_configuration() -> None:
    """The options are generated from SearchConfig's fields: each flag sets its own field."""
    from colt.cli import _tune_config, build_parser
    from colt.config import SearchConfig
    from colt.options import flag_of

    defaults = SearchConfig()
    flagged = {name: flag_of(SearchConfig, name) for name in SearchConfig.model_fields}
    assert {"lam", "branching_factor", "fresh_share", "roots"} <= {
        name for name, option in flagged.items() if option is not None
    }
    for name, option in flagged.items():
        if option is None:
            continue
        flag = option.flag
        default = getattr(defaults, name)
        if option.negate or option.enable:
            argv, expected = ["tune", flag], option.enable
        elif isinstance(default, str):  # a choice: another one
            choices = get_args(SearchConfig.model_fields[name].annotation)
            expected = next(choice for choice in choices if choice != default)
            argv = ["tune", flag, expected]
        else:
            expected = 3 if default is None else default + 1 if isinstance(default, int) else 0.75
            argv = ["tune", flag, str(expected)]
        config = _tune_config(build_parser().parse_args(argv))
        changed = {
            other
            for other in SearchConfig.model_fields
            if getattr(config.search, other) != getattr(defaults, other)
        }
        assert changed == {name} and getattr(config.search, name) == expected, flag


def test_signals_request_a_stop_only_inside_the_block() -> None:
    import os
    import signal
    import time

    from colt import interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with interrupt.stopping_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this at once
    assert interrupt.requested() and signal.getsignal(signal.SIGTERM) is before
    interrupt.clear()


@pytest.mark.parametrize("duration", ["10x", "soon", "=-5m"])
def test_a_bad_time_budget_says_how_to_write_one(
    capsys: pytest.CaptureFixture[str], duration: str
) -> None:
    argv = ("--time" + duration,) if duration.startswith("=") else ("--time", duration)
    code, err = _run(capsys, "tune", *argv)
    assert code == 2 and "10m" in err


def test_the_remote_device_options_reach_the_run_configuration() -> None:
    from colt.cli import _tune_config, build_parser

    default = _tune_config(build_parser().parse_args(["tune"]))
    assert default.device_deadline_s is None and default.local_fallback is False
    argv = ["tune", "--rpc", "127.0.0.1:9190:cpu", "--device-deadline", "2m", "--local-fallback"]
    config = _tune_config(build_parser().parse_args(argv))
    assert config.device_deadline_s == 120.0 and config.local_fallback is True
