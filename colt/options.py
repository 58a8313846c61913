"""Command-line options made from the typed configuration: each field of ``TuneConfig``,
``SearchConfig`` or ``BenchConfig`` that names a flag becomes an option with the field's type,
choices, default and help; plus the LLM-set options with their deprecated spellings.

A field names its flag in its ``json_schema_extra`` (``colt.config.option`` and ``switch``,
``colt.search.config.setting`` write it there); ``flag_of`` is the one place that reads it, for
the parsers and for the error sentences (``colt.config.explain``).
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel


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


@dataclass(frozen=True)
class Flag:
    """What a configuration field says about its command-line option."""

    flag: str  # e.g. "--lam"
    help: str = ""
    metavar: str | None = None
    negate: bool = False  # a --no-X switch: given, it sets False
    enable: bool = False  # a flag that, given, sets True
    low: float | None = None  # the bounds an error sentence names ("between low and high")
    high: float | None = None
    positive: str | None = None  # how an error words "must be positive" (``gt=0``)
    parse: Callable[[str], Any] | None = None  # reads the option's text (default: the type)


def flag_of(model: type[BaseModel], name: str) -> Flag | None:
    """The option of ``model``'s field ``name``; None when it names no flag."""
    extra = model.model_fields[name].json_schema_extra
    if not isinstance(extra, dict) or not extra.get("flag"):
        return None
    given: dict[str, Any] = {key: value for key, value in extra.items() if value is not None}
    return Flag(**given)


def add_field_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    model: type[BaseModel],
    names: Sequence[str] | None = None,
) -> None:
    """One option per field of ``model`` (or of ``names``) that names a flag. Its type,
    choices and shown default come from the field; an option left unset parses as None, so the
    model's own default applies (``values_from_args``)."""
    for name in names or list(model.model_fields):
        option = flag_of(model, name)
        if option is None:
            continue
        field = model.model_fields[name]
        flag, text = option.flag, option.help
        if option.negate or option.enable:  # --no-X, or a flag that turns X on
            const = not option.negate
            parser.add_argument(flag, dest=name, action="store_const", const=const, help=text)
            continue
        default = field.get_default(call_default_factory=True)
        if not (default is None or default == ()) and "(default" not in text:
            text += f" (default: {_shown(default)})"
        kind, many = _argument_type(field.annotation)
        extra: dict[str, Any] = {"nargs": "+"} if many else {}
        if isinstance(kind, tuple):  # a Literal: its values are the choices
            extra["choices"] = kind
            extra["metavar"] = option.metavar or ("{" + ",".join(kind) + "}")
        else:
            extra["type"] = _reader(option.parse) if option.parse else kind
            extra["metavar"] = option.metavar or flag.removeprefix("--").upper().replace("-", "_")
        parser.add_argument(flag, dest=name, default=None, help=text, **extra)


def _reader(parse: Any) -> Any:
    """``parse`` for argparse: its ValueError's sentence becomes the usage error."""

    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return read


def values_from_args(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The fields of ``model`` the command line set (lists as tuples), to build it with."""
    values = {}
    for name in model.model_fields:
        if flag_of(model, name) is not None and getattr(args, name, None) is not None:
            value = getattr(args, name)
            values[name] = tuple(value) if isinstance(value, list) else value
    return values


def _argument_type(annotation: Any) -> tuple[Any, bool]:
    """(argparse type or Literal choices, whether the option takes several values)."""
    many = False
    if get_origin(annotation) in (Union, types.UnionType):  # X | None
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is tuple:
        annotation, many = get_args(annotation)[0], True
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation)), many
    return annotation, many


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def llm_names(values: Sequence[str] | None) -> tuple[str, ...]:
    """``--only-llms a b`` or ``--only-llms a,b``: the names, in order."""
    return tuple(
        name.strip() for value in values or () for name in value.split(",") if name.strip()
    )
