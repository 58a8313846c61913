"""Command-line pieces: the LLM-set options of `colt tune` and `colt bench`, the search
settings (generated from ``SearchConfig``'s fields) and ``--rpc``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from colt.search.config import SearchConfig, setting_options


class DeprecatedSpelling(argparse.Action):
    """An old option spelling kept for one release: it still works and says what replaces it."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, *, replacement: str, **kwargs: Any
    ) -> None:
        self.replacement = replacement
        kwargs.setdefault("help", f"deprecated spelling of {replacement}")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(
            f"colt: warning: {option_string} is deprecated; use {self.replacement}", file=sys.stderr
        )
        setattr(namespace, self.dest, values)


def add_llm_options(
    parser: argparse.ArgumentParser,
    *,
    set_dest: str,
    subset_dest: str,
    old_set: str,
    old_subset: str,
    default_set: str | None,
) -> None:
    """``--llms SET`` and ``--only-llms NAME ...`` (commas also separate names), with the
    command's old spellings as deprecated aliases."""
    shown = f" (default: {default_set})" if default_set else ""
    parser.add_argument(
        "--llms",
        dest=set_dest,
        default=default_set,
        metavar="SET",
        help=f"the LLM set: a name from `colt models list` or a TOML file{shown}",
    )
    parser.add_argument(
        "--only-llms",
        dest=subset_dest,
        nargs="+",
        metavar="NAME",
        help="use only these LLMs of the set",
    )
    parser.add_argument(
        old_set,
        dest=set_dest,
        action=DeprecatedSpelling,
        replacement="--llms",
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        old_subset,
        dest=subset_dest,
        nargs="+",
        action=DeprecatedSpelling,
        replacement="--only-llms",
        help=argparse.SUPPRESS,
    )


def add_search_options(group: argparse._ArgumentGroup) -> None:
    """One option per search setting that names a flag (colt.search.config.setting)."""
    defaults = SearchConfig()
    for name in SearchConfig.model_fields:
        options = setting_options(name)
        flag = options.get("flag")
        if flag is None:
            continue
        text = options["help"]
        if options["negate"]:  # unset (None) keeps the setting's default, True
            group.add_argument(flag, dest=name, action="store_const", const=False, help=text)
            continue
        default = getattr(defaults, name)
        metavar = flag.removeprefix("--").upper().replace("-", "_")
        kind = float if isinstance(default, float) else int
        group.add_argument(flag, dest=name, type=kind, default=default, metavar=metavar, help=text)


def search_config_from_args(args: argparse.Namespace) -> SearchConfig:
    """The search settings of a parsed ``colt tune`` command line (unset switches: defaults)."""
    return SearchConfig(
        **{
            name: getattr(args, name)
            for name in SearchConfig.model_fields
            if setting_options(name).get("flag") and getattr(args, name) is not None
        }
    )


def add_rpc_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rpc",
        metavar="HOST:PORT:KEY",
        help="time and verify on the devices an RPC tracker hands out under KEY, built here "
        "for --target; devices under one key must be the same kind of machine "
        "(default: this machine)",
    )


def llm_names(values: Sequence[str] | None) -> tuple[str, ...]:
    """``--only-llms a b`` or ``--only-llms a,b``: the names, in order."""
    return tuple(
        name.strip() for value in values or () for name in value.split(",") if name.strip()
    )
