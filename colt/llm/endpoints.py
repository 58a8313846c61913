"""Endpoints for a run and the helpers behind ``colt models ...``.

``running_endpoints`` yields the model set with every base_url pointing at a live endpoint:
embedded models reuse servers that ``colt models serve`` keeps up (and leave them running) or
get servers of their own for the duration of the block. Scripted models have no endpoint:
nothing is started, probed or called for them.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colt.errors import UserError
from colt.llm.answers import answer_schema
from colt.llm.client import ChatClient
from colt.llm.servers import (
    EmbeddedServers,
    ServerRecord,
    clear_state,
    pid_alive,
    reusable,
    served_records,
    write_state,
)
from colt.llm.sets import ModelSet, ModelSpec, load_model_set, model_set_names
from colt.llm.weights import cache_dir

CHECK_TRANSFORMATIONS = ("Parallel", "Unroll")  # a two-name vocabulary for check calls


@dataclass(frozen=True)
class Endpoints:
    """A model set with live base_urls, and the embedded servers behind it."""

    model_set: ModelSet
    started: tuple[ServerRecord, ...] = ()  # ours: stopped when the block exits
    reused: tuple[ServerRecord, ...] = ()  # `colt models serve`'s: left running


@contextlib.contextmanager
def start_embedded(
    model_set: ModelSet, log_dir: Path, *, reuse: bool = True, startup_timeout_s: float = 180.0
) -> Iterator[Endpoints]:
    """Starts (or reuses) servers for the set's embedded models; stops the ones it started."""
    wanted = [m for m in model_set.models if m.needs_embedded]
    if not wanted:
        yield Endpoints(model_set)
        return
    served = served_records() if reuse else ()
    reused = {spec.name: record for spec in wanted if (record := reusable(spec, served))}
    to_start = [spec for spec in wanted if spec.name not in reused]
    with EmbeddedServers(to_start, log_dir, startup_timeout_s=startup_timeout_s) as servers:
        urls = {name: record.base_url for name, record in reused.items()} | servers.urls
        yield Endpoints(model_set.with_base_urls(urls), servers.records, tuple(reused.values()))


@contextlib.contextmanager
def running_endpoints(model_set: ModelSet, log_dir: Path) -> Iterator[ModelSet]:
    """The set with live base_urls for the duration of the block (logs under ``log_dir``)."""
    with start_embedded(model_set, log_dir) as endpoints:
        yield endpoints.model_set


def describe_endpoint(model: ModelSpec) -> str:
    """Where a model's answers come from, for listings."""
    if model.scripted is not None:
        return f"scripted: {model.scripted}, recommends {model.recommends}"
    return model.base_url or f"embedded ({model.embedded})"


def list_sets() -> list[dict[str, Any]]:
    """One row per model of every bundled set (keys reported as set or not, never shown)."""
    rows = []
    for set_name in model_set_names():
        model_set = load_model_set(set_name, require_keys=False)
        missing = set(model_set.missing_keys())
        for model in model_set.models:
            rows.append(
                {
                    "set": set_name,
                    "model": model.name,
                    "parameters": model.parameters,
                    "endpoint": describe_endpoint(model),
                    "structured_output": "-" if model.scripted else model.structured_output,
                    "api_key_env": model.api_key_env or "",
                    "key_set": bool(model.api_key_env) and model.api_key_env not in missing,
                    "largest": model.name == model_set.largest.name,
                }
            )
    return rows


def check_set(name: str, *, log_dir: Path | None = None) -> list[dict[str, Any]]:
    """One tiny structured call per served model: rows of (model, ok, latency_s, error); a
    scripted model is not called, its row is ok and names its policy under ``scripted``."""
    model_set = load_model_set(name)
    schema = answer_schema(CHECK_TRANSFORMATIONS, model_set.names, max_edits=2)
    system = "You answer with one JSON object only."
    user = (
        'Reply {"transformations": ["Parallel"], "next_model": "'
        + model_set.names[0]
        + '"} with any of '
        + ", ".join(CHECK_TRANSFORMATIONS)
        + " and any of "
        + ", ".join(model_set.names)
        + "."
    )
    rows = []
    with contextlib.ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="colt-check-")))
        live = stack.enter_context(running_endpoints(model_set, log_dir))
        for spec in live.models:
            if spec.scripted is not None:
                rows.append(_scripted_row(spec))
                continue
            client = ChatClient(spec, live.api_key(spec.name))
            reply = client.complete(system, user, schema=schema, max_tokens=48)
            client.close()
            error = reply.error_detail if reply.error_kind else ""
            if not error and '"transformations"' not in reply.text:
                error = f"answer without a transformations field: {reply.text[:80]!r}"
            rows.append(
                {
                    "model": spec.name,
                    "ok": not error,
                    "latency_s": round(reply.latency_s, 3),
                    "error": f"{reply.error_kind or 'unparsable'}: {error}" if error else "",
                }
            )
    return rows


def _scripted_row(spec: ModelSpec) -> dict[str, Any]:
    return {
        "model": spec.name,
        "ok": True,
        "latency_s": 0.0,
        "error": "",
        "scripted": spec.scripted,
    }


def serve_set(
    name: str,
    *,
    log_dir: Path | None = None,
    on_ready: Callable[[tuple[ServerRecord, ...]], None] | None = None,
    poll_s: float = 1.0,
) -> None:
    """Runs the set's embedded servers until Ctrl-C; runs started meanwhile reuse them.

    A server that dies while serving ends the command with a ``UserError`` naming its log.
    """
    model_set = load_model_set(name)
    if not model_set.needs_embedded:
        raise UserError(f"model set {name!r} has no embedded models to serve")
    log_dir = log_dir or cache_dir() / "servers"
    with start_embedded(model_set, log_dir, reuse=False) as endpoints:
        write_state(endpoints.started)
        try:
            if on_ready is not None:
                on_ready(endpoints.started)
            while True:
                time.sleep(poll_s)
                dead = [r for r in endpoints.started if not pid_alive(r.pid)]
                if dead:
                    raise UserError(
                        f"the embedded server for {dead[0].name} stopped; see {dead[0].log_path}"
                    )
        except KeyboardInterrupt:
            pass
        finally:
            clear_state()
